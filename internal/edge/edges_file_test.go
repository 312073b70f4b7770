package edge

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const sampleYAML = `# two caches
edges:
  - code: fra-1
    city: Frankfurt
    country: de
    region: EU-Central
    addresses:
      - 192.0.2.10
      - fra-1.cache.example.com
  - code: NO-osl
    country: NO
    addresses: ["2001:db8::10"]
    purge_method: ban
`

const sampleJSON = `{
  "edges": [
    {"code": "fra-1", "city": "Frankfurt", "country": "de", "region": "EU-Central",
     "addresses": ["192.0.2.10", "fra-1.cache.example.com"]},
    {"code": "NO-osl", "country": "NO", "addresses": ["2001:db8::10"], "purge_method": "ban"}
  ]
}`

var sampleSites = []Site{
	{
		Code: "fra-1", City: "Frankfurt", Country: "DE", CountryName: "Germany", Region: "eu-central",
		Addresses: []string{"192.0.2.10", "fra-1.cache.example.com"}, PurgeMethod: "PURGE", FromFile: true,
	},
	{
		// "NO" must stay Norway's code: YAML 1.1 would read it as false.
		Code: "NO-osl", Country: "NO", CountryName: "Norway",
		Addresses: []string{"2001:db8::10"}, PurgeMethod: "BAN", FromFile: true,
	},
}

func TestParseEdges(t *testing.T) {
	tests := []struct {
		name, format, data string
	}{
		{"yaml", "yaml", sampleYAML},
		{"yml", "YML", sampleYAML},
		{"json", "json", sampleJSON},
		{"sniffed json", "", "\n  " + sampleJSON},
		{"sniffed yaml", "", sampleYAML},
		{"json read as yaml", "yaml", sampleJSON},
		{"byte-order mark", "json", "\ufeff" + sampleJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEdges([]byte(tt.data), tt.format)
			if err != nil {
				t.Fatalf("ParseEdges: %v", err)
			}
			if !reflect.DeepEqual(got, sampleSites) {
				t.Errorf("got  %+v\nwant %+v", got, sampleSites)
			}
		})
	}
}

func TestParseEdgesErrors(t *testing.T) {
	// edge wraps YAML list entries into a complete document.
	edge := func(entries ...string) string {
		doc := "edges:\n"
		for _, e := range entries {
			doc += "  - " + strings.ReplaceAll(e, "\n", "\n    ") + "\n"
		}
		return doc
	}
	ok := "addresses: [10.0.0.1]"
	tests := []struct {
		name, format, data, want string
	}{
		{"empty document", "yaml", "", "empty document"},
		{"empty json", "json", "  ", "empty document"},
		{"no edges", "yaml", "edges: []\n", "at least one edge"},
		{"null edges", "json", `{"edges": null}`, "at least one edge"},
		{"unknown field yaml", "yaml", edge("code: a\n" + ok + "\nport: 8080"), "port"},
		{"unknown field json", "json", `{"edges":[{"code":"a","addresses":["10.0.0.1"],"adresses":[]}]}`, "adresses"},
		{"unknown top-level field", "yaml", "edge:\n  - code: a\n", "edge"},
		{"trailing json", "json", `{"edges":[{"code":"a","addresses":["10.0.0.1"]}]} {}`, "after the top-level object"},
		{"second yaml document", "yaml", edge("code: a\n"+ok) + "---\nedges: []\n", "only one document"},
		{"yaml syntax", "yaml", "edges: [", "parse YAML"},
		{"json syntax", "json", `{"edges": [`, "parse JSON"},
		{"wrong type", "yaml", "edges:\n  - code: a\n    addresses: 10.0.0.1\n", "parse YAML"},
		{"unknown format", "toml", sampleYAML, `unknown edges file format "toml"`},
		{"missing code", "yaml", edge(ok), "edges[0].code: a code is required"},
		{"blank code", "yaml", edge("code: '  '\n" + ok), "edges[0].code: a code is required"},
		{"code with space", "yaml", edge("code: a b\n" + ok), `edges[0].code: "a b" contains`},
		{"code with comma", "yaml", edge("code: a,b\n" + ok), "comma"},
		{"code too long", "yaml", edge("code: " + strings.Repeat("x", 65) + "\n" + ok), "longer than 64"},
		{"duplicate code", "yaml", edge("code: a\n"+ok, "code: b\n"+ok, "code: A\n"+ok), `edges[2].code: duplicate code "A" (edges[0]`},
		{"no addresses", "yaml", edge("code: a"), "edges[0].addresses: at least one address"},
		{"empty addresses", "yaml", edge("code: a\naddresses: []"), "edges[0].addresses: at least one address"},
		{"address with space", "json", `{"edges":[{"code":"a","addresses":["10.0.0.1","x y"]}]}`, `edges[0].addresses[1]: "x y" is not an IP address or host name`},
		{"address with port", "yaml", edge("code: a\naddresses: ['10.0.0.1:8080']"), "scheme and port come from the URL"},
		{"address with scheme", "yaml", edge("code: a\naddresses: ['https://cache.example.com']"), `"https://cache.example.com" is not an IP address or host name`},
		{"bracketed IPv6", "yaml", edge("code: a\naddresses: ['[2001:db8::1]']"), "is not an IP address"},
		{"bad IPv4", "yaml", edge("code: a\naddresses: [10.0.0.256]"), `"10.0.0.256" is not an IP address`},
		{"empty address", "yaml", edge("code: a\naddresses: ['']"), `"" is not an IP address`},
		{"label too long", "yaml", edge("code: a\naddresses: [" + strings.Repeat("a", 64) + ".example]"), "is not an IP address"},
		{"leading hyphen", "yaml", edge("code: a\naddresses: [-cache.example]"), "is not an IP address"},
		{"duplicate address", "yaml", edge("code: a\naddresses: [Cache.example, cache.example]"), `edges[0].addresses[1]: "cache.example" repeats addresses[0]`},
		{"country name", "yaml", edge("code: a\ncountry: Japan\n" + ok), `edges[0].country: "Japan" is not an ISO 3166 alpha-2 code (did you mean JP?)`},
		{"country alpha-3", "yaml", edge("code: a\ncountry: JPN\n" + ok), `"JPN" is not an ISO 3166 alpha-2 code (such as JP)`},
		{"country digits", "yaml", edge("code: a\ncountry: '12'\n" + ok), "edges[0].country"},
		{"purge method with space", "yaml", edge("code: a\npurge_method: PUR GE\n" + ok), `edges[0].purge_method: "PUR GE" is not an HTTP method name`},
		{"purge method with slash", "yaml", edge("code: a\npurge_method: a/b\n" + ok), "purge_method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEdges([]byte(tt.data), tt.format)
			if err == nil {
				t.Fatalf("ParseEdges accepted it: %+v", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestCheckAddress(t *testing.T) {
	tests := map[string]bool{
		"10.0.0.1":                      true,
		"2001:db8::1":                   true,
		"::1":                           true,
		"cache":                         true,
		"cache-1.example.com":           true,
		"cache-1.example.com.":          true,
		"_edge.internal":                true,
		"xn--bcher-kva.example":         true,
		"1.example":                     true,
		"10.0.0":                        false,
		"cache..example":                false,
		"cache-.example":                false,
		"cache.example:80":              false,
		"http://cache":                  false,
		"cäche.example":                 false,
		".":                             false,
		strings.Repeat("a.", 127):       true,  // 253 bytes once the root dot is dropped
		strings.Repeat("a.", 127) + "a": false, // 255 bytes
	}
	for addr, want := range tests {
		if got := checkAddress(addr) == nil; got != want {
			t.Errorf("checkAddress(%q) ok = %v, want %v", addr, got, want)
		}
	}
}

func TestLoadEdgesFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		file, data string
	}{
		{"edges.yaml", sampleYAML},
		{"edges.YML", sampleYAML},
		{"edges.json", sampleJSON},
		{"edges.conf", sampleJSON}, // sniffed
		{"edges", sampleYAML},      // sniffed
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadEdgesFile(path)
			if err != nil {
				t.Fatalf("LoadEdgesFile: %v", err)
			}
			if !reflect.DeepEqual(got, sampleSites) {
				t.Errorf("got %+v, want %+v", got, sampleSites)
			}
		})
	}

	// The extension decides: YAML in a .json file is a JSON error.
	path := filepath.Join(dir, "wrong.json")
	if err := os.WriteFile(path, []byte(sampleYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadEdgesFile(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "parse JSON") {
		t.Errorf("YAML in .json: %v, want a JSON error naming the file", err)
	}
	if _, err := LoadEdgesFile(filepath.Join(dir, "missing.yaml")); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want a wrapped not-exist error", err)
	}
}
