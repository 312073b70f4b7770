package edge

import (
	"slices"
	"strings"
	"testing"
)

func TestLocationSpellings(t *testing.T) {
	c, err := Builtin().WithEdges([]Site{{Code: "tokyo-a", Country: "JP", Region: "apac", Addresses: []string{"192.0.2.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]string{
		"NRT57-C1": "NRT57-C1", "nrt57-c1": "NRT57-C1", "nrt": "NRT", "jp": "JP", "Japan": "JP",
		"asia": "asia", "North America": "north-america", "TOKYO-A": "tokyo-a", "APAC": "apac", "": "",
	} {
		if got, err := c.Location(raw); err != nil || got != want {
			t.Errorf("Location(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{"XX", "ZZZ9-Q1", "mars", "N!"} {
		if got, err := c.Location(raw); err == nil || !strings.Contains(err.Error(), raw) {
			t.Errorf("Location(%q) = %q, %v; want an error naming it", raw, got, err)
		}
	}
}

func TestPlacesMostSpecificFirst(t *testing.T) {
	c, err := Builtin().WithEdges([]Site{{Code: "tokyo-a", Country: "JP", Region: "apac", Addresses: []string{"192.0.2.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string][]string{
		"NRT57-C1":   {"NRT57-C1", "NRT", "JP", "asia"},
		"FRA56-P1":   {"FRA56-P1", "FRA", "DE", "europe"},
		"JP-1":       {"JP", "asia"},
		"tokyo-a":    {"tokyo-a", "JP", "apac"},
		"unheard-of": nil,
	} {
		if got := c.Places(code); !slices.Equal(got, want) {
			t.Errorf("Places(%q) = %v, want %v", code, got, want)
		}
	}
}
