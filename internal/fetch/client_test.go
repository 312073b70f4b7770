package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"prewarm/internal/warm"
)

// edge is a test server standing in for one POP address. The URLs fetched
// name another host: the client must dial the edge anyway.
func edge(t *testing.T, h http.HandlerFunc) (addr, port string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return host, port
}

func quick() *Client {
	return New(Config{Backoff: func(int) time.Duration { return time.Millisecond }})
}

func TestFetchDialsTheEdgeWithTheURLsHost(t *testing.T) {
	var gotHost, gotUA, gotAE, gotCustom string
	addr, port := edge(t, func(w http.ResponseWriter, r *http.Request) {
		gotHost, gotUA, gotAE, gotCustom = r.Host, r.UserAgent(), r.Header.Get("Accept-Encoding"), r.Header.Get("X-Custom")
		w.Header().Set("X-Cache", "Hit from cloudfront")
		w.Header().Set("X-Amz-Cf-Pop", "TST1-P1")
		fmt.Fprint(w, strings.Repeat("x", 5000))
	})
	res := quick().Fetch(context.Background(), warm.FetchRequest{
		URL:       "http://www.example.test:" + port + "/a.bin?v=1",
		Addresses: []string{addr},
		Headers:   []string{"X-Custom: yes", "User-Agent: launch-bot"},
	})
	if !res.OK || res.StatusCode != 200 || res.Bytes != 5000 || res.CacheStatus != Hit || res.ServedBy != "TST1-P1" ||
		res.EdgeIP != addr || res.Attempts != 1 || res.Error != "" {
		t.Fatalf("result %+v", res)
	}
	if gotHost != "www.example.test:"+port || gotUA != "launch-bot" || gotAE != "gzip, deflate, br" || gotCustom != "yes" {
		t.Fatalf("request host %q ua %q ae %q custom %q", gotHost, gotUA, gotAE, gotCustom)
	}
}

func TestFetchTLSUsesTheURLsHostForSNI(t *testing.T) {
	var sni string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) { sni = h.ServerName; return nil, nil }}
	srv.StartTLS()
	defer srv.Close()
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	// httptest's certificate is for example.com.
	c := New(Config{RootCAs: roots})
	res := c.Fetch(context.Background(), warm.FetchRequest{URL: "https://example.com:" + port + "/", Addresses: []string{host}})
	if !res.OK || sni != "example.com" {
		t.Fatalf("result %+v, SNI %q", res, sni)
	}
	res = c.Fetch(context.Background(), warm.FetchRequest{URL: "https://other.test:" + port + "/", Addresses: []string{host}})
	if res.OK || !strings.Contains(res.Error, "certificate") {
		t.Fatalf("a certificate for another host was accepted: %+v", res)
	}
}

func TestFetchRetriesRotatingAddresses(t *testing.T) {
	var hits atomic.Int32
	live, port := edge(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1); fmt.Fprint(w, "ok") })
	// 127.0.0.254 on the same port: nothing listens there.
	res := quick().Fetch(context.Background(), warm.FetchRequest{
		URL: "http://h.test:" + port + "/", Addresses: []string{"127.0.0.254", live},
	})
	if !res.OK || hits.Load() != 1 || res.EdgeIP != live {
		t.Fatalf("result %+v (hits %d)", res, hits.Load())
	}
	res = quick().Fetch(context.Background(), warm.FetchRequest{URL: "http://h.test:" + port + "/", Addresses: []string{"127.0.0.254"}})
	// The error names the port dialled: it comes from the URL, not the
	// edges file, and is the usual suspect.
	if res.OK || res.Attempts != 3 || res.Error != "connect 127.0.0.254:"+port+": connection refused" || res.StatusCode != 0 {
		t.Fatalf("dead edge: %+v", res)
	}
}

func TestFetchStatusClasses(t *testing.T) {
	var calls atomic.Int32
	addr, port := edge(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if code == 302 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(code)
	})
	cases := []struct {
		code     int
		ok       bool
		attempts int
	}{{200, true, 1}, {302, true, 1}, {404, false, 1}, {403, false, 1}, {500, false, 3}, {502, false, 3},
		// Asked to slow down: not asked again at once, the fleet pauses
		// the host instead.
		{503, false, 1}, {429, false, 1}}
	for _, c := range cases {
		calls.Store(0)
		res := quick().Fetch(context.Background(), warm.FetchRequest{URL: fmt.Sprintf("http://h.test:%s/%d", port, c.code), Addresses: []string{addr}})
		if res.OK != c.ok || res.StatusCode != c.code || res.Attempts != c.attempts || int(calls.Load()) != c.attempts {
			t.Errorf("HTTP %d: %+v (calls %d)", c.code, res, calls.Load())
		}
		if !c.ok && res.Error != "HTTP "+strconv.Itoa(c.code)+" "+http.StatusText(c.code) {
			t.Errorf("HTTP %d: error %q", c.code, res.Error)
		}
	}
}

// A throttled answer says how long it asked to wait, in seconds or as a
// date.
func TestFetchRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	addr, port := edge(t, func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("ra"); v != "" {
			w.Header().Set("Retry-After", v)
		}
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.WriteHeader(code)
	})
	c := New(Config{Now: func() time.Time { return now }, Backoff: func(int) time.Duration { return 0 }})
	for _, tc := range []struct {
		path string
		want time.Duration
	}{
		{"/429?ra=2", 2 * time.Second},
		{"/503?ra=" + url.QueryEscape(now.Add(90*time.Second).Format(http.TimeFormat)), 90 * time.Second},
		{"/429", 0},
		{"/429?ra=soon", 0},
		{"/500?ra=5", 0}, // not a request to slow down
	} {
		res := c.Fetch(context.Background(), warm.FetchRequest{URL: "http://h.test:" + port + tc.path, Addresses: []string{addr}})
		if res.RetryAfter != tc.want {
			t.Errorf("%s: RetryAfter %v, want %v", tc.path, res.RetryAfter, tc.want)
		}
	}
}

// Send carries any method to the edge address as Fetch carries its GET,
// over the same per-address connections, so a purge and the warm after it
// share them.
func TestSendUsesTheEdgesConnections(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.Host+" "+r.URL.RequestURI())
		mu.Unlock()
		fmt.Fprint(w, "purged")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	addr, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	c := quick()
	r := warm.FetchRequest{URL: "http://www.example.test:" + port + "/a.js?v=2", Addresses: []string{addr}}
	res := c.Send(context.Background(), "PURGE", r)
	if !res.OK || res.StatusCode != 200 || res.Bytes != int64(len("purged")) || res.EdgeIP != addr || res.Attempts != 1 {
		t.Fatalf("result %+v", res)
	}
	if res := c.Fetch(context.Background(), r); !res.OK {
		t.Fatalf("fetch after the purge: %+v", res)
	}
	want := []string{"PURGE www.example.test:" + port + " /a.js?v=2", "GET www.example.test:" + port + " /a.js?v=2"}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(seen) != fmt.Sprint(want) || conns.Load() != 1 {
		t.Fatalf("edge saw %q over %d connections, want %q over 1", seen, conns.Load(), want)
	}
}

func TestProbe(t *testing.T) {
	addr, port := edge(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/nohead": // HEAD refused: the probe asks for one byte
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			if r.Header.Get("Range") != "bytes=0-0" {
				t.Errorf("range %q", r.Header.Get("Range"))
			}
			w.Header().Set("Content-Range", "bytes 0-0/4242")
			w.WriteHeader(http.StatusPartialContent)
			fmt.Fprint(w, "x")
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
		default:
			w.Header().Set("Content-Length", "1234")
		}
	})
	c := quick()
	req := func(p string) warm.FetchRequest {
		return warm.FetchRequest{URL: "http://h.test:" + port + p, Addresses: []string{addr}}
	}
	if size, res := c.Probe(context.Background(), req("/file")); size != 1234 || !res.OK {
		t.Errorf("HEAD probe: %d %+v", size, res)
	}
	if size, res := c.Probe(context.Background(), req("/nohead")); size != 4242 || !res.OK {
		t.Errorf("range probe: %d %+v", size, res)
	}
	if size, res := c.Probe(context.Background(), req("/missing")); size != -1 || res.OK || res.StatusCode != 404 {
		t.Errorf("missing: %d %+v", size, res)
	}
}

func TestFetchHonoursCancellation(t *testing.T) {
	addr, port := edge(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := quick().Fetch(ctx, warm.FetchRequest{URL: "http://h.test:" + port + "/", Addresses: []string{addr}})
	if res.OK || time.Since(start) > 5*time.Second {
		t.Fatalf("cancelled fetch: %+v after %v", res, time.Since(start))
	}
}

// A GET that the POP answers from its cache proves the warm by itself; one
// that filled the cache is checked with a HEAD.
func TestVerifyAsksAgainOnlyAfterAMiss(t *testing.T) {
	var heads atomic.Int32
	addr, port := edge(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			heads.Add(1)
			w.Header().Set("X-Cache", "HIT")
			return
		}
		if r.URL.Path == "/cached" {
			w.Header().Set("X-Cache", "HIT")
		} else {
			w.Header().Set("X-Cache", "MISS")
		}
		fmt.Fprint(w, "body")
	})
	c := quick()
	for _, tc := range []struct {
		path  string
		heads int32
	}{{"/cached", 0}, {"/filled", 1}} {
		heads.Store(0)
		res := c.Fetch(context.Background(), warm.FetchRequest{URL: "http://h.test:" + port + tc.path, Addresses: []string{addr}, Verify: true})
		if !res.OK || !res.Verified || res.Reason != "" {
			t.Errorf("%s: %+v", tc.path, res)
		}
		if heads.Load() != tc.heads {
			t.Errorf("%s: %d HEAD requests, want %d", tc.path, heads.Load(), tc.heads)
		}
	}
}

// A busy edge that drops the check after a warm is asked again: the object
// it holds is not called not cached, and one that never answers the check
// is reported as such, not as an edge without cache headers.
func TestVerifyAsksAgainWhenTheCheckGetsNoAnswer(t *testing.T) {
	var heads, drops atomic.Int32
	addr, port := edge(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			w.Header().Set("X-Cache", "MISS")
			fmt.Fprint(w, "body")
			return
		}
		heads.Add(1)
		if drops.Add(-1) >= 0 {
			hangUp(w, false)
			return
		}
		w.Header().Set("X-Cache", "HIT")
	})
	c := quick()
	for _, tc := range []struct {
		drops      int32
		verified   bool
		reasonFrom string
	}{{2, true, ""}, {100, false, "no answer when asked again after the warm: "}} {
		heads.Store(0)
		drops.Store(tc.drops)
		res := c.Fetch(context.Background(), warm.FetchRequest{URL: "http://h.test:" + port + "/o", Addresses: []string{addr}, Verify: true})
		if !res.OK || res.Verified != tc.verified || !strings.HasPrefix(res.Reason, tc.reasonFrom) || (tc.reasonFrom == "") != (res.Reason == "") {
			t.Errorf("%d dropped checks: %+v", tc.drops, res)
		}
		if tc.verified && heads.Load() != tc.drops+1 {
			t.Errorf("%d dropped checks: %d HEAD requests, want %d", tc.drops, heads.Load(), tc.drops+1)
		}
	}
}

// Edges that fail the way edges do: accept and never answer, send headers
// and stall, cut the body short. Each attempt ends when its headers or its
// bytes stop coming, and the error says which.
func TestFetchTimeoutsSayWhatHappened(t *testing.T) {
	release := make(chan struct{})
	addr, port := edge(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			<-release
		case "/stall":
			startBody(w, 1500)
			<-release
		case "/short":
			startBody(w, 4000)
			hangUp(w, false)
		case "/reset":
			startBody(w, 2000)
			hangUp(w, true)
		}
	})
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for its handlers
	c := New(Config{HeaderTimeout: 100 * time.Millisecond, IdleTimeout: 100 * time.Millisecond, Attempts: 2,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	for path, want := range map[string]string{
		"/hang":  "no response headers in 100ms from " + addr + ":" + port,
		"/stall": "stalled after 1.5 kB: no byte in 100ms",
		"/short": "body ended at 4000 of 4096 bytes",
		"/reset": "body ended at 2000 of 4096 bytes (connection reset by " + addr + ":" + port + ")",
	} {
		start := time.Now()
		res := c.Fetch(context.Background(), warm.FetchRequest{URL: "http://h.test:" + port + path, Addresses: []string{addr}})
		if res.OK || res.Attempts != 2 || !strings.HasPrefix(res.Error, want) {
			t.Errorf("%s: %+v, want the error %q after 2 attempts", path, res, want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v: the timeouts did not cut it", path, d)
		}
	}
}

// startBody sends the headers of a 4096-byte body and its first n bytes.
func startBody(w http.ResponseWriter, n int) {
	w.Header().Set("Content-Length", "4096")
	w.Write(make([]byte, n))
	w.(http.Flusher).Flush()
}

// hangUp closes the request's connection with no more said; with reset,
// the close is a reset (RST) instead of an orderly end.
func hangUp(w http.ResponseWriter, reset bool) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if reset {
		conn.(*net.TCPConn).SetLinger(0)
	}
	conn.Close()
}

// An address that keeps hanging is left alone for a while: attempts to it
// fail at once, saying why, and a task goes to the POP's other address.
func TestFetchLeavesAHangingAddressAlone(t *testing.T) {
	release := make(chan struct{})
	hole, port := edge(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for its handlers
	c := New(Config{HeaderTimeout: 50 * time.Millisecond, Attempts: 1})
	req := warm.FetchRequest{URL: "http://h.test:" + port + "/x", Addresses: []string{hole}}
	wantLeftAlone(t, c, req, "hang", "no response headers in 50ms", "8 attempts in a row; not asked again until")
	// A POP with another address that answers is warmed through it, at
	// once: the hole is not asked. (The live edge listens on 127.0.0.2 at
	// the hole's port, as a POP's addresses share the URL's port.)
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", port))
	if err != nil {
		t.Skipf("127.0.0.2:%s: %v", port, err)
	}
	live := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	live.Listener.Close()
	live.Listener = ln
	live.Start()
	t.Cleanup(live.Close)
	c2 := New(Config{HeaderTimeout: 50 * time.Millisecond, Attempts: 2, Backoff: func(int) time.Duration { return time.Millisecond }})
	c2.health[hole] = &addrHealth{hangs: hangAfter, lastErr: "no response headers in 50ms", pausedTill: time.Now().Add(time.Minute)}
	start := time.Now()
	res := c2.Fetch(context.Background(), warm.FetchRequest{URL: "http://h.test:" + port + "/x", Addresses: []string{hole, "127.0.0.2"}})
	if !res.OK || res.EdgeIP != "127.0.0.2" || time.Since(start) > time.Second {
		t.Fatalf("through the other address: %+v in %v", res, time.Since(start))
	}
}

// An address whose bodies keep stalling is left alone too: a stall costs
// the idle timeout as a hang costs the header timeout.
func TestFetchLeavesAStallingAddressAlone(t *testing.T) {
	release := make(chan struct{})
	addr, port := edge(t, func(w http.ResponseWriter, r *http.Request) {
		startBody(w, 1500)
		<-release
	})
	t.Cleanup(func() { close(release) })
	c := New(Config{IdleTimeout: 50 * time.Millisecond, Attempts: 1})
	req := warm.FetchRequest{URL: "http://h.test:" + port + "/x", Addresses: []string{addr}}
	wantLeftAlone(t, c, req, "stall", "stalled after 1.5 kB", "stalled after 1.5 kB: no byte in 50ms, 8 attempts in a row")
}

// wantLeftAlone fetches req through c until its address has failed
// hangAfter times in a row, each a failure (a hang, a stall) whose error
// starts with each, then checks that the next attempt fails at once with
// an error that contains why.
func wantLeftAlone(t *testing.T, c *Client, req warm.FetchRequest, failure, each, why string) {
	t.Helper()
	for range hangAfter {
		if res := c.Fetch(context.Background(), req); !strings.HasPrefix(res.Error, each) {
			t.Fatalf("a %s: %+v", failure, res)
		}
	}
	start := time.Now()
	res := c.Fetch(context.Background(), req)
	if d := time.Since(start); d > 40*time.Millisecond || !strings.Contains(res.Error, why) {
		t.Fatalf("after %d %ss: %+v in %v, want an at-once failure saying why", hangAfter, failure, res, d)
	}
}
