package edge

import (
	_ "embed"
	"fmt"
	"net/netip"
	"strings"
	"sync"
)

// The country → network table ECS discovery puts in its queries. It is
// generated from a maintained IP → country data set (see
// internal/gennets), never typed by hand: which networks are where
// changes, and the registries know it.
//
//go:generate go run ./internal/gennets -package @ip-location-db/geo-whois-asn-country@2.3.2026061719 -out data/country-networks.csv
//go:embed data/country-networks.csv
var countryNetworksCSV string

var countryNetworks = sync.OnceValue(func() map[string][]netip.Prefix {
	m, err := parseCountryNetworks(countryNetworksCSV)
	if err != nil {
		// Compiled in and checked by a test: a build defect, not input.
		panic(fmt.Sprintf("edge: embedded country networks are corrupt: %v", err))
	}
	return m
})

// parseCountryNetworks reads "CC,prefix prefix …" rows after a header
// and "#" comments.
func parseCountryNetworks(data string) (map[string][]netip.Prefix, error) {
	out := map[string][]netip.Prefix{}
	for i, line := range strings.Split(data, "\n") {
		if line == "" || strings.HasPrefix(line, "#") || line == "country,networks" {
			continue
		}
		cc, nets, ok := strings.Cut(line, ",")
		if !ok || !isUpperLetters(cc, 2) {
			return nil, fmt.Errorf("line %d: %q is not \"CC,networks\"", i+1, line)
		}
		for _, s := range strings.Fields(nets) {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", i+1, err)
			}
			out[cc] = append(out[cc], p)
		}
		if len(out[cc]) == 0 {
			return nil, fmt.Errorf("line %d: %s has no network", i+1, cc)
		}
	}
	return out, nil
}

// CountryNetworks returns networks of the country with ISO 3166 alpha-2
// code cc (any case), largest first; nil when the data set has none.
func CountryNetworks(cc string) []netip.Prefix {
	return countryNetworks()[strings.ToUpper(cc)]
}
