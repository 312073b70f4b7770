package expand

import (
	"net/url"
	"testing"
)

// maxFuzzBase keeps the fuzzed base URL short enough that the output
// bounds below stay meaningful.
const maxFuzzBase = 1024

// fuzzBase parses a fuzzed document URL the way Expand gets one: an
// absolute http(s) URL. ok is false for anything Expand would never read.
func fuzzBase(raw string) (*url.URL, bool) {
	if len(raw) > maxFuzzBase {
		return nil, false
	}
	u, err := url.Parse(raw)
	if err != nil || !isHTTP(u) {
		return nil, false
	}
	return u, true
}

// fuzzOutput collects what a parser emits and checks each URL as it comes.
type fuzzOutput struct {
	t *testing.T
	// httpOnly: the parser promises only http(s) URLs with a host (HLS and
	// sitemaps filter in resolve); DASH may emit other absolute URLs, which
	// Expand drops.
	httpOnly bool
	count    int
	bytes    int
	longest  int
}

func (o *fuzzOutput) take(u *url.URL) {
	o.t.Helper()
	if u == nil {
		o.t.Fatal("emitted a nil URL")
	}
	s := u.String()
	p, err := url.Parse(s)
	if err != nil {
		o.t.Fatalf("emitted %q, which does not parse: %v", s, err)
	}
	if !p.IsAbs() {
		o.t.Fatalf("emitted %q, which is not absolute", s)
	}
	if o.httpOnly && !isHTTP(u) {
		o.t.Fatalf("emitted %q, which is not an http(s) URL with a host", s)
	}
	// Expand lists u.String(); what it lists must read back as what was
	// found, or the fetcher would go somewhere else.
	if isHTTP(u) && (!isHTTP(p) || p.Host != u.Host) {
		o.t.Fatalf("emitted %q (host %q), which reads back with host %q", s, u.Host, p.Host)
	}
	o.count++
	o.bytes += len(s)
	o.longest = max(o.longest, len(s))
}

// wantGrowth fails the test unless what was taken stays within what
// resolving the document's text against base can make, when each byte of
// the text grows at most grow-fold: a URL at most the base plus its text,
// all of them together at most a base each plus the whole text. doc names
// the document in the failure.
func (o *fuzzOutput) wantGrowth(base *url.URL, data []byte, grow int, doc string) {
	o.t.Helper()
	if limit := len(base.String()) + grow*len(data) + 8; o.longest > limit {
		o.t.Fatalf("a URL of %d bytes from a %d-byte base and a %d-byte %s", o.longest, len(base.String()), len(data), doc)
	}
	if limit := o.count*(len(base.String())+8) + grow*len(data); o.bytes > limit {
		o.t.Fatalf("%d bytes of URLs from a %d-byte %s (bound %d)", o.bytes, len(data), doc, limit)
	}
}
