package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// defaultPurgeMethod is what most self-run caches (Varnish, nginx with
// ngx_cache_purge, Squid) accept for invalidating one object.
const defaultPurgeMethod = "PURGE"

// maxEdgeCodeLen bounds codes because they end up in logs, metrics labels
// and database rows, where an accidental paragraph would be a nuisance.
const maxEdgeCodeLen = 64

// edgesDocument is the on-disk shape of an edges file. The tags serve both
// decoders so YAML and JSON files are spelled the same way.
type edgesDocument struct {
	Edges []edgeEntry `json:"edges" yaml:"edges"`
}

type edgeEntry struct {
	Code        string   `json:"code" yaml:"code"`
	City        string   `json:"city" yaml:"city"`
	Country     string   `json:"country" yaml:"country"`
	Region      string   `json:"region" yaml:"region"`
	Addresses   []string `json:"addresses" yaml:"addresses"`
	PurgeMethod string   `json:"purge_method" yaml:"purge_method"`
	// Parent is the code of the edge this one fills from (a shield or a
	// regional tier), for tier-first warming.
	Parent string `json:"parent" yaml:"parent"`
}

// LoadEdgesFile reads and validates an edges file. The format follows the
// extension (.json, .yaml, .yml); any other name is sniffed: a document
// whose first non-space byte is '{' is JSON, anything else YAML.
func LoadEdgesFile(path string) ([]Site, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read edges file: %w", err)
	}
	format := ""
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		format = "json"
	case ".yaml", ".yml":
		format = "yaml"
	}
	sites, err := ParseEdges(data, format)
	if err != nil {
		return nil, fmt.Errorf("edges file %s: %w", path, err)
	}
	return sites, nil
}

// ParseEdges decodes and validates the contents of an edges file. format is
// "yaml" (or "yml") or "json"; "" sniffs it as LoadEdgesFile does. Unknown
// fields are an error in both formats, because a misspelt field such as
// "adresses" would otherwise silently drop configuration.
func ParseEdges(data []byte, format string) ([]Site, error) {
	// Editors on Windows like to prepend a byte-order mark, which neither
	// decoder accepts.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	format = strings.ToLower(strings.TrimSpace(format))
	if format == "" {
		format = sniffFormat(data)
	}
	var doc edgesDocument
	switch format {
	case "json":
		if err := decodeEdgesJSON(data, &doc); err != nil {
			return nil, err
		}
	case "yaml", "yml":
		if err := decodeEdgesYAML(data, &doc); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown edges file format %q (use yaml or json)", format)
	}
	return validateEdges(doc)
}

func sniffFormat(data []byte) string {
	if trimmed := bytes.TrimLeftFunc(data, unicode.IsSpace); len(trimmed) > 0 && trimmed[0] == '{' {
		return "json"
	}
	return "yaml"
}

func decodeEdgesJSON(data []byte, doc *edgesDocument) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(doc); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("parse JSON: empty document")
		}
		return fmt.Errorf("parse JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("parse JSON: unexpected data after the top-level object")
	}
	return nil
}

func decodeEdgesYAML(data []byte, doc *edgesDocument) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(doc); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("parse YAML: empty document")
		}
		return fmt.Errorf("parse YAML: %w", err)
	}
	// A second document would be ignored by the decoder; refuse it rather
	// than warm only half of what the operator wrote.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("parse YAML: only one document is allowed")
	}
	return nil
}

func validateEdges(doc edgesDocument) ([]Site, error) {
	if len(doc.Edges) == 0 {
		return nil, errors.New("edges: at least one edge is required")
	}
	names := Builtin().countryNames
	firstAt := map[string]int{}
	sites := make([]Site, 0, len(doc.Edges))
	for i, e := range doc.Edges {
		at := fmt.Sprintf("edges[%d]", i)
		code := strings.TrimSpace(e.Code)
		if err := checkEdgeCode(code); err != nil {
			return nil, fmt.Errorf("%s.code: %w", at, err)
		}
		key := strings.ToUpper(code)
		if j, dup := firstAt[key]; dup {
			return nil, fmt.Errorf("%s.code: duplicate code %q (edges[%d] has it already; codes ignore case)", at, code, j)
		}
		firstAt[key] = i

		if len(e.Addresses) == 0 {
			return nil, fmt.Errorf("%s.addresses: at least one address is required", at)
		}
		addrs := make([]string, 0, len(e.Addresses))
		seen := map[string]int{}
		for k, raw := range e.Addresses {
			addr := strings.TrimSpace(raw)
			if err := checkAddress(addr); err != nil {
				return nil, fmt.Errorf("%s.addresses[%d]: %w", at, k, err)
			}
			// Listing a node twice would double its share of the requests.
			if j, dup := seen[strings.ToLower(addr)]; dup {
				return nil, fmt.Errorf("%s.addresses[%d]: %q repeats addresses[%d]", at, k, addr, j)
			}
			seen[strings.ToLower(addr)] = k
			addrs = append(addrs, addr)
		}

		country := strings.TrimSpace(e.Country)
		if country != "" {
			if len(country) != 2 || !isLetters(country) {
				return nil, fmt.Errorf("%s.country: %w", at, badCountry(country))
			}
			country = strings.ToUpper(country)
		}

		method := strings.ToUpper(strings.TrimSpace(e.PurgeMethod))
		if method == "" {
			method = defaultPurgeMethod
		}
		if !isToken(method) {
			return nil, fmt.Errorf("%s.purge_method: %q is not an HTTP method name", at, e.PurgeMethod)
		}

		sites = append(sites, Site{
			Code:        code,
			City:        strings.TrimSpace(e.City),
			Country:     country,
			CountryName: names[country],
			Region:      strings.ToLower(strings.TrimSpace(e.Region)),
			Addresses:   addrs,
			PurgeMethod: method,
			Parent:      strings.TrimSpace(e.Parent),
			FromFile:    true,
		})
	}
	return sites, checkParents(sites)
}

// checkParents requires every parent to be another edge of the file, with
// no loop: a child is warmed after its parent.
func checkParents(sites []Site) error {
	byCode := map[string]int{}
	for i, s := range sites {
		byCode[strings.ToUpper(s.Code)] = i
	}
	for i, s := range sites {
		if s.Parent == "" {
			continue
		}
		j, ok := byCode[strings.ToUpper(s.Parent)]
		if !ok {
			return fmt.Errorf("edges[%d].parent: %q is not an edge of this file", i, s.Parent)
		}
		sites[i].Parent = sites[j].Code
		seen := map[int]bool{i: true}
		for k := j; sites[k].Parent != ""; {
			if seen[k] {
				return fmt.Errorf("edges[%d].parent: %q leads back to %s: parents may not form a loop", i, s.Parent, s.Code)
			}
			seen[k] = true
			next, ok := byCode[strings.ToUpper(sites[k].Parent)]
			if !ok {
				break // reported at its own edge
			}
			k = next
		}
	}
	return nil
}

// checkEdgeCode keeps codes usable as single keys: target lists are often
// written comma- or space-separated on a command line, so a code containing
// either could never be selected.
func checkEdgeCode(code string) error {
	switch {
	case code == "":
		return errors.New("a code is required")
	case len(code) > maxEdgeCodeLen:
		return fmt.Errorf("%q is longer than %d bytes", code, maxEdgeCodeLen)
	case strings.ContainsFunc(code, func(r rune) bool { return r == ',' || unicode.IsSpace(r) || !unicode.IsPrint(r) }):
		return fmt.Errorf("%q contains a comma, a space or a control character", code)
	}
	return nil
}

func badCountry(country string) error {
	if iso := Builtin().countryISO[normalizeName(country)]; iso != "" {
		return fmt.Errorf("%q is not an ISO 3166 alpha-2 code (did you mean %s?)", country, iso)
	}
	return fmt.Errorf("%q is not an ISO 3166 alpha-2 code (such as JP)", country)
}

// checkAddress accepts what a dialer can be pointed at directly: an IP
// literal or a host name. Schemes and ports are refused because they come
// from the URL being warmed; accepting them here would let the file and the
// URL disagree.
func checkAddress(addr string) error {
	if _, err := netip.ParseAddr(addr); err == nil {
		return nil
	}
	if validHostName(addr) {
		return nil
	}
	if strings.ContainsAny(addr, ":/[]") {
		return fmt.Errorf("%q is not an IP address or host name (give the bare host: scheme and port come from the URL being warmed)", addr)
	}
	return fmt.Errorf("%q is not an IP address or host name", addr)
}

// validHostName checks DNS syntax: dot-separated labels of letters, digits,
// '-' and '_' (common in internal names), 1–63 bytes each, no leading or
// trailing '-', at most 253 bytes, one optional trailing dot. A name whose
// last label is all digits is refused: it is a mistyped IP address such as
// "10.0.0.256", not a name any resolver would find.
func validHostName(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	labels := strings.Split(name, ".")
	for _, label := range labels {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !isDigitByte(b) && b != '-' && b != '_' && (lowerByte(b) < 'a' || lowerByte(b) > 'z') {
				return false
			}
		}
	}
	return !isDigits(labels[len(labels)-1])
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2), the
// grammar of a request method.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case isDigitByte(b), lowerByte(b) >= 'a' && lowerByte(b) <= 'z':
		case strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0:
		default:
			return false
		}
	}
	return true
}

// LoadCatalog is the built-in catalog, with the edges of edgesFile when one
// is named.
func LoadCatalog(edgesFile string) (*Catalog, error) {
	cat := Builtin()
	if edgesFile == "" {
		return cat, nil
	}
	sites, err := LoadEdgesFile(edgesFile)
	if err != nil {
		return nil, err
	}
	return cat.WithEdges(sites)
}
