package edge

import (
	"fmt"
	"strings"
)

// Location reads where an agent runs, as its --location names it, in the
// spelling a job's POPs are matched against: a POP code (an edges-file
// code as written, a CloudFront code upper-cased: "NRT57-C1"), an airport
// ("NRT"), an ISO country ("JP", also from "Japan") or a region (a
// continent, "asia", or an edges file's region). Anything else is an error
// saying what would do.
func (c *Catalog) Location(raw string) (string, error) {
	key := strings.TrimSpace(raw)
	if key == "" {
		return "", nil
	}
	if s, ok := c.Lookup(key); ok {
		return s.Code, nil
	}
	if ValidCloudFrontCode(key) {
		if s := c.Describe(key); s.Country != "" {
			return s.Code, nil
		}
	}
	upper := strings.ToUpper(key)
	if len(key) == 3 && isLetters(key) {
		if _, ok := c.airports[upper]; ok {
			return upper, nil
		}
	}
	if cont := continentKey(key); cont != "" {
		return cont, nil
	}
	if len(key) == 2 && isLetters(key) {
		if _, ok := c.countryNames[upper]; ok {
			return upper, nil
		}
	} else if iso := c.countryISO[normalizeName(key)]; iso != "" {
		return iso, nil
	}
	lower := strings.ToLower(key)
	for _, e := range c.edges {
		if e.Region == lower {
			return lower, nil
		}
	}
	return "", fmt.Errorf("%q is neither a POP code, an airport, an ISO country nor a region (a continent such as asia or europe, or an edges file's region)", raw)
}

// Places lists where a job's POP is, most specific first, each spelled as
// Location spells an agent's location: the POP's own code, its airport,
// its country and its region. An edge discovered for a country ("JP-1") is
// in that country and its continent. Unknown parts are left out.
func (c *Catalog) Places(code string) []string {
	var out []string
	add := func(p string) {
		if p != "" && (len(out) == 0 || out[len(out)-1] != p) {
			out = append(out, p)
		}
	}
	site := c.Describe(code)
	iata, country := c.Place(code)
	if site.Country == "" {
		site.Country = country
	}
	if site.Region == "" {
		site.Region = c.countryContinent[site.Country]
	}
	if _, ok := c.Lookup(code); ok || ValidCloudFrontCode(code) {
		add(site.Code)
	}
	add(iata)
	add(site.Country)
	add(site.Region)
	return out
}
