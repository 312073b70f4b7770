package edge

import (
	"strings"

	"prewarm/internal/warm"
)

// Place says where a POP is, as far as the catalog can tell: its airport
// code and ISO country. code is a job's POP (a catalog or edges-file code,
// a CloudFront id, an edge discovered for a country: "JP-1") or what an
// edge says served it: x-amz-cf-pop ("NRT12-C1"), the airport at the end
// of a cf-ray or an X-Served-By node ("cache-lhr7325-LHR"). Either is ""
// when unknown.
func (c *Catalog) Place(code string) (iata, country string) {
	code = strings.TrimSpace(code)
	if site, ok := c.Lookup(code); ok {
		return site.IATA, site.Country
	}
	if cc := warm.DiscoveredCountry(code); cc != "" {
		return "", cc
	}
	switch {
	case ValidCloudFrontCode(code):
		iata = code[:3]
	case len(code) == 3:
		iata = code
	default:
		if i := strings.LastIndexByte(code, '-'); i >= 0 && len(code)-i-1 == 3 {
			iata = code[i+1:]
		}
	}
	iata = strings.ToUpper(iata)
	if a, ok := c.airports[iata]; ok && isLetters(iata) {
		return iata, a.country
	}
	return "", ""
}
