package edge

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestBuiltinParses(t *testing.T) {
	// Builtin panics on corrupt data; calling loadEmbedded directly turns
	// that into a readable failure.
	c, err := loadEmbedded()
	if err != nil {
		t.Fatalf("embedded data: %v", err)
	}
	if got := len(c.Sites()); got != 595 {
		t.Errorf("Sites() has %d POPs, want 595 (data/README.md)", got)
	}
	if got := len(c.airports); got != 114 {
		t.Errorf("%d airports, want 114", got)
	}
	if c.HasEdges() {
		t.Error("builtin catalog reports edges")
	}
	if got, want := c.regions.keys, []string{"apac", "au", "ca", "eu", "jp", "sa", "us", "cn"}; !slices.Equal(got, want) {
		t.Errorf("region keys %v, want %v (file order)", got, want)
	}
	if got, want := c.countries.keys, []string{"india", "japan", "new_zealand", "australia", "malaysia", "china", "indonesia", "philippines", "singapore", "thailand", "vietnam", "south_korea"}; !slices.Equal(got, want) {
		t.Errorf("country keys %v, want %v (file order)", got, want)
	}
	for _, ol := range []orderedLists{c.regions, c.countries} {
		for _, key := range ol.keys {
			for _, code := range ol.lists[key] {
				if _, ok := Builtin().Lookup(code); !ok {
					t.Errorf("%s (map key %s) is not in the catalog", code, key)
				}
			}
		}
	}
	if got := len(c.regions.all); got != 34 {
		t.Errorf("region all has %d codes, want 34", got)
	}
	if got := len(c.countries.all); got != 10 {
		t.Errorf("country all has %d codes, want 10", got)
	}
	if Builtin() != Builtin() {
		t.Error("Builtin() is rebuilt on every call")
	}
}

func TestParseCatalogRejectsCorruptData(t *testing.T) {
	const (
		airports = "iata,city,country_iso2,country_name,continent\nSIN,Singapore,SG,Singapore,asia\n"
		pops     = "pop,iata,source\nSIN2-P1,SIN,x\n"
		maps     = `{"regions":{"a":["SIN2-P1"]},"countries":{"b":["SIN2-P1"]}}`
	)
	if _, err := parseCatalog([]byte(airports), []byte(pops), []byte(maps)); err != nil {
		t.Fatalf("minimal valid data rejected: %v", err)
	}
	tests := []struct {
		name                 string
		airports, pops, maps string
		want                 string
	}{
		{"bad header", strings.Replace(airports, "iata,", "code,", 1), pops, maps, "header"},
		{"wrong field count", airports + "NRT,Tokyo\n", pops, maps, "wrong number of fields"},
		{"bad continent", strings.Replace(airports, "asia", "atlantis", 1), pops, maps, "continent"},
		{"duplicate airport", airports + "SIN,Singapore,SG,Singapore,asia\n", pops, maps, "duplicate"},
		{"country in two continents", airports + "XSP,Seletar,SG,Singapore,oceania\n", pops, maps, "both"},
		{"bad pop id", airports, "pop,iata,source\nSIN2P1,SIN,x\n", maps, "not a canonical"},
		{"lower-case pop id", airports, "pop,iata,source\nsin2-p1,SIN,x\n", maps, "not a canonical"},
		{"pop under wrong iata", airports, "pop,iata,source\nSIN2-P1,NRT,x\n", maps, "listed under"},
		{"pop of unknown airport", airports, "pop,iata,source\nNRT2-P1,NRT,x\n", maps, "unknown airport"},
		{"map code not a pop", airports, pops, `{"regions":{"a":["SIN9-P9"]},"countries":{"b":["SIN2-P1"]}}`, "not in the POP list"},
		{"stored all", airports, pops, `{"regions":{"all":["SIN2-P1"]},"countries":{"b":["SIN2-P1"]}}`, "derived"},
		{"missing countries", airports, pops, `{"regions":{"a":["SIN2-P1"]}}`, "required"},
		{"not json", airports, pops, `[`, "expected"},
		{"trailing data", airports, pops, maps + "{}", "trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseCatalog([]byte(tt.airports), []byte(tt.pops), []byte(tt.maps))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestValidCloudFrontCode(t *testing.T) {
	tests := map[string]bool{
		"SIN2-P1":    true,
		"sin2-p1":    true,
		"SEA900-P10": true,
		"LHR50-M1":   true,
		"PVG52-E1":   true,
		"SIN-P1":     false,
		"SIN2-1":     false,
		"SIN2-P":     false,
		"SIN2P1":     false,
		"SI2-P1":     false,
		"SIN2-PP1":   false,
		"SIN2-P1 ":   false,
		"SIN2-P1-X":  false,
		"S1N2-P1":    false,
		"ÄIN2-P1":    false,
		"":           false,
	}
	for code, want := range tests {
		if got := ValidCloudFrontCode(code); got != want {
			t.Errorf("ValidCloudFrontCode(%q) = %v, want %v", code, got, want)
		}
	}
}

func codes(ts []Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Code
	}
	return out
}

func explicit(list ...string) []Target {
	out := make([]Target, len(list))
	for i, c := range list {
		out[i] = Target{Code: c, Explicit: true}
	}
	return out
}

// edges is explicit targets that are edges of the edges file, except the
// CloudFront codes given in cloudFront.
func edges(list []string, cloudFront ...string) []Target {
	out := explicit(list...)
	for i := range out {
		out[i].Edge = !slices.Contains(cloudFront, out[i].Code)
	}
	return out
}

func TestSelect(t *testing.T) {
	c := Builtin()
	jp, err := c.Select("country", []string{"JP"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		targetType string
		keys       []string
		want       []Target // exact result, when set
		check      func(t *testing.T, got []Target)
	}{
		{
			name: "original us in original order", targetType: "region", keys: []string{"us"},
			want: explicit("IAD89-P1", "IAD89-P2", "SFO5-P2", "SFO5-P1", "DFW56-P1", "DFW56-P2"),
		},
		{
			name: "original region keys ignore case", targetType: "region", keys: []string{" US "},
			want: explicit("IAD89-P1", "IAD89-P2", "SFO5-P2", "SFO5-P1", "DFW56-P1", "DFW56-P2"),
		},
		{
			name: "region all is the 34-code union", targetType: "region", keys: []string{"all"},
			check: func(t *testing.T, got []Target) {
				if len(got) != 34 {
					t.Errorf("got %d targets, want 34", len(got))
				}
				if got[0] != (Target{Code: "BOM51-C1", Explicit: true}) {
					t.Errorf("first target %v, want BOM51-C1 (first of apac)", got[0])
				}
				wantAllExplicit(t, got, true)
			},
		},
		{
			name: "country all is the 10-code union", targetType: "country", keys: []string{"ALL"},
			want: explicit("BOM78-P1", "BOM78-P4", "NRT57-P2", "NRT57-P3", "SYD1-C1", "SYD62-P2", "SIN2-P1", "SIN2-P2", "ICN57-P1", "ICN57-P2"),
		},
		{
			name: "dedup across keys keeps first position", targetType: "region", keys: []string{"jp", "apac"},
			check: func(t *testing.T, got []Target) {
				want := []string{"NRT51-P2", "NRT57-P3", "BOM51-C1", "BOM52-C1", "ICN51-C1", "ICN54-C2", "SIN2-P1", "SIN52-C2"}
				if !slices.Equal(codes(got), want) {
					t.Errorf("got %v, want %v", codes(got), want)
				}
			},
		},
		{
			name: "explicit wins when a code is both expanded and listed", targetType: "country", keys: []string{"JP", "japan"},
			check: func(t *testing.T, got []Target) {
				if len(got) != len(jp) {
					t.Errorf("got %d targets, want %d (japan adds nothing new)", len(got), len(jp))
				}
				for _, tg := range got {
					if want := tg.Code == "NRT57-P2" || tg.Code == "NRT57-P3"; tg.Explicit != want {
						t.Errorf("%s Explicit = %v, want %v", tg.Code, tg.Explicit, want)
					}
				}
			},
		},
		{
			name: "ISO country expands implicitly", targetType: "country", keys: []string{"JP"},
			check: func(t *testing.T, got []Target) {
				if !slices.Contains(codes(got), "NRT57-P3") || !slices.ContainsFunc(got, func(t Target) bool { return strings.HasPrefix(t.Code, "KIX") }) {
					t.Errorf("JP lacks NRT or KIX POPs: %v", codes(got))
				}
				for _, tg := range got {
					if s, _ := c.Lookup(tg.Code); s.Country != "JP" {
						t.Errorf("%s is in %q, not JP", tg.Code, s.Country)
					}
				}
				wantAllExplicit(t, got, false)
			},
		},
		{name: "lower-case ISO", targetType: "country", keys: []string{"jp"}, want: jp},
		{name: "country name", targetType: "country", keys: []string{"Japan"}, want: jp},
		{name: "country name with underscore", targetType: "country", keys: []string{"South_Korea"}, check: func(t *testing.T, got []Target) {
			want, _ := c.Select("country", []string{"KR"})
			if !slices.Equal(got, want) || len(got) <= 2 {
				t.Errorf("South_Korea = %v, want the KR expansion %v", got, want)
			}
		}},
		{
			name: "original country key keeps the original list", targetType: "country", keys: []string{"china"},
			want: explicit("SIN2-P1", "SIN2-P2"),
		},
		{
			name: "continent with space and capitals", targetType: "region", keys: []string{"North America"},
			check: func(t *testing.T, got []Target) {
				same, err := c.Select("region", []string{"north_america"})
				if err != nil || !slices.Equal(got, same) {
					t.Errorf("north_america = %v, %v; want same as North America", codes(same), err)
				}
				if !slices.Contains(codes(got), "IAD89-P1") || !slices.Contains(codes(got), "YUL62-C1") {
					t.Errorf("north-america lacks IAD89-P1 or YUL62-C1")
				}
				for _, tg := range got {
					if s, _ := c.Lookup(tg.Code); s.Region != "north-america" {
						t.Errorf("%s is in %s", tg.Code, s.Region)
					}
				}
				wantAllExplicit(t, got, false)
			},
		},
		{
			name: "pop ids normalised and deduplicated", targetType: "pop", keys: []string{"sin2-p1", "SIN2-P1", " nrt57-p3 "},
			want: explicit("SIN2-P1", "NRT57-P3"),
		},
		{
			name: "unknown well-formed pop id allowed", targetType: "", keys: []string{"zzz1-p1"},
			want: explicit("ZZZ1-P1"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Select(tt.targetType, tt.keys)
			if err != nil {
				t.Fatalf("Select: %v", err)
			}
			if tt.want != nil && !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func wantAllExplicit(t *testing.T, got []Target, want bool) {
	t.Helper()
	for _, tg := range got {
		if tg.Explicit != want {
			t.Errorf("%s Explicit = %v, want %v", tg.Code, tg.Explicit, want)
		}
	}
}

func TestSelectErrors(t *testing.T) {
	c := Builtin()
	tests := []struct {
		name       string
		targetType string
		keys       []string
		field, key string
		text       string // must appear in Error()
	}{
		{"unknown region", "region", []string{"us", "mars"}, "regions", "mars", `regions: unknown region "mars" (use apac, au, ca, eu, jp, sa, us, cn, all, a continent such as europe, or a region of the edges file)`},
		{"country key is no region", "region", []string{"japan"}, "regions", "japan", `unknown region "japan"`},
		{"unknown country", "country", []string{"Atlantis"}, "countries", "Atlantis", `countries: unknown country "Atlantis"`},
		{"ISO code without airport", "country", []string{"LU"}, "countries", "LU", `unknown country "LU"`},
		{"country without known POP", "country", []string{"QA"}, "countries", "QA", `no CloudFront POP id is known in "QA" (Qatar)`},
		{"malformed pop", "pop", []string{"SIN2-P1", "SIN2"}, "pops", "SIN2", `pops: "SIN2" is not a CloudFront POP id`},
		{"empty pop key", "pop", []string{"SIN2-P1", "  "}, "pops", "  ", "empty pop key at position 1"},
		{"empty region key", "region", []string{""}, "regions", "", "empty region key"},
		{"unknown target type", "city", nil, "target_type", "city", `target_type: unknown target type "city"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Select(tt.targetType, tt.keys)
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("Select = %v, %v; want a *KeyError", got, err)
			}
			if ke.Field != tt.field || ke.Key != tt.key {
				t.Errorf("KeyError{Field: %q, Key: %q}, want {%q, %q}", ke.Field, ke.Key, tt.field, tt.key)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not contain %q", err, tt.text)
			}
		})
	}
}

func TestSelectDefaults(t *testing.T) {
	c := Builtin()
	regionAll, _ := c.Select("region", []string{"all"})
	countryAll, _ := c.Select("country", []string{"all"})
	for _, tt := range []struct {
		targetType string
		want       []Target
	}{
		{"", regionAll},
		{"pop", regionAll},
		{"region", regionAll},
		{"country", countryAll},
	} {
		got, err := c.Select(tt.targetType, nil)
		if err != nil {
			t.Fatalf("Select(%q, nil): %v", tt.targetType, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Select(%q, nil) = %v, want %v", tt.targetType, codes(got), codes(tt.want))
		}
	}

	ec := testEdgesCatalog(t)
	for _, typ := range []string{"pop", "region", "country"} {
		got, err := ec.Select(typ, []string{})
		if err != nil {
			t.Fatal(err)
		}
		if want := edges([]string{"ams-cache-1", "edge-a", "edge-b", "SIN2-P1", "tok-1"}); !slices.Equal(got, want) {
			t.Errorf("with edges, Select(%q, []) = %v, want every edge %v", typ, got, want)
		}
	}
}

const testEdgesYAML = `
edges:
  - code: tok-1
    country: jp
    region: APAC-East
    addresses: [10.0.0.1]
  - code: edge-b
    country: US
    region: us
    addresses: [10.0.1.1, cache-b.internal]
  - code: edge-a
    country: us
    region: us
    addresses: ["2001:db8::1"]
  - code: ams-cache-1
    country: NL
    addresses: [ams1.example.net]
  - code: SIN2-P1
    country: SG
    region: apac-east
    addresses: [10.0.2.1]
    purge_method: ban
`

func testEdgesCatalog(t *testing.T) *Catalog {
	t.Helper()
	sites, err := ParseEdges([]byte(testEdgesYAML), "yaml")
	if err != nil {
		t.Fatalf("ParseEdges: %v", err)
	}
	c, err := Builtin().WithEdges(sites)
	if err != nil {
		t.Fatalf("WithEdges: %v", err)
	}
	return c
}

func TestSelectEdgesFirst(t *testing.T) {
	c := testEdgesCatalog(t)
	tests := []struct {
		name       string
		targetType string
		keys       []string
		want       []Target
	}{
		{"edge region beats original region", "region", []string{"us"}, edges([]string{"edge-a", "edge-b"})},
		{"edge region ignores case", "region", []string{"APAC-EAST"}, edges([]string{"SIN2-P1", "tok-1"})},
		{"continent matches edge countries", "region", []string{"Europe"}, edges([]string{"ams-cache-1"})},
		{"continent matches edges in every country of it", "region", []string{"asia"}, edges([]string{"SIN2-P1", "tok-1"})},
		{"original region without matching edge falls back", "region", []string{"ca"}, explicit("YUL62-C2", "YUL62-C1")},
		{"ISO key", "country", []string{"jp"}, edges([]string{"tok-1"})},
		{"original country key via its ISO code", "country", []string{"japan"}, edges([]string{"tok-1"})},
		{"country name", "country", []string{"Netherlands"}, edges([]string{"ams-cache-1"})},
		{"all selects every edge", "region", []string{"all"}, edges([]string{"ams-cache-1", "edge-a", "edge-b", "SIN2-P1", "tok-1"})},
		{"edge code in file spelling", "pop", []string{"TOK-1", "sin2-p1", "nrt57-p3"}, edges([]string{"tok-1", "SIN2-P1", "NRT57-P3"}, "NRT57-P3")},
		{"country without edges falls back", "country", []string{"india"}, explicit("BOM78-P1", "BOM78-P4")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Select(tt.targetType, tt.keys)
			if err != nil {
				t.Fatalf("Select: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// A country with POPs but no edges still expands to CloudFront POPs,
	// leaving out the one the file overrides.
	got, err := c.Select("country", []string{"SG"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, edges([]string{"SIN2-P1"})) {
		t.Errorf("SG with an SG edge = %v, want only the edge", got)
	}
	got, err = c.Select("country", []string{"AU"})
	if err != nil || len(got) == 0 || got[0].Explicit {
		t.Errorf("AU = %v, %v; want implicit CloudFront POPs", got, err)
	}

	// An edges-file region is a valid key only in a catalog that has it.
	if _, err := c.Select("region", []string{"apac-east"}); err != nil {
		t.Errorf("edge region rejected: %v", err)
	}
	if _, err := Builtin().Select("region", []string{"apac-east"}); err == nil {
		t.Error("edge region accepted by the builtin catalog")
	}
	if _, err := c.Select("pop", []string{"tok-2"}); err == nil || !strings.Contains(err.Error(), "edges file") {
		t.Errorf("unknown edge code: %v, want an error mentioning the edges file", err)
	}
}

func TestWithEdges(t *testing.T) {
	c := testEdgesCatalog(t)
	if !c.HasEdges() || Builtin().HasEdges() {
		t.Fatal("WithEdges changed the receiver or lost the edges")
	}

	s, ok := c.Lookup("sin2-p1")
	if !ok || !s.FromFile || s.PurgeMethod != "BAN" || s.IATA != "" || s.CountryName != "Singapore" {
		t.Errorf("Lookup(sin2-p1) = %+v, want the file's site", s)
	}
	if s, _ := Builtin().Lookup("sin2-p1"); s.FromFile {
		t.Error("override leaked into the builtin catalog")
	}
	if s, _ := c.Lookup("TOK-1"); s.Code != "tok-1" || s.Region != "apac-east" || s.PurgeMethod != "PURGE" {
		t.Errorf("Lookup(TOK-1) = %+v", s)
	}

	sites := c.Sites()
	if got, want := len(sites), 595+4; got != want { // SIN2-P1 overridden, not doubled
		t.Errorf("Sites() has %d entries, want %d", got, want)
	}
	var first []string
	for _, s := range sites[:5] {
		first = append(first, s.Code)
	}
	if want := []string{"ams-cache-1", "edge-a", "edge-b", "SIN2-P1", "tok-1"}; !slices.Equal(first, want) {
		t.Errorf("file sites first, sorted: got %v, want %v", first, want)
	}
	if sites[5].FromFile || sites[5].Code != "AKL50-C1" {
		t.Errorf("first builtin site %+v, want AKL50-C1", sites[5])
	}

	// Callers get copies; mutating them must not change the catalog.
	sites[1].Addresses[0] = "mutated"
	if s, _ := c.Lookup("edge-a"); s.Addresses[0] != "2001:db8::1" {
		t.Error("Sites() exposed the catalog's address slice")
	}

	_, err := Builtin().WithEdges([]Site{{Code: "x", Addresses: []string{"a"}}, {Code: "X", Addresses: []string{"b"}}})
	if err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate codes: %v, want an error", err)
	}
	if _, err := Builtin().WithEdges([]Site{{Code: " "}}); err == nil {
		t.Error("empty code accepted")
	}
}

func TestSitesNaturalOrder(t *testing.T) {
	var prev string
	idx := map[string]int{}
	for i, s := range Builtin().Sites() {
		if prev != "" && naturalCompare(prev, s.Code) >= 0 {
			t.Fatalf("%s sorted before %s", prev, s.Code)
		}
		prev = s.Code
		idx[s.Code] = i
	}
	if idx["SIN2-P1"] > idx["SIN52-C2"] {
		t.Error("SIN2-P1 after SIN52-C2: numbers not compared by value")
	}
}

func TestNaturalCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"SEA4-C1", "SEA19-C1", -1},
		{"SEA19-C1", "SEA4-C1", 1},
		{"SEA4-P2", "SEA4-P10", -1},
		{"edge-a", "Edge-B", -1},
		{"Edge-a", "edge-a", -1},
		{"a01", "a1", -1},
		{"a", "a1", -1},
		{"x", "x", 0},
	}
	for _, tt := range tests {
		if got := naturalCompare(tt.a, tt.b); got != tt.want {
			t.Errorf("naturalCompare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	c := Builtin()
	tests := []struct {
		code string
		want Site
	}{
		{"sin2-p1", Site{Code: "SIN2-P1", IATA: "SIN", City: "Singapore", Country: "SG", CountryName: "Singapore", Region: "asia"}},
		{"nrt999-p42", Site{Code: "NRT999-P42", IATA: "NRT", City: "Tokyo", Country: "JP", CountryName: "Japan", Region: "asia"}},
		{"DOH50-P1", Site{Code: "DOH50-P1", IATA: "DOH", City: "Doha", Country: "QA", CountryName: "Qatar", Region: "middle-east"}},
		{"ZZZ1-P1", Site{Code: "ZZZ1-P1"}},
		{"not a code", Site{Code: "not a code"}},
	}
	for _, tt := range tests {
		got := c.Describe(tt.code)
		if got.Code != tt.want.Code || got.IATA != tt.want.IATA || got.City != tt.want.City ||
			got.Country != tt.want.Country || got.CountryName != tt.want.CountryName || got.Region != tt.want.Region || got.FromFile {
			t.Errorf("Describe(%q) = %+v, want %+v", tt.code, got, tt.want)
		}
	}
	if _, ok := c.Lookup("NRT999-P42"); ok {
		t.Error("Lookup found a code that is not in the data")
	}
	ec := testEdgesCatalog(t)
	if got := ec.Describe("Tok-1"); got.Code != "tok-1" || !got.FromFile || got.Country != "JP" {
		t.Errorf("Describe(Tok-1) = %+v, want the edges-file site", got)
	}
}

func TestFilter(t *testing.T) {
	c := Builtin()
	ec := testEdgesCatalog(t)
	sitesOf := func(cat *Catalog, region, country string) []string {
		t.Helper()
		got, err := cat.Filter(region, country)
		if err != nil {
			t.Fatalf("Filter(%q, %q): %v", region, country, err)
		}
		out := make([]string, len(got))
		for i, s := range got {
			out[i] = s.Code
		}
		return out
	}

	if got := sitesOf(c, "", ""); len(got) != 595 {
		t.Errorf("Filter(\"\", \"\") has %d sites, want all 595", len(got))
	}
	if got, want := sitesOf(c, "us", ""), []string{"DFW56-P1", "DFW56-P2", "IAD89-P1", "IAD89-P2", "SFO5-P1", "SFO5-P2"}; !slices.Equal(got, want) {
		t.Errorf("Filter(us) = %v, want %v (Sites order)", got, want)
	}
	jp := sitesOf(c, "", "Japan")
	if len(jp) == 0 {
		t.Fatal("Filter(Japan) is empty")
	}
	if got := sitesOf(c, "asia", "jp"); !slices.Equal(got, jp) {
		t.Errorf("Filter(asia, jp) = %v, want %v", got, jp)
	}
	if got := sitesOf(c, "europe", "JP"); len(got) != 0 {
		t.Errorf("Filter(europe, JP) = %v, want none", got)
	}
	if got := sitesOf(c, "", "QA"); len(got) != 0 {
		t.Errorf("Filter(QA) = %v, want none (no known POP, and no error)", got)
	}
	// Filter shows what a job given the same key targets: the edges of the
	// edges file when the key selects any, else the built-in POPs.
	for _, tt := range []struct{ targetType, key string }{
		{"region", "europe"}, {"region", "us"}, {"region", "eu"}, {"region", "asia"}, {"country", "DE"}, {"country", "JP"},
	} {
		region, country := tt.key, ""
		if tt.targetType == "country" {
			region, country = "", tt.key
		}
		got := sitesOf(ec, region, country)
		targets, err := ec.Select(tt.targetType, []string{tt.key})
		if err != nil {
			t.Fatalf("Select(%s, %s): %v", tt.targetType, tt.key, err)
		}
		want := make([]string, len(targets))
		for i, tg := range targets {
			want[i] = tg.Code
		}
		if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Errorf("%s %s: Filter lists %v, a job targets %v", tt.targetType, tt.key, got, want)
		}
	}
	if got := sitesOf(ec, "europe", ""); !slices.Equal(got, []string{"ams-cache-1"}) {
		t.Errorf("Filter(europe) with edges = %v, want the European edge only", got)
	}

	for _, tt := range []struct{ region, country, field string }{
		{"mars", "", "regions"},
		{"", "Atlantis", "countries"},
		{"europe", "XX", "countries"},
	} {
		_, err := c.Filter(tt.region, tt.country)
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Field != tt.field {
			t.Errorf("Filter(%q, %q) error = %v, want a KeyError on %s", tt.region, tt.country, err, tt.field)
		}
	}
}
