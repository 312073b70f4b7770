package edge

import (
	"fmt"
	"slices"
	"strings"
)

// Countries turns a job's target type ("country" or "region") and keys
// into ISO country codes, in key order without repeats, for a job that
// discovers its edges by country. A country key is any the catalog reads
// (JP, Japan, japan, all) or any ISO code of the network data set; a
// region key stands for the countries of the POPs it selects. A country
// the network data set has no network for cannot be asked about: it is a
// *KeyError, as an unknown key is.
func (c *Catalog) Countries(targetType string, keys []string) ([]string, error) {
	kind, field, err := parseTargetType(targetType)
	if err != nil {
		return nil, err
	}
	if kind == targetPop {
		return nil, &KeyError{Field: "target_type", Key: targetType, Reason: "edges are discovered by country: use target_type country or region"}
	}
	var out []string
	add := func(cc, key string) error {
		if len(CountryNetworks(cc)) == 0 {
			return &KeyError{Field: field, Key: key, Reason: fmt.Sprintf("no network is known in %s (%q) to discover its edges from", cc, key)}
		}
		if !slices.Contains(out, cc) {
			out = append(out, cc)
		}
		return nil
	}
	if len(keys) == 0 {
		keys = []string{"all"}
	}
	for i, raw := range keys {
		key := strings.TrimSpace(raw)
		ccs, err := c.keyCountries(kind, key, i)
		if err != nil {
			return nil, err
		}
		for _, cc := range ccs {
			if err := add(cc, raw); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// keyCountries is the countries one country or region key denotes.
func (c *Catalog) keyCountries(kind, key string, i int) ([]string, error) {
	if key == "" {
		return nil, &KeyError{Field: listFieldOf(kind), Key: key, Reason: fmt.Sprintf("empty %s key at position %d", kind, i)}
	}
	var m match
	if kind == targetCountry {
		m = c.resolveCountry(key)
		// The original's keys name a country too ("china"), whatever POPs
		// its map gave them (Singapore's).
		if m.iso != "" && (m.known || len(CountryNetworks(m.iso)) > 0) {
			return []string{m.iso}, nil
		}
		if !m.ok() {
			return nil, c.unknownCountry(key)
		}
	} else if m = c.resolveRegion(key); !m.ok() {
		return nil, c.unknownRegion(key)
	}
	var out []string
	for _, code := range m.codes {
		if cc := c.Describe(code).Country; cc != "" && !slices.Contains(out, cc) {
			out = append(out, cc)
		}
	}
	for _, e := range m.edges {
		if e.Country != "" && !slices.Contains(out, e.Country) {
			out = append(out, e.Country)
		}
	}
	return out, nil
}

func listFieldOf(kind string) string {
	if kind == targetRegion {
		return "regions"
	}
	return "countries"
}
