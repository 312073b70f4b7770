package expand

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

// Kinds of input that can be expanded.
const (
	HLS     = "hls"
	DASH    = "dash"
	Sitemap = "sitemap"
)

// Bounds on the work one expansion may do, whatever its documents say.
const (
	// MaxDocumentSize is the largest document body read, before and after
	// gunzip; a gzip bomb stops here.
	MaxDocumentSize = 16 << 20
	// MaxDocuments is the most documents fetched by one expansion.
	MaxDocuments = 10_000
	// MaxDepth is how deep nested documents are followed; the given URLs
	// are depth 1. HLS needs 2 (master, media); sitemap indexes that list
	// indexes need 3. Documents found deeper are listed but not read.
	MaxDepth = 3
)

// sniffSize is how much of a body is looked at to tell what it is: a root
// element or #EXTM3U comes first, and a large non-document (a gzipped
// archive) must not be unpacked whole just to find out it is not one.
const sniffSize = 64 << 10

// ErrLiveDASH is returned (wrapped) for a dynamic MPD with no bounded
// duration: its segments keep changing, so no list of them is complete.
var ErrLiveDASH = errors.New("live DASH manifests cannot be expanded")

// ValidKind reports whether k is a kind Expand understands.
func ValidKind(k string) bool {
	return k == HLS || k == DASH || k == Sitemap
}

// Getter fetches one document and returns its body (the caller bounds size
// and time; it goes through a CDN edge). It returns an error for a non-2xx
// status or a network failure. Expand calls it from one goroutine at a time.
type Getter func(ctx context.Context, url string) ([]byte, error)

// LimitError says the expanded list would hold more than Limit URLs. The job
// fails with it rather than warming a list cut at an arbitrary point.
type LimitError struct {
	Limit int
	// Source is the document being read when the limit was passed; empty
	// when the given URLs alone pass it.
	Source string
}

func (e *LimitError) Error() string {
	if e.Source == "" {
		return fmt.Sprintf("the URL list passes the limit of %d URLs per job", e.Limit)
	}
	return fmt.Sprintf("expanding %s passes the limit of %d URLs per job", e.Source, e.Limit)
}

// Expand returns the full URL list: the given URLs first (order kept), then
// every document fetched and every URL discovered, de-duplicated, in
// discovery order (breadth-first).
//
// Each given URL is expanded by the kinds requested: it is HLS if kinds has
// "hls" and it ends in .m3u8 (before any query) or its body starts with
// #EXTM3U; DASH if "dash" and it ends in .mpd or its body's root element is
// MPD; a sitemap if "sitemap" and its body (gunzipped if it is gzip) has the
// root urlset or sitemapindex. A given URL that matches no requested kind is
// kept as is. To tell, a given URL is fetched unless its extension already
// says: .m3u8 and .mpd of a kind not requested, and media and static files
// (.ts, .mp4, .jpg, .js, …), are never read.
//
// Relative references resolve against the document's URL; only http(s) URLs
// are kept. limit is the most URLs the result may hold: past it Expand
// returns a *LimitError and no list. Any other failure names the document.
func Expand(ctx context.Context, kinds []string, urls []string, get Getter, limit int) ([]string, error) {
	return ExpandChanged(ctx, kinds, urls, get, limit, time.Time{})
}

// ExpandChanged is Expand keeping, of the URLs sitemaps list, only those
// changed after since: an entry whose <lastmod> is not after it is left
// out, and a child sitemap whose <lastmod> is not after it is not read (it
// lists nothing newer). Entries without a lastmod are kept: nothing says
// they did not change. A zero since keeps everything.
func ExpandChanged(ctx context.Context, kinds []string, urls []string, get Getter, limit int, since time.Time) ([]string, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("expand: the URL limit must be positive, not %d", limit)
	}
	e := &expander{
		get:    get,
		limit:  limit,
		since:  since,
		kinds:  map[string]bool{},
		listed: map[string]bool{},
		queued: map[string]bool{},
	}
	for _, k := range kinds {
		if !ValidKind(k) {
			return nil, fmt.Errorf("expand: %q is not one of hls, dash, sitemap", k)
		}
		e.kinds[k] = true
	}
	for _, u := range urls {
		if err := e.list(u, ""); err != nil {
			return nil, err
		}
	}
	if len(e.kinds) == 0 {
		return e.out, nil
	}
	for _, u := range urls {
		e.enqueue(&document{url: u, depth: 1})
	}
	for len(e.queue) > 0 {
		d := e.queue[0]
		e.queue[0] = nil
		e.queue = e.queue[1:]
		if err := e.read(ctx, d); err != nil {
			return nil, err
		}
	}
	return e.out, nil
}

// document is a URL to read.
type document struct {
	url    string
	kind   string // HLS, DASH, Sitemap; "" for a given URL not yet told
	depth  int
	parent string // the document that listed it; "" for a given URL
}

// name is the document's URL with where it came from, for errors: a
// segment playlist's URL alone does not tell the user which master to fix.
func (d *document) name() string {
	if d.parent == "" {
		return d.url
	}
	return d.url + " (listed in " + d.parent + ")"
}

type expander struct {
	get     Getter
	limit   int
	since   time.Time // sitemap entries not changed after it are left out
	kinds   map[string]bool
	out     []string
	listed  map[string]bool // in out
	queued  map[string]bool // read or to be read
	queue   []*document
	fetches int
}

// list appends u to the result unless it is there already.
func (e *expander) list(u, source string) error {
	if e.listed[u] {
		return nil
	}
	if len(e.out) >= e.limit {
		return &LimitError{Limit: e.limit, Source: source}
	}
	e.listed[u] = true
	e.out = append(e.out, u)
	return nil
}

func (e *expander) enqueue(d *document) {
	if e.queued[d.url] {
		return
	}
	e.queued[d.url] = true
	e.queue = append(e.queue, d)
}

// found takes a URL discovered in d. childKind is the kind of document it
// is when it must be read in turn (a media playlist, a sitemap), or "".
func (e *expander) found(d *document, u *url.URL, childKind string) error {
	if !isHTTP(u) {
		return nil
	}
	if u.Fragment != "" || u.RawFragment != "" {
		// Never sent to the server: without it, it is the same object.
		c := *u
		c.Fragment, c.RawFragment = "", ""
		u = &c
	}
	s := u.String()
	if err := e.list(s, d.url); err != nil {
		return err
	}
	if childKind != "" && d.depth < MaxDepth {
		e.enqueue(&document{url: s, kind: childKind, depth: d.depth + 1, parent: d.url})
	}
	return nil
}

// read fetches one document and takes what it lists.
func (e *expander) read(ctx context.Context, d *document) error {
	base, err := url.Parse(d.url)
	if err != nil {
		return fmt.Errorf("reading %s: %w", d.name(), err)
	}
	kind := d.kind
	if kind == "" {
		var skip bool
		if kind, skip = e.byExtension(base); skip {
			return nil
		}
	}
	if e.fetches >= MaxDocuments {
		return fmt.Errorf("fetching %s: more than %d documents to read", d.name(), MaxDocuments)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fetching %s: %w", d.name(), err)
	}
	e.fetches++
	body, err := e.get(ctx, d.url)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", d.name(), err)
	}
	if kind == "" {
		if kind = e.sniff(body); kind == "" {
			return nil // not a document of a requested kind: it is only warmed
		}
	}
	data, err := decode(body)
	if err != nil {
		return fmt.Errorf("reading %s: %w", d.name(), err)
	}
	switch kind {
	case HLS:
		err = parseHLS(base, data, func(u *url.URL, child bool) error {
			if child {
				return e.found(d, u, HLS)
			}
			return e.found(d, u, "")
		})
	case DASH:
		err = parseDASH(ctx, base, data, e.limit, func(u *url.URL) error {
			return e.found(d, u, "")
		})
	case Sitemap:
		err = parseSitemap(base, data, func(u *url.URL, child bool, lastmod time.Time) error {
			if !e.since.IsZero() && !lastmod.IsZero() && !lastmod.After(e.since) {
				return nil // unchanged since
			}
			if child {
				return e.found(d, u, Sitemap)
			}
			return e.found(d, u, "")
		})
	}
	var lim *LimitError
	if errors.As(err, &lim) {
		lim.Source = d.url
		return lim
	}
	if err != nil {
		return fmt.Errorf("reading %s as %s: %w", d.name(), kindName(kind), err)
	}
	return nil
}

func kindName(kind string) string {
	switch kind {
	case HLS:
		return "an HLS playlist"
	case DASH:
		return "a DASH manifest"
	default:
		return "a sitemap"
	}
}

// byExtension tells a given URL's kind from its path when it can. skip
// means it is surely not a document of a requested kind and is not fetched:
// fetching a video file just to look at it would cost the whole file.
func (e *expander) byExtension(u *url.URL) (kind string, skip bool) {
	ext := strings.ToLower(path.Ext(u.Path))
	switch {
	case ext == ".m3u8":
		return HLS, !e.kinds[HLS]
	case ext == ".mpd":
		return DASH, !e.kinds[DASH]
	case isLeafExt(ext):
		return "", true
	}
	return "", false
}

// isLeafExt: extensions of media segments and static files, which are never
// playlists, manifests or sitemaps. Sitemaps may be .xml, .gz, .txt or have
// no extension at all, so those are read.
func isLeafExt(ext string) bool {
	switch ext {
	case ".ts", ".m4s", ".mp4", ".m4a", ".m4v", ".cmfv", ".cmfa", ".cmft", ".aac", ".ac3", ".ec3",
		".mp3", ".webm", ".mkv", ".mov", ".vtt", ".webvtt", ".srt",
		".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg", ".ico", ".bmp",
		".css", ".js", ".mjs", ".map", ".wasm", ".json", ".woff", ".woff2", ".ttf", ".otf", ".eot",
		".zip", ".tar", ".tgz", ".7z", ".rar", ".exe", ".msi", ".dmg", ".pkg", ".deb", ".rpm",
		".apk", ".ipa", ".iso", ".img", ".bin", ".pdf":
		return true
	}
	return false
}

// sniff tells a fetched given URL's kind from the start of its body, among
// the kinds requested; "" when it is none of them.
func (e *expander) sniff(body []byte) string {
	head := body
	if isGzip(body) {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return ""
		}
		// A truncated read is fine: only the start matters.
		head, _ = io.ReadAll(io.LimitReader(zr, sniffSize))
	} else if len(head) > sniffSize {
		head = head[:sniffSize]
	}
	head = bytes.TrimLeft(trimBOM(head), " \t\r\n")
	if bytes.HasPrefix(head, []byte("#EXTM3U")) {
		if e.kinds[HLS] {
			return HLS
		}
		return ""
	}
	switch rootElement(head) {
	case "MPD":
		if e.kinds[DASH] {
			return DASH
		}
	case "urlset", "sitemapindex":
		if e.kinds[Sitemap] {
			return Sitemap
		}
	}
	return ""
}

// rootElement is the local name of the first element of an XML document,
// or "" when data does not start like XML.
func rootElement(data []byte) string {
	dec := newXMLDecoder(data)
	for {
		tok, err := dec.RawToken()
		if err != nil {
			return ""
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t.Name.Local
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return ""
			}
		}
	}
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }

// decode returns a document's bytes, gunzipped when they are gzip (by magic
// bytes: sitemap.xml.gz is often served without Content-Encoding, and a
// .xml may be gzip too), both bounded by MaxDocumentSize.
func decode(body []byte) ([]byte, error) {
	if len(body) > MaxDocumentSize {
		return nil, fmt.Errorf("the document is larger than %d MiB", MaxDocumentSize>>20)
	}
	if !isGzip(body) {
		return body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("the document is larger than %d MiB once gunzipped", MaxDocumentSize>>20)
	}
	return data, nil
}

// resolve makes ref absolute against base. ok is false for references that
// are not http(s) (skd://, data:, …), which are skipped, not errors: they
// are not on the CDN. Only an http(s) reference that does not parse is an
// error.
func resolve(base *url.URL, ref string) (u *url.URL, ok bool, err error) {
	if s := scheme(ref); s != "" && !strings.EqualFold(s, "http") && !strings.EqualFold(s, "https") {
		return nil, false, nil
	}
	u, err = base.Parse(ref)
	if err != nil {
		return nil, false, err
	}
	// Resolving can make what no parser reads back: "//::" against any
	// base is the host "::", whose colons read as an empty port. The URL
	// is what warms, so it must parse as the fetch will parse it.
	if _, err := url.Parse(u.String()); err != nil {
		return nil, false, err
	}
	return u, isHTTP(u), nil
}

// scheme is ref's scheme, "" when it has none.
func scheme(ref string) string {
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return ""
			}
		case c == ':':
			return ref[:i]
		default:
			return ""
		}
	}
	return ""
}

func isHTTP(u *url.URL) bool {
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Opaque == ""
}

// newXMLDecoder decodes UTF-8 and the two single-byte encodings still met
// in the wild (US-ASCII, ISO-8859-1), which encoding/xml refuses by default.
func newXMLDecoder(data []byte) *xml.Decoder {
	dec := xml.NewDecoder(bytes.NewReader(trimBOM(data)))
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "us-ascii", "ascii", "utf8":
			return r, nil
		case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
			raw, err := io.ReadAll(r)
			if err != nil {
				return nil, err
			}
			out := make([]byte, 0, len(raw)+len(raw)/8)
			for _, b := range raw {
				out = utf8.AppendRune(out, rune(b))
			}
			return bytes.NewReader(out), nil
		}
		return nil, fmt.Errorf("unsupported XML encoding %q", label)
	}
	return dec
}
