package minicdn

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBodySize is the body size of an origin response without ?size=.
const DefaultBodySize = 1024

// patternLen is the period of the generated bodies. Bodies are slices of one
// shared read-only table so that a multi-GiB response costs no allocation.
const patternLen = 64 << 10

// bodyPattern is filled once at init; it is twice patternLen long so any
// window of up to patternLen bytes starting anywhere in the first half is
// contiguous, which keeps the write loop a plain slice.
var bodyPattern = func() []byte {
	b := make([]byte, 2*patternLen)
	// xorshift: deterministic across runs and platforms, and not compressible
	// to nothing, so a cache that compresses would still move real bytes.
	x := uint32(2463534242)
	for i := range b[:patternLen] {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	copy(b[patternLen:], b[:patternLen])
	return b
}()

// lastModified is fixed so that repeated runs produce identical headers.
var lastModified = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Origin is the web server behind every POP. It is a plain Go server (not
// httptest) so the benchmark command can run it outside tests.
type Origin struct {
	// Addr is "127.0.0.1:PORT".
	Addr string
	// URL is "http://127.0.0.1:PORT".
	URL string

	srv    *http.Server
	ln     net.Listener
	custom *http.ServeMux
	served chan struct{}

	mu       sync.Mutex
	counts   map[string]*reqCount // key: path?query as sent by the client
	arrivals []time.Time
	throttle throttle
	total    atomic.Int64
	inFlight atomic.Int64
	peak     atomic.Int64
}

// throttle is a window during which every request gets 429.
type throttle struct {
	until      time.Time
	retryAfter string
}

type reqCount struct {
	all, gets, heads int
}

// StartOrigin starts an origin on 127.0.0.1 at a free port.
func StartOrigin() (*Origin, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("origin listen: %w", err)
	}
	o := &Origin{
		Addr:   ln.Addr().String(),
		URL:    "http://" + ln.Addr().String(),
		ln:     ln,
		custom: http.NewServeMux(),
		served: make(chan struct{}),
		counts: make(map[string]*reqCount),
	}
	o.srv = &http.Server{
		Handler:           o,
		ReadHeaderTimeout: 30 * time.Second,
		// Caches keep idle upstream connections for reuse; a generous idle
		// timeout avoids the race where the origin closes a connection the
		// cache has just picked to send on.
		IdleTimeout: 5 * time.Minute,
	}
	go func() {
		defer close(o.served)
		_ = o.srv.Serve(ln)
	}()
	return o, nil
}

// Close stops the origin, cutting off any in-flight (e.g. /slow/) requests.
func (o *Origin) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := o.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = o.srv.Close()
	}
	<-o.served
	if err != nil {
		return fmt.Errorf("origin close: %w", err)
	}
	return nil
}

// Handle adds a custom route (http.ServeMux pattern syntax). Custom routes win
// over the built-in behaviour and are counted like every other request. It is
// safe to call while the origin is serving.
func (o *Origin) Handle(pattern string, h http.Handler) {
	o.custom.Handle(pattern, h)
}

// HandleFunc is Handle for a function.
func (o *Origin) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	o.custom.HandleFunc(pattern, h)
}

// Requests is how many requests of any method arrived for pathAndQuery (e.g.
// "/a.bin?size=10", exactly as the cache sent it).
func (o *Origin) Requests(pathAndQuery string) int { return o.countOf(pathAndQuery).all }

// Gets is how many GET requests arrived for pathAndQuery.
func (o *Origin) Gets(pathAndQuery string) int { return o.countOf(pathAndQuery).gets }

// Heads is how many HEAD requests arrived for pathAndQuery. Note that nginx
// turns a HEAD miss into a GET (proxy_cache_convert_head), so through an
// nginx POP this usually stays 0.
func (o *Origin) Heads(pathAndQuery string) int { return o.countOf(pathAndQuery).heads }

// countOf is a copy of the counts for pathAndQuery (zero when none came).
func (o *Origin) countOf(pathAndQuery string) reqCount {
	o.mu.Lock()
	defer o.mu.Unlock()
	if c := o.counts[pathAndQuery]; c != nil {
		return *c
	}
	return reqCount{}
}

// PathRequests is how many requests of any method arrived for path, whatever
// their query string.
func (o *Origin) PathRequests(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for k, c := range o.counts {
		if p, _, _ := strings.Cut(k, "?"); p == path {
			n += c.all
		}
	}
	return n
}

// Total is how many requests arrived in all.
func (o *Origin) Total() int { return int(o.total.Load()) }

// InFlight is how many requests are being answered now.
func (o *Origin) InFlight() int { return int(o.inFlight.Load()) }

// PeakInFlight is the most requests ever answered at once (since Reset).
func (o *Origin) PeakInFlight() int { return int(o.peak.Load()) }

// Arrivals are the times every request arrived, in order.
func (o *Origin) Arrivals() []time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]time.Time(nil), o.arrivals...)
}

// Throttle answers every request with 429 Too Many Requests (not
// cacheable) for d from now, with the given Retry-After header value
// (none when empty): an origin, or a CDN's rate limit, pushing back.
func (o *Origin) Throttle(d time.Duration, retryAfter string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.throttle = throttle{until: time.Now().Add(d), retryAfter: retryAfter}
}

// Reset zeroes all counters.
func (o *Origin) Reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.counts = make(map[string]*reqCount)
	o.arrivals = nil
	o.total.Store(0)
	o.peak.Store(o.inFlight.Load())
}

// count records the request's arrival and reports whether it falls in a
// throttle window, with that window's Retry-After.
func (o *Origin) count(r *http.Request) (throttled bool, retryAfter string) {
	key := r.URL.RequestURI()
	now := time.Now()
	o.mu.Lock()
	o.arrivals = append(o.arrivals, now)
	if now.Before(o.throttle.until) {
		throttled, retryAfter = true, o.throttle.retryAfter
	}
	c := o.counts[key]
	if c == nil {
		c = &reqCount{}
		o.counts[key] = c
	}
	c.all++
	switch r.Method {
	case http.MethodGet:
		c.gets++
	case http.MethodHead:
		c.heads++
	}
	o.mu.Unlock()
	o.total.Add(1)
	return throttled, retryAfter
}

// ServeHTTP counts the request on arrival (so collapsed or slow requests are
// visible while still in flight), then dispatches to a custom route or the
// built-in behaviour.
func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := o.inFlight.Add(1)
	defer o.inFlight.Add(-1)
	for p := o.peak.Load(); n > p && !o.peak.CompareAndSwap(p, n); p = o.peak.Load() {
	}
	if throttled, retryAfter := o.count(r); throttled {
		w.Header().Set("Cache-Control", "no-store")
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, "too many requests", http.StatusTooManyRequests)
		return
	}
	if h, pattern := o.custom.Handler(r); pattern != "" {
		h.ServeHTTP(w, r)
		return
	}
	serveDefault(w, r)
}

// behaviour is what the leading path segments asked for. Segments stack, so
// /slow/nostore/x is both slow and uncacheable.
type behaviour struct {
	status       int
	cacheControl string
	cookie       bool
	varyEncoding bool
	varyLang     bool
	slow         bool
}

func parseBehaviour(path string) (behaviour, error) {
	b := behaviour{status: http.StatusOK, cacheControl: "public, max-age=3600"}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i := 0; i < len(segs); i++ {
		switch segs[i] {
		case "status":
			if i+1 >= len(segs) {
				return b, errors.New("/status/ needs a code")
			}
			code, err := strconv.Atoi(segs[i+1])
			if err != nil || code < 200 || code > 599 {
				return b, fmt.Errorf("bad status code %q", segs[i+1])
			}
			b.status = code
			i++
		case "maxage":
			if i+1 >= len(segs) {
				return b, errors.New("/maxage/ needs seconds")
			}
			secs, err := strconv.Atoi(segs[i+1])
			if err != nil || secs < 0 {
				return b, fmt.Errorf("bad max-age %q", segs[i+1])
			}
			b.cacheControl = fmt.Sprintf("public, max-age=%d", secs)
			i++
		case "nostore":
			b.cacheControl = "no-store"
		case "private":
			b.cacheControl = "private"
		case "cookie":
			b.cookie = true
		case "vary-encoding":
			b.varyEncoding = true
		case "vary-lang":
			b.varyLang = true
		case "slow":
			b.slow = true
		default:
			return b, nil
		}
	}
	return b, nil
}

// parseSize reads ?size=: plain bytes, or with a binary suffix k/m/g (KiB,
// MiB, GiB also accepted) because benchmarks ask for large objects.
func parseSize(s string) (int64, error) {
	if s == "" {
		return DefaultBodySize, nil
	}
	ls := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}} {
		if strings.HasSuffix(ls, suf.s) {
			ls, mult = strings.TrimSuffix(ls, suf.s), suf.m
			break
		}
	}
	n, err := strconv.ParseInt(ls, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// pickEncoding chooses the Content-Encoding for /vary-encoding/: br if it
// was asked for, else gzip, else identity (""). The gzip variant is really
// gzip (see serveGzip); the br one is only labelled br (the standard
// library has no brotli), so its bytes are the uncompressed pattern of a
// distinct variant.
func pickEncoding(acceptEncoding string) string {
	var br, gz bool
	for _, part := range strings.Split(acceptEncoding, ",") {
		tok, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.ReplaceAll(strings.TrimSpace(params), " ", "") == "q=0" {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(tok)) {
		case "br":
			br = true
		case "gzip", "x-gzip":
			gz = true
		}
	}
	switch {
	case br:
		return "br"
	case gz:
		return "gzip"
	}
	return ""
}

// firstLanguage is the first tag of Accept-Language, or "en".
func firstLanguage(acceptLanguage string) string {
	tok, _, _ := strings.Cut(acceptLanguage, ",")
	tok, _, _ = strings.Cut(tok, ";")
	if tok = strings.TrimSpace(tok); tok == "" || tok == "*" {
		return "en"
	}
	return tok
}

func serveDefault(w http.ResponseWriter, r *http.Request) {
	b, err := parseBehaviour(r.URL.Path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	if b.slow && !waitDelay(w, r, q.Get("delay")) {
		return
	}
	size, err := parseSize(q.Get("size"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	variant, enc := setVariantHeaders(w.Header(), r, b)
	if b.status != http.StatusOK {
		serveStatus(w, r, b.status)
		return
	}
	h := w.Header()
	hsh := fnv.New64a()
	_, _ = io.WriteString(hsh, r.URL.Path+"|"+variant)
	seed := hsh.Sum64()
	etag := fmt.Sprintf(`"%x-%x"`, seed, size)
	h.Set("ETag", etag)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Accept-Ranges", "bytes")

	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == etag || inm == "*") {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if enc == "gzip" {
		serveGzip(w, r, seed, size)
		return
	}
	serveRange(w, r, seed, size)
}

// waitDelay waits the ?delay= of a slow object (1 s by default) and
// reports whether to answer: not when the delay is malformed or the
// cache or viewer gave up (an answer would only be discarded).
func waitDelay(w http.ResponseWriter, r *http.Request, d string) bool {
	delay := time.Second
	if d != "" {
		var err error
		if delay, err = time.ParseDuration(d); err != nil {
			http.Error(w, fmt.Sprintf("bad delay: %v", err), http.StatusBadRequest)
			return false
		}
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// setVariantHeaders sets the headers the behaviour asks for (Vary and its
// variant, cookies, caching) and returns the variant's key and the content
// coding chosen.
func setVariantHeaders(h http.Header, r *http.Request, b behaviour) (variant, enc string) {
	if b.varyEncoding {
		enc = pickEncoding(r.Header.Get("Accept-Encoding"))
		h.Add("Vary", "Accept-Encoding")
		if enc != "" {
			h.Set("Content-Encoding", enc)
		}
		variant += "enc=" + enc + ";"
	}
	if b.varyLang {
		lang := firstLanguage(r.Header.Get("Accept-Language"))
		h.Add("Vary", "Accept-Language")
		h.Set("Content-Language", lang)
		variant += "lang=" + lang + ";"
	}
	if b.cookie {
		h.Set("Set-Cookie", "minicdn_session="+strconv.FormatInt(time.Now().UnixNano(), 36)+"; Path=/; HttpOnly")
	}
	h.Set("Cache-Control", b.cacheControl)
	h.Set("Last-Modified", lastModified.Format(http.TimeFormat))
	return variant, enc
}

// serveRange sends the identity body, or the part a Range asks for.
func serveRange(w http.ResponseWriter, r *http.Request, seed uint64, size int64) {
	h := w.Header()
	start, length, status := int64(0), size, http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" && r.Method == http.MethodGet {
		s, l, ok, satisfiable := parseRange(rg, size)
		switch {
		case !satisfiable:
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			h.Del("Content-Type")
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		case ok:
			start, length, status = s, l, http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", s, s+l-1, size))
		}
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_ = writeBody(w, seed, start, length)
}

// serveGzip sends the gzip variant really compressed: varnish verifies
// gzip bodies it stores and gunzips them for viewers that do not accept
// gzip, so a mislabelled body would turn into a 503 there. size is the
// uncompressed size; the compressed length is not known up front, so the
// response is chunked and Range is ignored (RFC 9110 allows that).
func serveGzip(w http.ResponseWriter, r *http.Request, seed uint64, size int64) {
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return
	}
	if writeBody(zw, seed, 0, size) == nil {
		_ = zw.Close()
	}
}

// serveStatus answers /status/<code> with a short text body (none where the
// status forbids one), keeping the default caching headers so that caches
// treat error responses as a real origin's would.
func serveStatus(w http.ResponseWriter, r *http.Request, code int) {
	h := w.Header()
	if code >= 300 && code < 400 && code != http.StatusNotModified {
		loc := r.URL.Query().Get("location")
		if loc == "" {
			loc = "/"
		}
		h.Set("Location", loc)
	}
	if code == http.StatusNoContent || code == http.StatusNotModified {
		w.WriteHeader(code)
		return
	}
	body := fmt.Sprintf("status %d\n", code)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
}

// parseRange understands a single "bytes=a-b", "bytes=a-" or "bytes=-n".
// ok=false with satisfiable=true means "ignore the header, send it all"
// (RFC 9110 allows that for anything we do not support, e.g. multi-range).
func parseRange(header string, size int64) (start, length int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(header), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, true
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, true
	}
	if a == "" { // suffix range: last n bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, true
		}
		if n == 0 || size == 0 {
			return 0, 0, false, false
		}
		n = min(n, size)
		return size - n, n, true, true
	}
	s, err := strconv.ParseInt(a, 10, 64)
	if err != nil || s < 0 {
		return 0, 0, false, true
	}
	if s >= size {
		return 0, 0, false, false
	}
	e := size - 1
	if b != "" {
		if e, err = strconv.ParseInt(b, 10, 64); err != nil || e < s {
			return 0, 0, false, true
		}
		e = min(e, size-1)
	}
	return s, e - s + 1, true, true
}

// writeBody streams length bytes of the body identified by seed, starting
// at offset start, straight out of bodyPattern.
func writeBody(w io.Writer, seed uint64, start, length int64) error {
	off := (int64(seed%patternLen) + start) % patternLen
	for length > 0 {
		n := min(length, patternLen)
		if _, err := w.Write(bodyPattern[off : off+n]); err != nil {
			return fmt.Errorf("write body: %w", err)
		}
		length -= n
		off = (off + n) % patternLen
	}
	return nil
}

// ExpectedBody returns the bytes the origin sends for path (without special
// variants) at [start, start+length), so tests can check what a cache
// delivered without keeping a copy. Only for small lengths.
func ExpectedBody(path string, start, length int64) []byte {
	hsh := fnv.New64a()
	_, _ = io.WriteString(hsh, path+"|")
	var sb strings.Builder
	_ = writeBody(&sb, hsh.Sum64(), start, length)
	return []byte(sb.String())
}
