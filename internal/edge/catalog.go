package edge

import (
	"prewarm/internal/warm"

	"bytes"
	"cmp"
	"embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// Site is one edge location a job can target: a CloudFront POP of the built-in catalog,
// or an edge from the operator's edges file.
type Site struct {
	Code        string   // CloudFront codes canonical upper-case ("SIN2-P1"); edges-file codes exactly as written
	IATA        string   // airport prefix of a CloudFront code ("SIN"); always "" for edges-file sites
	City        string   // city of the airport, or as written in the edges file
	Country     string   // ISO 3166 alpha-2, upper-case; "" if unknown
	CountryName string   // English name of Country when the catalog knows it
	Region      string   // catalog: the continent (north-america, …, oceania); edges file: as written, lower-cased
	Addresses   []string // edges file only: IPs or host names to connect to
	PurgeMethod string   // edges file only: HTTP method used to purge; default "PURGE"
	Parent      string   // edges file only: the code of the edge this one fills from
	FromFile    bool     // true for edges-file sites
}

// Target is one site chosen for a job.
// Target is one site chosen for a job; see warm.Target.
type Target = warm.Target

// KeyError reports a target key (or target type) that cannot be used. It is
// a distinct type so that API layers can map it to a client error (HTTP 400)
// rather than a server error.
type KeyError struct {
	Field  string // "pops", "regions", "countries" or "target_type"
	Key    string // the offending key as given
	Reason string // human-readable explanation, naming the key
}

func (e *KeyError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap makes a KeyError a warm.InputError, so the API answers it as bad
// input naming the field.
func (e *KeyError) Unwrap() error { return &warm.InputError{Field: e.Field, Msg: e.Reason} }

// Catalog is the set of sites known to prewarm. It is immutable after
// construction, so one value can be shared by every goroutine of the server.
type Catalog struct {
	airports         map[string]airport // by IATA code
	pops             map[string]Site    // built-in POPs by canonical code
	popOrder         []string           // built-in POP codes in natural order
	countryNames     map[string]string  // ISO alpha-2 → English name
	countryISO       map[string]string  // normalised English name → ISO alpha-2
	countryContinent map[string]string  // ISO alpha-2 → continent
	regions          orderedLists       // the original product's region map
	countries        orderedLists       // the original product's country map

	edges     []Site         // edges-file sites in natural code order
	edgeIndex map[string]int // upper-cased edges-file code → index in edges
}

type airport struct {
	iata, city, country, countryName, continent string
}

// orderedLists keeps a JSON object of string lists in document order,
// because the order of the original maps decides the order of Select's
// output, and encoding/json's maps would lose it.
type orderedLists struct {
	keys  []string
	lists map[string][]string
	all   []string // union of every list, first occurrence wins
}

//go:embed data/cloudfront-airports.csv data/cloudfront-pops.csv data/original-maps.json
var dataFS embed.FS

// builtin parses the embedded data at most once; the result is never
// modified afterwards, which is what makes sharing it safe.
var builtin = sync.OnceValue(func() *Catalog {
	c, err := loadEmbedded()
	if err != nil {
		// The data is compiled into the binary and checked by a test, so a
		// failure here is a build defect, not a runtime condition to handle.
		panic(fmt.Sprintf("edge: embedded catalog data is corrupt: %v", err))
	}
	return c
})

// Builtin returns the embedded CloudFront catalog. It has no edges-file sites.
func Builtin() *Catalog { return builtin() }

func loadEmbedded() (*Catalog, error) {
	var files [3][]byte
	for i, name := range []string{"data/cloudfront-airports.csv", "data/cloudfront-pops.csv", "data/original-maps.json"} {
		b, err := dataFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read embedded %s: %w", name, err)
		}
		files[i] = b
	}
	return parseCatalog(files[0], files[1], files[2])
}

// parseCatalog builds a catalog from the three reference files. It is
// separate from Builtin so tests can feed it broken data.
func parseCatalog(airportsCSV, popsCSV, mapsJSON []byte) (*Catalog, error) {
	c := &Catalog{
		airports:         map[string]airport{},
		pops:             map[string]Site{},
		countryNames:     map[string]string{},
		countryISO:       map[string]string{},
		countryContinent: map[string]string{},
		edgeIndex:        map[string]int{},
	}
	if err := c.parseAirports(airportsCSV); err != nil {
		return nil, fmt.Errorf("cloudfront-airports.csv: %w", err)
	}
	if err := c.parsePops(popsCSV); err != nil {
		return nil, fmt.Errorf("cloudfront-pops.csv: %w", err)
	}
	if err := c.parseMaps(mapsJSON); err != nil {
		return nil, fmt.Errorf("original-maps.json: %w", err)
	}
	return c, nil
}

func readCSV(data []byte, header []string) ([][]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = len(header)
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("parse CSV: %w", err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], header) {
		return nil, fmt.Errorf("header must be %q", strings.Join(header, ","))
	}
	return rows[1:], nil
}

func (c *Catalog) parseAirports(data []byte) error {
	rows, err := readCSV(data, []string{"iata", "city", "country_iso2", "country_name", "continent"})
	if err != nil {
		return err
	}
	for i, row := range rows {
		a := airport{iata: row[0], city: row[1], country: row[2], countryName: row[3], continent: row[4]}
		line := i + 2 // 1-based, after the header
		switch {
		case !isUpperLetters(a.iata, 3):
			return fmt.Errorf("line %d: bad IATA code %q", line, a.iata)
		case a.city == "" || a.countryName == "":
			return fmt.Errorf("line %d: empty city or country name", line)
		case !isUpperLetters(a.country, 2):
			return fmt.Errorf("line %d: bad ISO country code %q", line, a.country)
		case !isContinent(a.continent):
			return fmt.Errorf("line %d: unknown continent %q", line, a.continent)
		}
		if _, dup := c.airports[a.iata]; dup {
			return fmt.Errorf("line %d: duplicate IATA code %s", line, a.iata)
		}
		// Country keys resolve through these maps, so a country must have
		// one name and one continent or the same key would mean two things.
		if name, ok := c.countryNames[a.country]; ok && name != a.countryName {
			return fmt.Errorf("line %d: country %s named both %q and %q", line, a.country, name, a.countryName)
		}
		if cont, ok := c.countryContinent[a.country]; ok && cont != a.continent {
			return fmt.Errorf("line %d: country %s in both %s and %s", line, a.country, cont, a.continent)
		}
		norm := normalizeName(a.countryName)
		if iso, ok := c.countryISO[norm]; ok && iso != a.country {
			return fmt.Errorf("line %d: country name %q used for both %s and %s", line, a.countryName, iso, a.country)
		}
		c.airports[a.iata] = a
		c.countryNames[a.country] = a.countryName
		c.countryContinent[a.country] = a.continent
		c.countryISO[norm] = a.country
	}
	if len(c.airports) == 0 {
		return errors.New("no airports")
	}
	return nil
}

func (c *Catalog) parsePops(data []byte) error {
	rows, err := readCSV(data, []string{"pop", "iata", "source"})
	if err != nil {
		return err
	}
	for i, row := range rows {
		code, iata := row[0], row[1]
		line := i + 2
		if !ValidCloudFrontCode(code) || code != strings.ToUpper(code) {
			return fmt.Errorf("line %d: %q is not a canonical CloudFront POP id", line, code)
		}
		if code[:3] != iata {
			return fmt.Errorf("line %d: POP %s listed under IATA %q", line, code, iata)
		}
		a, ok := c.airports[iata]
		if !ok {
			return fmt.Errorf("line %d: POP %s has unknown airport %s", line, code, iata)
		}
		if _, dup := c.pops[code]; dup {
			return fmt.Errorf("line %d: duplicate POP %s", line, code)
		}
		c.pops[code] = a.site(code)
		c.popOrder = append(c.popOrder, code)
	}
	if len(c.pops) == 0 {
		return errors.New("no POPs")
	}
	slices.SortFunc(c.popOrder, naturalCompare)
	return nil
}

func (a airport) site(code string) Site {
	return Site{
		Code:        code,
		IATA:        a.iata,
		City:        a.city,
		Country:     a.country,
		CountryName: a.countryName,
		Region:      a.continent,
	}
}

func (c *Catalog) parseMaps(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	seen := map[string]bool{}
	for dec.More() {
		name, err := stringToken(dec)
		if err != nil {
			return err
		}
		var dst *orderedLists
		switch name {
		case "regions":
			dst = &c.regions
		case "countries":
			dst = &c.countries
		default:
			return fmt.Errorf("unexpected top-level key %q", name)
		}
		if seen[name] {
			return fmt.Errorf("duplicate top-level key %q", name)
		}
		seen[name] = true
		if *dst, err = decodeOrderedLists(dec); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		// The original maps only name POPs; an id the catalog does not
		// know would mean the reference files disagree with each other.
		for _, key := range dst.keys {
			for _, code := range dst.lists[key] {
				if _, ok := c.pops[code]; !ok {
					return fmt.Errorf("%s.%s: %s is not in the POP list", name, key, code)
				}
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the top-level object")
	}
	if !seen["regions"] || !seen["countries"] {
		return errors.New(`both "regions" and "countries" are required`)
	}
	return nil
}

// decodeOrderedLists walks one object of string lists token by token so the
// key order of the document survives.
func decodeOrderedLists(dec *json.Decoder) (orderedLists, error) {
	ol := orderedLists{lists: map[string][]string{}}
	if err := expectDelim(dec, '{'); err != nil {
		return ol, err
	}
	seen := map[string]bool{}
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return ol, err
		}
		if _, dup := ol.lists[key]; dup {
			return ol, fmt.Errorf("duplicate key %q", key)
		}
		if key == "all" {
			// "all" is derived as the union; a stored one could disagree.
			return ol, errors.New(`key "all" must not be stored; it is derived`)
		}
		var list []string
		if err := dec.Decode(&list); err != nil {
			return ol, fmt.Errorf("%s: %w", key, err)
		}
		if len(list) == 0 {
			return ol, fmt.Errorf("%s: empty list", key)
		}
		ol.keys = append(ol.keys, key)
		ol.lists[key] = list
		for _, code := range list {
			if !seen[code] {
				seen[code] = true
				ol.all = append(ol.all, code)
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return ol, err
	}
	return ol, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("read JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", want, tok)
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", fmt.Errorf("read JSON: %w", err)
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("expected an object key, found %v", tok)
	}
	return s, nil
}

// WithEdges returns a new catalog in which sites (normally from
// LoadEdgesFile) join the built-in CloudFront POPs. Any edges set by an
// earlier WithEdges are replaced, because an edges file describes the whole
// fleet. A site whose code equals a built-in POP id overrides that POP. The
// receiver is not modified.
func (c *Catalog) WithEdges(sites []Site) (*Catalog, error) {
	n := *c // the built-in maps are never written to, so sharing them is safe
	n.edges = make([]Site, 0, len(sites))
	n.edgeIndex = make(map[string]int, len(sites))
	firstAt := map[string]int{}
	for i, s := range sites {
		if strings.TrimSpace(s.Code) == "" {
			return nil, fmt.Errorf("edge site %d: empty code", i)
		}
		key := strings.ToUpper(s.Code)
		if j, dup := firstAt[key]; dup {
			return nil, fmt.Errorf("edge site %d: duplicate code %q (same as site %d, %q)", i, s.Code, j, sites[j].Code)
		}
		firstAt[key] = i
		s.FromFile = true
		s.IATA = ""
		// Key matching relies on these spellings; ParseEdges already
		// produces them, but hand-built sites may not.
		s.Country = strings.ToUpper(s.Country)
		s.Region = strings.ToLower(s.Region)
		s.Addresses = slices.Clone(s.Addresses) // the caller keeps its slice; ours must not change under us
		if s.PurgeMethod == "" {
			s.PurgeMethod = defaultPurgeMethod
		}
		if s.CountryName == "" {
			s.CountryName = c.countryNames[s.Country]
		}
		n.edges = append(n.edges, s)
	}
	slices.SortFunc(n.edges, func(a, b Site) int { return naturalCompare(a.Code, b.Code) })
	for i, s := range n.edges {
		n.edgeIndex[strings.ToUpper(s.Code)] = i
	}
	return &n, nil
}

// HasEdges reports whether the catalog holds edges-file sites.
func (c *Catalog) HasEdges() bool { return len(c.edges) > 0 }

// Lookup finds a site by its exact code, ignoring case. Edges-file sites win
// over built-in POPs with the same code.
func (c *Catalog) Lookup(code string) (Site, bool) {
	key := strings.ToUpper(code)
	if i, ok := c.edgeIndex[key]; ok {
		return cloneSite(c.edges[i]), true
	}
	if s, ok := c.pops[key]; ok {
		return s, true
	}
	return Site{}, false
}

// Describe returns what the catalog knows about code. A well-formed CloudFront
// id that is not in the catalog (POPs come and go faster than the data is
// refreshed) still gets the city, country and continent of its airport prefix
// when that airport is known; otherwise only Code is set.
func (c *Catalog) Describe(code string) Site {
	if s, ok := c.Lookup(code); ok {
		return s
	}
	if !ValidCloudFrontCode(code) {
		return Site{Code: code}
	}
	code = strings.ToUpper(code)
	if a, ok := c.airports[code[:3]]; ok {
		return a.site(code)
	}
	return Site{Code: code}
}

// Sites returns every site: edges-file sites first, then the built-in POPs,
// each group in natural code order (SIN2-P1 before SIN52-C2). A built-in POP
// overridden by an edges-file site appears only once, as the file's site.
func (c *Catalog) Sites() []Site {
	out := make([]Site, 0, len(c.edges)+len(c.popOrder))
	for _, s := range c.edges {
		out = append(out, cloneSite(s))
	}
	for _, code := range c.popOrder {
		if _, overridden := c.edgeIndex[code]; !overridden {
			out = append(out, c.pops[code])
		}
	}
	return out
}

func cloneSite(s Site) Site {
	s.Addresses = slices.Clone(s.Addresses)
	return s
}

// ValidCloudFrontCode reports whether code has the shape of a CloudFront POP
// id, <IATA><n>-<letter><n> such as SIN2-P1, in any case.
func ValidCloudFrontCode(code string) bool {
	if len(code) < 7 || !isLetters(code[:3]) {
		return false
	}
	rest := code[3:]
	dash := strings.IndexByte(rest, '-')
	if dash < 1 || !isDigits(rest[:dash]) {
		return false
	}
	suffix := rest[dash+1:]
	return len(suffix) >= 2 && isLetters(suffix[:1]) && isDigits(suffix[1:])
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i] | 0x20; b < 'a' || b > 'z' {
			return false
		}
	}
	return s != ""
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isUpperLetters(s string, n int) bool {
	return len(s) == n && isLetters(s) && s == strings.ToUpper(s)
}

const (
	targetPop     = "pop"
	targetRegion  = "region"
	targetCountry = "country"
)

func isContinent(s string) bool {
	switch s {
	case "north-america", "south-america", "europe", "middle-east", "africa", "asia", "oceania":
		return true
	}
	return false
}

// continentKey maps a user's spelling of a continent ("North America",
// "north_america") to the catalog's name, or "" if key is no continent.
func continentKey(key string) string {
	k := strings.Join(strings.Fields(strings.ReplaceAll(strings.ToLower(key), "_", " ")), "-")
	if isContinent(k) {
		return k
	}
	return ""
}

// normalizeName folds a country name so that "South Korea", "south_korea"
// and "SOUTH  KOREA" compare equal.
func normalizeName(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.ToLower(s), "_", " ")), " ")
}

// match is what one region or country key denotes, in both worlds: the
// edges-file sites it selects and the built-in POPs it selects. Select picks
// one of the two (edges first); Filter uses both.
type match struct {
	edges    []Site
	codes    []string // built-in POP codes
	explicit bool     // whether codes come from a list (true) or an expansion (false)
	known    bool     // the key means something to the built-in catalog
	iso      string   // country keys: the ISO code the key denotes, for messages
}

func (m match) ok() bool { return m.known || len(m.edges) > 0 }

func (c *Catalog) resolveRegion(key string) match {
	var m match
	lower := strings.ToLower(key)
	cont := continentKey(key)
	switch {
	case lower == "all":
		m = match{edges: c.edges, codes: c.regions.all, explicit: true, known: true}
		return m
	case c.regions.lists[lower] != nil:
		m = match{codes: c.regions.lists[lower], explicit: true, known: true}
	case cont != "":
		m = match{codes: c.popsWhere(func(s Site) bool { return s.Region == cont }), known: true}
	}
	for _, e := range c.edges {
		if e.Region == lower || (cont != "" && (e.Region == cont || c.countryContinent[e.Country] == cont)) {
			m.edges = append(m.edges, e)
		}
	}
	return m
}

func (c *Catalog) resolveCountry(key string) match {
	var m match
	if strings.EqualFold(key, "all") {
		return match{edges: c.edges, codes: c.countries.all, explicit: true, known: true}
	}
	iso := ""
	switch {
	case c.countries.lists[key] != nil:
		// The original product's keys are matched exactly, as its dict
		// lookup did: "japan" keeps the original's two POPs, while "Japan"
		// or "JP" mean every POP in Japan.
		m = match{codes: c.countries.lists[key], explicit: true, known: true}
		iso = c.countryISO[normalizeName(key)]
	case len(key) == 2 && isLetters(key):
		iso = strings.ToUpper(key)
	default:
		iso = c.countryISO[normalizeName(key)]
	}
	m.iso = iso
	if iso == "" {
		return m
	}
	if !m.known {
		if _, ok := c.countryNames[iso]; ok {
			m.known = true
			m.codes = c.popsWhere(func(s Site) bool { return s.Country == iso })
		}
	}
	for _, e := range c.edges {
		if e.Country == iso {
			m.edges = append(m.edges, e)
		}
	}
	return m
}

// popsWhere lists built-in POPs in natural order. POPs overridden by an
// edges-file site are left out: that code now names the operator's site,
// whose location the built-in data does not describe.
func (c *Catalog) popsWhere(keep func(Site) bool) []string {
	var out []string
	for _, code := range c.popOrder {
		if _, overridden := c.edgeIndex[code]; !overridden && keep(c.pops[code]) {
			out = append(out, code)
		}
	}
	return out
}

// canonical returns the spelling a target should carry: the edges file's
// when it overrides the code, else the code itself.
func (c *Catalog) canonical(code string) string {
	if i, ok := c.edgeIndex[strings.ToUpper(code)]; ok {
		return c.edges[i].Code
	}
	return code
}

// targetList accumulates targets in order, merging repeats.
type targetList struct {
	out []Target
	at  map[string]int // upper-cased code → index in out
}

func (l *targetList) add(code string, explicit bool) {
	if l.at == nil {
		l.at = map[string]int{}
	}
	key := strings.ToUpper(code)
	if i, ok := l.at[key]; ok {
		l.out[i].Explicit = l.out[i].Explicit || explicit
		return
	}
	l.at[key] = len(l.out)
	l.out = append(l.out, Target{Code: code, Explicit: explicit})
}

func parseTargetType(targetType string) (kind, field string, err error) {
	switch strings.ToLower(strings.TrimSpace(targetType)) {
	case "", targetPop:
		return targetPop, "pops", nil
	case targetRegion:
		return targetRegion, "regions", nil
	case targetCountry:
		return targetCountry, "countries", nil
	}
	return "", "", &KeyError{
		Field:  "target_type",
		Key:    targetType,
		Reason: fmt.Sprintf("unknown target type %q (use pop, region or country)", targetType),
	}
}

// Select turns a job's target type ("pop", "region" or "country"; "" means
// "pop") and keys into the sites to warm, in key order then list order,
// without repeats. A bad key or type yields a *KeyError.
//
// When the catalog has edges-file sites, a region or country key that
// matches any of them selects only those sites: an operator with an edges
// file is warming their own fleet, and silently adding CloudFront POPs
// would send traffic somewhere they did not intend.
func (c *Catalog) Select(targetType string, keys []string) ([]Target, error) {
	kind, field, err := parseTargetType(targetType)
	if err != nil {
		return nil, err
	}
	var l targetList
	if len(keys) == 0 {
		c.addDefaults(&l, kind)
		return c.markEdges(l.out), nil
	}
	for i, raw := range keys {
		key := strings.TrimSpace(raw)
		if key == "" {
			return nil, &KeyError{Field: field, Key: raw, Reason: fmt.Sprintf("empty %s key at position %d", kind, i)}
		}
		var m match
		switch kind {
		case targetPop:
			code, err := c.resolvePop(key)
			if err != nil {
				return nil, err
			}
			l.add(code, true)
			continue
		case targetRegion:
			if m = c.resolveRegion(key); !m.ok() {
				return nil, c.unknownRegion(key)
			}
		case targetCountry:
			if m = c.resolveCountry(key); !m.ok() {
				return nil, c.unknownCountry(key)
			}
		}
		if len(m.edges) > 0 {
			for _, e := range m.edges {
				l.add(e.Code, true)
			}
			continue
		}
		if len(m.codes) == 0 {
			// A real country whose airports have no known POP id (Doha,
			// say): selecting nothing would look like success, so say so.
			reason := fmt.Sprintf("no CloudFront POP id is known for %q", key)
			if name := c.countryNames[m.iso]; name != "" {
				reason = fmt.Sprintf("no CloudFront POP id is known in %q (%s)", key, name)
			}
			return nil, &KeyError{Field: field, Key: raw, Reason: reason}
		}
		for _, code := range m.codes {
			l.add(c.canonical(code), m.explicit)
		}
	}
	return c.markEdges(l.out), nil
}

// markEdges flags the targets that are edges of the edges file: they need
// no CloudFront domain.
func (c *Catalog) markEdges(targets []Target) []Target {
	for i := range targets {
		if site, ok := c.Lookup(targets[i].Code); ok && site.FromFile {
			targets[i].Edge = true
		}
	}
	return targets
}

// addDefaults reproduces the original product's behaviour for an empty key
// list (its "all" lists), unless an edges file says which fleet to warm.
func (c *Catalog) addDefaults(l *targetList, kind string) {
	if c.HasEdges() {
		for _, e := range c.edges {
			l.add(e.Code, true)
		}
		return
	}
	all := c.regions.all
	if kind == targetCountry {
		all = c.countries.all
	}
	for _, code := range all {
		l.add(c.canonical(code), true)
	}
}

func (c *Catalog) resolvePop(key string) (string, error) {
	if i, ok := c.edgeIndex[strings.ToUpper(key)]; ok {
		return c.edges[i].Code, nil
	}
	if ValidCloudFrontCode(key) {
		// Unknown but well-formed ids are accepted: the data lags behind
		// CloudFront, and the planner finds out whether the POP resolves.
		return strings.ToUpper(key), nil
	}
	reason := fmt.Sprintf("%q is not a CloudFront POP id (such as SIN2-P1)", key)
	if c.HasEdges() {
		reason = fmt.Sprintf("%q is not a CloudFront POP id (such as SIN2-P1) or a code of the edges file", key)
	}
	return "", &KeyError{Field: "pops", Key: key, Reason: reason}
}

func (c *Catalog) unknownRegion(key string) *KeyError {
	return &KeyError{Field: "regions", Key: key, Reason: fmt.Sprintf(
		"unknown region %q (use %s, all, a continent such as europe, or a region of the edges file)",
		key, strings.Join(c.regions.keys, ", "))}
}

func (c *Catalog) unknownCountry(key string) *KeyError {
	return &KeyError{Field: "countries", Key: key, Reason: fmt.Sprintf(
		"unknown country %q (use %s, all, an ISO 3166 alpha-2 code such as JP, an English country name such as \"South Korea\", or a country of the edges file)",
		key, strings.Join(c.countries.keys, ", "))}
}

// Filter lists the sites matching a region key and a country key (either
// may be "", both "" lists every site), with the same key grammar as Select.
// Unlike Select it does not prefer edges-file sites: it answers "what is
// there", so it shows every site a key denotes. The result is in Sites order.
func (c *Catalog) Filter(region, country string) ([]Site, error) {
	var sets []map[string]bool
	if key := strings.TrimSpace(region); key != "" {
		m := c.resolveRegion(key)
		if !m.ok() {
			return nil, c.unknownRegion(key)
		}
		sets = append(sets, m.codeSet())
	}
	if key := strings.TrimSpace(country); key != "" {
		m := c.resolveCountry(key)
		if !m.ok() {
			return nil, c.unknownCountry(key)
		}
		sets = append(sets, m.codeSet())
	}
	var out []Site
	for _, s := range c.Sites() {
		key := strings.ToUpper(s.Code)
		if !slices.ContainsFunc(sets, func(set map[string]bool) bool { return !set[key] }) {
			out = append(out, s)
		}
	}
	return out, nil
}

// codeSet is what a job given the key targets, by Select's rule: the
// edges-file sites when the key selects any, else the built-in POPs.
func (m match) codeSet() map[string]bool {
	set := make(map[string]bool, len(m.edges)+len(m.codes))
	for _, e := range m.edges {
		set[strings.ToUpper(e.Code)] = true
	}
	if len(m.edges) > 0 {
		return set
	}
	for _, code := range m.codes {
		set[strings.ToUpper(code)] = true
	}
	return set
}

// naturalCompare orders codes the way people read them: digit runs compare
// by value (SEA4 before SEA19) and letters ignore case. Ties fall back to
// the raw strings so the order is total and sorting is deterministic.
func naturalCompare(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if isDigitByte(a[i]) && isDigitByte(b[j]) {
			si, sj := i, j
			for i < len(a) && isDigitByte(a[i]) {
				i++
			}
			for j < len(b) && isDigitByte(b[j]) {
				j++
			}
			if r := compareNumbers(a[si:i], b[sj:j]); r != 0 {
				return r
			}
			continue
		}
		if r := cmp.Compare(lowerByte(a[i]), lowerByte(b[j])); r != 0 {
			return r
		}
		i++
		j++
	}
	if r := cmp.Compare(len(a)-i, len(b)-j); r != 0 {
		return r
	}
	return strings.Compare(a, b)
}

// compareNumbers compares digit strings by value without parsing them, so
// arbitrarily long runs cannot overflow.
func compareNumbers(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if r := cmp.Compare(len(a), len(b)); r != 0 {
		return r
	}
	return strings.Compare(a, b)
}

func isDigitByte(b byte) bool { return b >= '0' && b <= '9' }

func lowerByte(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
