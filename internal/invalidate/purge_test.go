package invalidate

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"prewarm/internal/fetch"
	"prewarm/internal/minicdn"
)

// TestPurgeVarnish purges a warmed object from a real varnish POP through
// its address: the next viewer misses and the origin is asked again.
func TestPurgeVarnish(t *testing.T) {
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "VAR1-P1", Kind: minicdn.Varnish}}})
	pop := cdn.POP("VAR1-P1")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	const pq = "/release/app.js?v=2"
	u := cdn.URL(pq)
	for i, wantHit := range []bool{false, true} {
		r, err := cdn.ViewerGet(ctx, pop, u, nil)
		if err != nil {
			t.Fatalf("viewer GET %d: %v", i+1, err)
		}
		if r.Status != http.StatusOK || r.Hit != wantHit {
			t.Fatalf("viewer GET %d: status %d hit %v, want 200 hit %v", i+1, r.Status, r.Hit, wantHit)
		}
	}
	before := cdn.Origin.Requests(pq)

	p := &Purger{Edges: fetch.New(fetch.DefaultConfig()), Log: testLogger(t)}
	err := p.Purge(ctx, []PurgeTarget{{Code: pop.Code, Addresses: []string{pop.IP}}}, []string{u, cdn.URL("/never-cached.css")})
	if err != nil {
		t.Fatalf("Purge: %v", err)
	}

	r, err := cdn.ViewerGet(ctx, pop, u, nil)
	if err != nil {
		t.Fatalf("viewer GET after purge: %v", err)
	}
	if r.Hit {
		t.Errorf("viewer GET after purge was a HIT")
	}
	if got := cdn.Origin.Requests(pq); got != before+1 {
		t.Errorf("origin saw %d requests for %s after the purge, want %d", got, pq, before+1)
	}
}

// edgeRecorder is an edge that answers by path: /gone 404, /broken 500,
// /redirect 301, anything else 200.
type edgeRecorder struct {
	mu   sync.Mutex
	seen []string // "METHOD host path?query tls-servername"
}

func (e *edgeRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sni := "-"
	if r.TLS != nil {
		sni = r.TLS.ServerName
	}
	e.mu.Lock()
	e.seen = append(e.seen, r.Method+" "+r.Host+" "+r.URL.RequestURI()+" "+sni)
	e.mu.Unlock()
	switch r.URL.Path {
	case "/gone":
		http.Error(w, "not cached", http.StatusNotFound)
	case "/broken":
		http.Error(w, "boom", http.StatusInternalServerError)
	case "/redirect":
		http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

func (e *edgeRecorder) count(prefix string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, s := range e.seen {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

func port(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// fastPurger purges through an edge client that retries without waiting
// and trusts roots (nil: the system's).
func fastPurger(t *testing.T, roots *x509.CertPool) *Purger {
	edges := fetch.New(fetch.Config{RootCAs: roots, Backoff: func(int) time.Duration { return time.Millisecond }})
	t.Cleanup(edges.Close)
	return &Purger{Edges: edges, Log: testLogger(t)}
}

func TestPurgeMethodHostAndStatuses(t *testing.T) {
	edge := &edgeRecorder{}
	srv := httptest.NewServer(edge)
	defer srv.Close()
	// The site's host does not resolve: the request can only arrive through
	// the address given.
	base := "http://www.purge.invalid:" + port(t, srv)
	target := PurgeTarget{Code: "fra-1", Method: "BAN", Addresses: []string{"127.0.0.1"}}

	err := fastPurger(t, nil).Purge(t.Context(), []PurgeTarget{target}, []string{base + "/a.js?v=2", base + "/gone", base + "/a.js?v=2"})
	if err != nil {
		t.Fatalf("Purge: %v", err)
	}
	want := []string{"BAN www.purge.invalid:" + port(t, srv) + " /a.js?v=2 -", "BAN www.purge.invalid:" + port(t, srv) + " /gone -"}
	edge.mu.Lock()
	got := append([]string(nil), edge.seen...)
	edge.mu.Unlock()
	if len(got) != 2 || !(got[0] == want[0] && got[1] == want[1] || got[0] == want[1] && got[1] == want[0]) {
		t.Errorf("edge saw %q, want %q (duplicate URL sent once)", got, want)
	}

	// Default method, and a 500 retried then reported with edge, address,
	// URL and status.
	target.Method = ""
	err = fastPurger(t, nil).Purge(t.Context(), []PurgeTarget{target}, []string{base + "/ok", base + "/broken", base + "/redirect"})
	if err == nil {
		t.Fatal("no error for a 500")
	}
	msg := err.Error()
	for _, s := range []string{
		"purge failed for 2 of 3 requests",
		"edge fra-1 at 127.0.0.1: PURGE " + base + "/broken: HTTP 500 Internal Server Error (3 attempts)",
		"edge fra-1 at 127.0.0.1: PURGE " + base + "/redirect: HTTP 301 Moved Permanently (1 attempts)",
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("error lacks %q:\n%s", s, msg)
		}
	}
	if n := edge.count("PURGE www.purge.invalid:" + port(t, srv) + " /broken"); n != 3 {
		t.Errorf("/broken asked %d times, want 3", n)
	}
	if n := edge.count("GET "); n != 0 {
		t.Errorf("a redirect was followed (%d GETs)", n)
	}
}

func TestPurgeTLSUsesURLHostAsSNI(t *testing.T) {
	edge := &edgeRecorder{}
	srv := httptest.NewTLSServer(edge) // certificate for example.com
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	u := "https://example.com:" + port(t, srv) + "/style.css"

	p := fastPurger(t, roots)
	if err := p.Purge(t.Context(), []PurgeTarget{{Code: "tls-1", Addresses: []string{"127.0.0.1"}}}, []string{u}); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if n := edge.count("PURGE example.com:" + port(t, srv) + " /style.css example.com"); n != 1 {
		t.Errorf("edge saw %q", edge.seen)
	}
}

func TestPurgeEveryAddressAndNetworkErrors(t *testing.T) {
	edge := &edgeRecorder{}
	srv := httptest.NewServer(edge)
	defer srv.Close()
	// An address where nothing listens on the URL's port.
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	l.Close()
	u := "http://www.purge.invalid:" + port(t, srv) + "/x"

	p := fastPurger(t, nil)
	p.Concurrency = 2
	err = p.Purge(t.Context(), []PurgeTarget{
		{Code: "a", Addresses: []string{"127.0.0.1", "localhost"}},
		{Code: "dead", Addresses: []string{"127.0.0.3"}},
		{Code: "empty"},
	}, []string{u})
	if err == nil {
		t.Fatal("no error")
	}
	if n := edge.count("PURGE "); n < 2 {
		t.Errorf("edge got %d purges, want one per address (2)", n)
	}
	msg := err.Error()
	for _, s := range []string{
		"purge failed for 2 of 4 requests (3 edges, 1 URLs)",
		"edge empty: no addresses to send PURGE to",
		"edge dead at 127.0.0.3: PURGE " + u + ": ",
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("error lacks %q:\n%s", s, msg)
		}
	}
}

func TestPurgeListsOnlyFirstFailures(t *testing.T) {
	edge := &edgeRecorder{}
	srv := httptest.NewServer(edge)
	defer srv.Close()
	var urls []string
	for i := range 20 {
		urls = append(urls, "http://h.invalid:"+port(t, srv)+"/broken?i="+string(rune('a'+i)))
	}
	err := fastPurger(t, nil).Purge(t.Context(), []PurgeTarget{{Code: "e", Addresses: []string{"127.0.0.1"}}}, urls)
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 1+maxListedFailures || !strings.HasPrefix(lines[0], "purge failed for 20 of 20 requests") {
		t.Errorf("error:\n%s", err)
	}
}

func TestPurgeCancelled(t *testing.T) {
	edge := &edgeRecorder{}
	srv := httptest.NewServer(edge)
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := fastPurger(t, nil).Purge(ctx, []PurgeTarget{{Code: "e", Addresses: []string{"127.0.0.1"}}}, []string{"http://h.invalid:" + port(t, srv) + "/a"})
	if err == nil || !strings.Contains(err.Error(), "purge cut short when the job was stopped") {
		t.Errorf("err = %v", err)
	}
}

func TestPurgeBadURL(t *testing.T) {
	p := fastPurger(t, nil)
	for _, u := range []string{"/relative", "ftp://h/x", "http://[::1"} {
		if err := p.Purge(t.Context(), []PurgeTarget{{Code: "e", Addresses: []string{"127.0.0.1"}}}, []string{u}); err == nil {
			t.Errorf("Purge(%q) accepted", u)
		}
	}
	if err := p.Purge(t.Context(), nil, []string{"http://h/x"}); err != nil {
		t.Errorf("no targets: %v", err)
	}
	p.Edges = nil
	if err := p.Purge(t.Context(), []PurgeTarget{{Code: "e", Addresses: []string{"127.0.0.1"}}}, []string{"http://h/x"}); err == nil {
		t.Error("a purger without its edge client purged")
	}
}
