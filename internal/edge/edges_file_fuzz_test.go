package edge

import (
	"strings"
	"testing"
	"unicode"
)

// fuzzEdgeFormats are the formats ParseEdges accepts; the fuzzer picks one
// by index so that it does not waste its time on unknown format names.
var fuzzEdgeFormats = []string{"", "json", "yaml"}

// FuzzEdgesFile parses arbitrary bytes as an edges file. It must never
// panic, and what it accepts must be usable as is: valid codes, addresses
// and parents, and a catalog that selects every edge by its code.
func FuzzEdgesFile(f *testing.F) {
	seeds := []struct {
		data   string
		format uint8
	}{
		{sampleYAML, 2},
		{sampleJSON, 1},
		{"\ufeff" + sampleJSON, 0},
		{"edges:\n  - code: shield\n    addresses: [shield.cache.internal]\n" +
			"  - code: edge-a\n    parent: SHIELD\n    region: eu\n    addresses: [10.0.0.1, '::1']\n", 0},
		{`{"edges":[{"code":"a","addresses":["10.0.0.1"],"parent":"b"},{"code":"b","addresses":["10.0.0.2"],"parent":"a"}]}`, 1},
		{"edges:\n  - &e {code: x, addresses: [10.0.0.1]}\n  - *e\n", 2},
		{"edges: [{code: NO, country: NO, purge_method: ban, addresses: [no.example]}]\n---\n", 2},
		{"edges: [", 0},
	}
	for _, s := range seeds {
		f.Add([]byte(s.data), s.format)
	}
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		sites, err := ParseEdges(data, fuzzEdgeFormats[int(format)%len(fuzzEdgeFormats)])
		if err != nil {
			return // callers drop the sites on error (a parent loop returns them with it)
		}
		if len(sites) == 0 {
			t.Fatal("accepted a file with no edge")
		}
		byCode := map[string]int{}
		for i, s := range sites {
			if s.Code == "" || s.Code != strings.TrimSpace(s.Code) || len(s.Code) > maxEdgeCodeLen ||
				strings.ContainsFunc(s.Code, func(r rune) bool { return r == ',' || unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
				t.Fatalf("edges[%d]: accepted code %q", i, s.Code)
			}
			key := strings.ToUpper(s.Code)
			if j, dup := byCode[key]; dup {
				t.Fatalf("edges[%d] and edges[%d] share code %q", j, i, s.Code)
			}
			byCode[key] = i
			if len(s.Addresses) == 0 {
				t.Fatalf("edges[%d]: no address", i)
			}
			for _, a := range s.Addresses {
				if err := checkAddress(a); err != nil {
					t.Fatalf("edges[%d]: accepted address %q: %v", i, a, err)
				}
			}
			if !isToken(s.PurgeMethod) {
				t.Fatalf("edges[%d]: purge method %q", i, s.PurgeMethod)
			}
			if s.Country != "" && (len(s.Country) != 2 || !isLetters(s.Country) || s.Country != strings.ToUpper(s.Country)) {
				t.Fatalf("edges[%d]: country %q", i, s.Country)
			}
			if !s.FromFile {
				t.Fatalf("edges[%d]: not marked as from the file", i)
			}
		}
		// Parents name another edge, exactly as spelt there, and never loop.
		for i, s := range sites {
			steps := 0
			for p := s.Parent; p != ""; steps++ {
				j, ok := byCode[strings.ToUpper(p)]
				if !ok || sites[j].Code != p {
					t.Fatalf("edges[%d]: parent %q is not a code of the file", i, p)
				}
				if steps > len(sites) {
					t.Fatalf("edges[%d]: parents loop", i)
				}
				p = sites[j].Parent
			}
		}
		// LoadCatalog hands the result to WithEdges: it must take it, and
		// each edge must then be selectable by its own code.
		cat, err := Builtin().WithEdges(sites)
		if err != nil {
			t.Fatalf("WithEdges refused parsed edges: %v", err)
		}
		for _, s := range sites {
			got, err := cat.Select("pop", []string{s.Code})
			if err != nil || len(got) != 1 || got[0].Code != s.Code || !got[0].Edge {
				t.Fatalf("selecting edge %q: %+v, %v", s.Code, got, err)
			}
		}
	})
}
