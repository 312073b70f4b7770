package minicdn

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustGet(t *testing.T, c *CDN, pop *POP, rawURL string, header http.Header) *ViewerResponse {
	t.Helper()
	vr, err := c.ViewerGet(testCtx(t), pop, rawURL, header)
	if err != nil {
		t.Fatalf("GET %s via %s: %v", rawURL, pop.Code, err)
	}
	return vr
}

func TestNginxMissThenHitPerPOP(t *testing.T) {
	t.Parallel()
	c := StartT(t, Options{POPs: []POPSpec{{Code: "TST1-P1"}, {Code: "TST2-P1"}}})
	a, b := c.POP("tst1-p1"), c.POP("TST2-P1")
	u := c.URL("/obj.bin?size=2048")

	r1 := mustGet(t, c, a, u, nil)
	if r1.Status != 200 || r1.Hit || r1.Header.Get("X-Cache-Status") != "MISS" {
		t.Fatalf("first GET: status %d hit %v X-Cache-Status %q, want 200 MISS", r1.Status, r1.Hit, r1.Header.Get("X-Cache-Status"))
	}
	if r1.BodyLen != 2048 || !bytes.Equal(r1.Body, ExpectedBody("/obj.bin", 0, 2048)) {
		t.Fatalf("body: %d bytes, matches expected: %v", r1.BodyLen, bytes.Equal(r1.Body, ExpectedBody("/obj.bin", 0, 2048)))
	}
	r2 := mustGet(t, c, a, u, nil)
	if !r2.Hit || !bytes.Equal(r2.Body, r1.Body) {
		t.Fatalf("second GET: hit %v (headers %v), same body %v", r2.Hit, r2.Header, bytes.Equal(r2.Body, r1.Body))
	}
	if n := c.Origin.Requests("/obj.bin?size=2048"); n != 1 {
		t.Fatalf("origin saw %d requests, want 1", n)
	}
	// Each POP has its own cache zone.
	if r := mustGet(t, c, b, u, nil); r.Hit {
		t.Fatalf("other POP: hit, want MISS")
	}
	if n := c.Origin.Requests("/obj.bin?size=2048"); n != 2 {
		t.Fatalf("origin saw %d requests, want 2", n)
	}
	if c.StartDuration <= 0 {
		t.Fatalf("StartDuration not set")
	}
	t.Logf("start took %v", c.StartDuration)
}

func TestHTTPSHostAndSNI(t *testing.T) {
	t.Parallel()
	c := StartT(t, Options{POPs: []POPSpec{{Code: "edge-a"}}})
	pop := c.POP("edge-a")
	c.Origin.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		fmt.Fprint(w, r.Host)
	})

	r := mustGet(t, c, pop, c.URLTLS("/whoami"), nil)
	if r.Status != 200 || string(r.Body) != SiteHost {
		t.Fatalf("https via POP: status %d body %q, want 200 %q", r.Status, r.Body, SiteHost)
	}
	if !mustGet(t, c, pop, c.URLTLS("/whoami"), nil).Hit {
		t.Fatal("second https GET not a hit")
	}
	// A different site host is a different cache key and reaches the origin
	// under its own name.
	static := fmt.Sprintf("https://%s:%d/whoami", StaticHost, c.HTTPSPort)
	r = mustGet(t, c, pop, static, nil)
	if r.Hit || string(r.Body) != StaticHost {
		t.Fatalf("static host: hit %v body %q", r.Hit, r.Body)
	}
	// http and https are cached separately ($scheme in the key).
	if mustGet(t, c, pop, c.URL("/whoami"), nil).Hit {
		t.Fatal("http GET hit the https entry")
	}
	// The SNI/verification name is the URL host: a host the certificate
	// does not cover must fail verification.
	_, err := c.ViewerGet(testCtx(t), pop, fmt.Sprintf("https://www.other.test:%d/whoami", c.HTTPSPort), nil)
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Fatalf("foreign host over https: err %v, want certificate verification error", err)
	}
	// And CAFile alone is enough for an ordinary TLS client.
	pem, err := os.ReadFile(c.CAFile)
	if err != nil || !bytes.Equal(pem, c.CAPEM) {
		t.Fatalf("CAFile: %v", err)
	}
	conn, err := tls.Dial("tcp", fmt.Sprintf("%s:%d", pop.IP, c.HTTPSPort), &tls.Config{RootCAs: c.CertPool(), ServerName: StaticHost})
	if err != nil {
		t.Fatalf("tls dial with SNI %s: %v", StaticHost, err)
	}
	_ = conn.Close()
}

func TestCloudFrontHeaders(t *testing.T) {
	t.Parallel()
	c := StartT(t, Options{POPs: []POPSpec{
		{Code: "TST1-P1", CloudFront: true},
		{Code: "TST2-P1", CloudFront: true, ServedBy: "OTH9-C2"},
	}})
	cf, steered := c.POP("TST1-P1"), c.POP("TST2-P1")
	u := c.URLTLS("/cf.js")

	r := mustGet(t, c, cf, u, nil)
	if got := r.Header.Get("X-Cache"); got != "Miss from cloudfront" || r.Hit {
		t.Fatalf("first: X-Cache %q hit %v", got, r.Hit)
	}
	r = mustGet(t, c, cf, u, nil)
	if got := r.Header.Get("X-Cache"); got != "Hit from cloudfront" || !r.Hit {
		t.Fatalf("second: X-Cache %q hit %v", got, r.Hit)
	}
	if got := r.Header.Get("X-Amz-Cf-Pop"); got != "TST1-P1" {
		t.Fatalf("x-amz-cf-pop %q, want TST1-P1", got)
	}
	if r.Header.Get("X-Cache-Status") != "" || r.Header.Get("X-Amz-Cf-Id") == "" {
		t.Fatalf("headers %v: want no X-Cache-Status and an X-Amz-Cf-Id", r.Header)
	}
	if got := mustGet(t, c, steered, u, nil).Header.Get("X-Amz-Cf-Pop"); got != "OTH9-C2" {
		t.Fatalf("ServedBy POP: x-amz-cf-pop %q, want OTH9-C2", got)
	}
	r = mustGet(t, c, cf, c.URL("/status/404"), nil)
	if r.Status != 404 || r.Header.Get("X-Cache") != "Error from cloudfront" {
		t.Fatalf("404: status %d X-Cache %q", r.Status, r.Header.Get("X-Cache"))
	}
}

func TestVarnishPurge(t *testing.T) {
	t.Parallel()
	c := StartT(t, Options{POPs: []POPSpec{{Code: "VAR1", Kind: Varnish}}})
	pop := c.POP("VAR1")
	u := c.URL("/v.css?size=300")

	if r := mustGet(t, c, pop, u, nil); r.Hit || r.Header.Get("X-Cache") != "MISS" || r.BodyLen != 300 {
		t.Fatalf("first: hit %v X-Cache %q len %d", r.Hit, r.Header.Get("X-Cache"), r.BodyLen)
	}
	if r := mustGet(t, c, pop, u, nil); !r.Hit {
		t.Fatalf("second: not a hit: %v", r.Header)
	}
	if n := c.Origin.Requests("/v.css?size=300"); n != 1 {
		t.Fatalf("origin saw %d, want 1", n)
	}
	if err := c.Purge(testCtx(t), pop, u); err != nil {
		t.Fatal(err)
	}
	if r := mustGet(t, c, pop, u, nil); r.Hit {
		t.Fatalf("after PURGE: still a hit")
	}
	if n := c.Origin.Requests("/v.css?size=300"); n != 2 {
		t.Fatalf("origin saw %d, want 2 after PURGE", n)
	}
	// Varnish has no TLS listener.
	if _, err := c.ViewerGet(testCtx(t), pop, c.URLTLS("/v.css"), nil); err == nil {
		t.Fatal("https via varnish POP unexpectedly worked")
	}
}

func TestUncacheable(t *testing.T) {
	t.Parallel()
	c := StartT(t, Options{POPs: []POPSpec{{Code: "NG1"}, {Code: "VA1", Kind: Varnish}}})
	for _, code := range []string{"NG1", "VA1"} {
		pop := c.POP(code)
		for _, path := range []string{"/nostore/a", "/private/a", "/cookie/a"} {
			for i := range 2 {
				if r := mustGet(t, c, pop, c.URL(path), nil); r.Hit || r.Status != 200 {
					t.Fatalf("%s %s #%d: status %d hit %v", code, path, i, r.Status, r.Hit)
				}
			}
		}
	}
	for _, path := range []string{"/nostore/a", "/private/a", "/cookie/a"} {
		if n := c.Origin.Requests(path); n != 4 {
			t.Fatalf("%s: origin saw %d, want 4 (nothing cached)", path, n)
		}
	}
}

func TestVaryEncoding(t *testing.T) {
	t.Parallel()
	c := StartT(t, Options{POPs: []POPSpec{{Code: "NG1"}, {Code: "VA1", Kind: Varnish}}})
	get := func(code, ae string) *ViewerResponse {
		return mustGet(t, c, c.POP(code), c.URL("/vary-encoding/app.js"), http.Header{"Accept-Encoding": {ae}})
	}
	// nginx keeps one variant per Accept-Encoding value.
	if r := get("NG1", "br"); r.Hit || r.Header.Get("Content-Encoding") != "br" {
		t.Fatalf("nginx br: hit %v CE %q", r.Hit, r.Header.Get("Content-Encoding"))
	}
	if r := get("NG1", "gzip"); r.Hit || r.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("nginx gzip: hit %v CE %q", r.Hit, r.Header.Get("Content-Encoding"))
	}
	if r := get("NG1", "br"); !r.Hit {
		t.Fatal("nginx br again: not a hit")
	}
	// varnish caches the gzip object once and serves everyone from it.
	if r := get("VA1", "gzip, br"); r.Hit || r.Status != 200 || r.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("varnish gzip: status %d hit %v CE %q", r.Status, r.Hit, r.Header.Get("Content-Encoding"))
	}
	if r := get("VA1", ""); !r.Hit || r.Header.Get("Content-Encoding") != "" || r.BodyLen != DefaultBodySize {
		t.Fatalf("varnish identity: hit %v CE %q len %d", r.Hit, r.Header.Get("Content-Encoding"), r.BodyLen)
	}
	if n := c.Origin.Total(); n != 3 {
		t.Fatalf("origin saw %d, want 3", n)
	}
}

func TestLargeObjectStreamsAndCaches(t *testing.T) {
	t.Parallel()
	c := StartT(t, Options{POPs: []POPSpec{{Code: "BIG1"}}})
	pop := c.POP("BIG1")
	const size = 64 << 20
	u := c.URL(fmt.Sprintf("/big.bin?size=%d", size))
	r := mustGet(t, c, pop, u, nil)
	if r.BodyLen != size || r.Hit || r.Header.Get("Content-Length") != fmt.Sprint(size) {
		t.Fatalf("first: len %d hit %v CL %q", r.BodyLen, r.Hit, r.Header.Get("Content-Length"))
	}
	r = mustGet(t, c, pop, u, nil)
	if r.BodyLen != size || !r.Hit {
		t.Fatalf("second: len %d hit %v", r.BodyLen, r.Hit)
	}
	// A range of the cached object comes from cache with the right bytes.
	r = mustGet(t, c, pop, u, http.Header{"Range": {"bytes=1000000-1000099"}})
	if r.Status != 206 || !r.Hit || !bytes.Equal(r.Body, ExpectedBody("/big.bin", 1000000, 100)) {
		t.Fatalf("range: status %d hit %v", r.Status, r.Hit)
	}
	if n := c.Origin.Total(); n != 1 {
		t.Fatalf("origin saw %d requests, want 1", n)
	}
}

func queryDNS(t *testing.T, addr, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	cl := &dns.Client{Net: network, Timeout: 5 * time.Second}
	in, _, err := cl.Exchange(m, addr)
	if err != nil {
		t.Fatalf("dns %s %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	return in
}

func aRecords(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

func TestDNS(t *testing.T) {
	t.Parallel()
	c := StartT(t, Options{POPs: []POPSpec{
		{Code: "LIVE1"},
		{Code: "DEAD1", Dead: true},
		{Code: "GONE1", Unresolvable: true},
	}})
	live, dead := c.POP("LIVE1"), c.POP("DEAD1")
	for _, network := range []string{"udp", "tcp"} {
		m := queryDNS(t, c.DNSAddr, network, "dtest.live1.cloudfront.net", dns.TypeA)
		if m.Rcode != dns.RcodeSuccess || !slices.Equal(aRecords(m), []string{live.IP}) || m.Answer[0].Header().Ttl != 5 {
			t.Fatalf("%s A live: %v", network, m)
		}
	}
	// Case-insensitive.
	if got := aRecords(queryDNS(t, c.DNSAddr, "udp", "DTEST.Live1.CloudFront.NET", dns.TypeA)); !slices.Equal(got, []string{live.IP}) {
		t.Fatalf("mixed case: %v", got)
	}
	if got := aRecords(queryDNS(t, c.DNSAddr, "udp", dead.DNSName, dns.TypeA)); !slices.Equal(got, []string{dead.IP}) {
		t.Fatalf("dead POP A: %v", got)
	}
	for _, name := range []string{"dtest.gone1.cloudfront.net", "dtest.nosuch.cloudfront.net", "nosuch.example.test"} {
		if m := queryDNS(t, c.DNSAddr, "udp", name, dns.TypeA); m.Rcode != dns.RcodeNameError {
			t.Fatalf("%s: rcode %s, want NXDOMAIN", name, dns.RcodeToString[m.Rcode])
		}
	}
	m := queryDNS(t, c.DNSAddr, "tcp", c.CustomDomain, dns.TypeA)
	var chain []string
	for _, rr := range m.Answer {
		if cn, ok := rr.(*dns.CNAME); ok {
			chain = append(chain, cn.Hdr.Name+">"+cn.Target)
		}
	}
	wantChain := []string{"cdn.example.test.>edge.example.test.", "edge.example.test.>dtest.cloudfront.net."}
	if !slices.Equal(chain, wantChain) || !slices.Equal(aRecords(m), []string{live.IP}) {
		t.Fatalf("CNAME chain: %v A %v", chain, aRecords(m))
	}
	m = queryDNS(t, c.DNSAddr, "udp", live.DNSName, dns.TypeAAAA)
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 {
		t.Fatalf("AAAA: rcode %s answers %v, want NODATA", dns.RcodeToString[m.Rcode], m.Answer)
	}

	// Runtime changes, seen through Go's own resolver.
	res := c.Resolver()
	c.DNS().Set("dtest.new1.cloudfront.net", "127.9.9.9")
	addrs, err := res.LookupHost(testCtx(t), "dtest.new1.cloudfront.net")
	if err != nil || !slices.Equal(addrs, []string{"127.9.9.9"}) {
		t.Fatalf("LookupHost after Set: %v %v", addrs, err)
	}
	c.DNS().SetCNAME("alias.example.test", live.DNSName)
	if addrs, err = res.LookupHost(testCtx(t), "alias.example.test"); err != nil || !slices.Equal(addrs, []string{live.IP}) {
		t.Fatalf("LookupHost via CNAME: %v %v", addrs, err)
	}
	c.DNS().Remove("dtest.new1.cloudfront.net")
	_, err = res.LookupHost(testCtx(t), "dtest.new1.cloudfront.net")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("after Remove: %v, want not found", err)
	}

	// The dead POP's address really has nothing listening.
	if _, err := c.ViewerGet(testCtx(t), dead, c.URL("/x"), nil); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dead POP: %v, want connection refused", err)
	}
	// The unresolvable POP still serves by IP.
	if r := mustGet(t, c, c.POP("GONE1"), c.URL("/x"), nil); r.Status != 200 {
		t.Fatalf("unresolvable POP by IP: %d", r.Status)
	}
}

func TestCloseLeavesNoProcesses(t *testing.T) {
	t.Parallel()
	opts := Options{POPs: []POPSpec{{Code: "N1"}, {Code: "V1", Kind: Varnish}}}
	Require(t, Binaries(opts)...)
	c, err := Start(testCtx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	groups := c.processGroups()
	if len(groups) != 2 {
		t.Fatalf("process groups %v, want nginx + varnishd", groups)
	}
	for _, g := range groups {
		if len(groupMembers(g)) < 2 {
			t.Fatalf("group %d has %v, want master and workers", g, groupMembers(g))
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if m := groupMembers(g); len(m) > 0 {
			t.Fatalf("after Close group %d still has %v", g, m)
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", g)); err == nil {
			t.Fatalf("leader %d still exists", g)
		}
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Fatalf("temp dir %s not removed: %v", c.Dir, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestRetryOnBindConflict is not parallel: it sets a package-level hook,
// and Go runs non-parallel tests before any parallel one resumes.
func TestRetryOnBindConflict(t *testing.T) {
	opts := Options{POPs: []POPSpec{{Code: "N1"}, {Code: "V1", Kind: Varnish}}}
	Require(t, Binaries(opts)...)
	var stolen []net.Listener
	var firstIPs []string
	testHookAllocated = func(c *CDN, attempt int) {
		if attempt > 1 {
			return
		}
		// Take the addresses after the free-check, as a racing process
		// would, so that nginx and varnishd themselves fail to bind.
		for _, p := range c.POPs {
			firstIPs = append(firstIPs, p.IP)
			ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", p.IP, c.HTTPPort))
			if err != nil {
				t.Errorf("steal %s: %v", p.IP, err)
				continue
			}
			stolen = append(stolen, ln)
		}
	}
	t.Cleanup(func() {
		testHookAllocated = nil
		for _, ln := range stolen {
			_ = ln.Close()
		}
	})
	start := time.Now()
	c, err := Start(testCtx(t), opts)
	if err != nil {
		t.Fatalf("Start with stolen addresses: %v", err)
	}
	defer c.Close()
	if c.POPs[0].IP == firstIPs[0] && c.POPs[1].IP == firstIPs[1] {
		t.Fatalf("still on the stolen addresses %v", firstIPs)
	}
	for _, code := range []string{"N1", "V1"} {
		if r := mustGet(t, c, c.POP(code), c.URL("/after-retry"), nil); r.Status != 200 {
			t.Fatalf("%s after retry: %d", code, r.Status)
		}
	}
	t.Logf("start with one retry took %v", time.Since(start))
}

func TestStartRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for _, opts := range []Options{
		{POPs: []POPSpec{{Code: "a b"}}},
		{POPs: []POPSpec{{Code: "X1"}, {Code: "x1"}}},
		{POPs: []POPSpec{{Code: "X1", Kind: Varnish, CloudFront: true}}},
		{POPs: []POPSpec{{Code: "X1", ServedBy: "Y1"}}},
		{POPs: []POPSpec{{Code: "X1", Kind: "squid"}}},
		{Dist: "a.b"},
	} {
		if c, err := Start(context.Background(), opts); err == nil {
			_ = c.Close()
			t.Errorf("Start(%+v) succeeded, want error", opts)
		}
	}
}

func TestIsHit(t *testing.T) {
	for _, tc := range []struct {
		k, v string
		hit  bool
	}{
		{"X-Cache-Status", "HIT", true},
		{"X-Cache-Status", "MISS", false},
		{"X-Cache", "Hit from cloudfront", true},
		{"X-Cache", "RefreshHit from cloudfront", false},
		{"X-Cache", "Miss from cloudfront", false},
		{"X-Cache", "HIT", true},
		{"X-Cache", "MISS", false},
	} {
		if got := IsHit(http.Header{http.CanonicalHeaderKey(tc.k): {tc.v}}); got != tc.hit {
			t.Errorf("%s: %s → %v", tc.k, tc.v, got)
		}
	}
}

// TestOriginAlone exercises the origin without any cache in front.
func TestOriginAlone(t *testing.T) {
	t.Parallel()
	o, err := StartOrigin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	get := func(method, path string, h http.Header) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(testCtx(t), method, o.URL+path, nil)
		for k, v := range h {
			req.Header[k] = v
		}
		tr := &http.Transport{DisableCompression: true}
		defer tr.CloseIdleConnections()
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}

	resp, body := get("GET", "/f", nil)
	if resp.StatusCode != 200 || len(body) != DefaultBodySize || resp.Header.Get("ETag") == "" ||
		resp.Header.Get("Cache-Control") != "public, max-age=3600" || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("default: %d %d %v", resp.StatusCode, len(body), resp.Header)
	}
	resp, body = get("HEAD", "/f?size=5m", nil)
	if resp.Header.Get("Content-Length") != fmt.Sprint(5<<20) || len(body) != 0 {
		t.Fatalf("HEAD: CL %q body %d", resp.Header.Get("Content-Length"), len(body))
	}
	if o.Requests("/f") != 1 || o.Gets("/f") != 1 || o.Requests("/f?size=5m") != 1 || o.Heads("/f?size=5m") != 1 || o.Gets("/f?size=5m") != 0 || o.PathRequests("/f") != 2 {
		t.Fatalf("counts wrong: total %d", o.Total())
	}
	resp, body = get("GET", "/r?size=100", http.Header{"Range": {"bytes=10-19"}})
	if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != "bytes 10-19/100" || !bytes.Equal(body, ExpectedBody("/r", 10, 10)) {
		t.Fatalf("range: %d %q %d", resp.StatusCode, resp.Header.Get("Content-Range"), len(body))
	}
	if resp, _ = get("GET", "/r?size=100", http.Header{"Range": {"bytes=200-"}}); resp.StatusCode != 416 {
		t.Fatalf("unsatisfiable range: %d", resp.StatusCode)
	}
	if resp, _ = get("GET", "/status/503", nil); resp.StatusCode != 503 {
		t.Fatalf("/status/503: %d", resp.StatusCode)
	}
	if resp, _ = get("GET", "/status/301?location=/x", nil); resp.StatusCode != 301 || resp.Header.Get("Location") != "/x" {
		t.Fatalf("/status/301: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for path, cc := range map[string]string{"/nostore/x": "no-store", "/private/x": "private"} {
		if resp, _ = get("GET", path, nil); resp.Header.Get("Cache-Control") != cc {
			t.Fatalf("%s: Cache-Control %q", path, resp.Header.Get("Cache-Control"))
		}
	}
	if resp, _ = get("GET", "/cookie/x", nil); resp.Header.Get("Set-Cookie") == "" {
		t.Fatal("/cookie/ without Set-Cookie")
	}
	r1, b1 := get("GET", "/vary-encoding/x", http.Header{"Accept-Encoding": {"gzip, br"}})
	r2, b2 := get("GET", "/vary-encoding/x", http.Header{"Accept-Encoding": {"gzip"}})
	r3, b3 := get("GET", "/vary-encoding/x", nil)
	if r1.Header.Get("Content-Encoding") != "br" || r2.Header.Get("Content-Encoding") != "gzip" || r3.Header.Get("Content-Encoding") != "" ||
		r1.Header.Get("Vary") != "Accept-Encoding" || bytes.Equal(b1, b2) || bytes.Equal(b2, b3) {
		t.Fatalf("vary-encoding: %q %q %q", r1.Header.Get("Content-Encoding"), r2.Header.Get("Content-Encoding"), r3.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(b2))
	if err != nil {
		t.Fatalf("gzip variant: %v", err)
	}
	if plain, err := io.ReadAll(zr); err != nil || len(plain) != DefaultBodySize {
		t.Fatalf("gzip variant decodes to %d bytes, %v", len(plain), err)
	}
	if resp, _ = get("GET", "/vary-lang/x", http.Header{"Accept-Language": {"de-DE,de;q=0.9"}}); resp.Header.Get("Vary") != "Accept-Language" || resp.Header.Get("Content-Language") != "de-DE" {
		t.Fatalf("vary-lang: %v", resp.Header)
	}
	start := time.Now()
	if resp, _ = get("GET", "/slow/x?delay=200ms", nil); resp.StatusCode != 200 || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("slow: %d after %v", resp.StatusCode, time.Since(start))
	}
	// A cancelled slow request releases the handler promptly.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", o.URL+"/slow/y?delay=1h", nil)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow cancel: %v", err)
	}
	o.HandleFunc("/custom/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "custom") })
	if _, body = get("GET", "/custom/a", nil); string(body) != "custom" || o.Requests("/custom/a") != 1 {
		t.Fatalf("custom route: %q", body)
	}
	o.Reset()
	if o.Total() != 0 || o.Requests("/f") != 0 {
		t.Fatal("Reset did not zero counters")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"": DefaultBodySize, "0": 0, "10": 10, "2k": 2048, "64MiB": 64 << 20, "3g": 3 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1", "x", "1t"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) succeeded", bad)
		}
	}
}

// recordingTB captures Skipf/Fatalf instead of acting on them, to test
// Require's decision without ending the real test.
type recordingTB struct {
	testing.TB
	skipped, fatal string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
}

func TestRequire(t *testing.T) {
	t.Setenv("CI", "")
	rec := &recordingTB{TB: t}
	Require(rec, "nginx-does-not-exist")
	if rec.skipped == "" || rec.fatal != "" {
		t.Fatalf("without CI: skipped %q fatal %q, want a skip", rec.skipped, rec.fatal)
	}
	t.Setenv("CI", "true")
	rec = &recordingTB{TB: t}
	Require(rec, "nginx-does-not-exist")
	if rec.fatal == "" || rec.skipped != "" {
		t.Fatalf("CI=true: skipped %q fatal %q, want fatal", rec.skipped, rec.fatal)
	}
	t.Logf("CI message: %s", rec.fatal)
	// /usr/sbin is searched even when it is not on PATH.
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		t.Setenv("PATH", "/nonexistent")
		if p, err := findBinary("nginx"); err != nil || p != "/usr/sbin/nginx" {
			t.Fatalf("findBinary without PATH: %q %v", p, err)
		}
	}
}

// getFrom is a GET through pop from source address src, to tell the
// POP's warmers (127.0.0.1) from other clients.
func getFrom(t *testing.T, c *CDN, pop *POP, src, rawURL string, header http.Header) *http.Response {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		return d.DialContext(ctx, network, net.JoinHostPort(pop.IP, port))
	}}
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s via %s from %s: %v", rawURL, pop.Code, src, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// The refresh header makes a POP fetch from the origin and store only
// when a warmer sends it: nginx as docs/keep-warm.md sets it up (geo +
// map), Varnish with an acl.
func TestRefreshHeaderOnlyFromWarmers(t *testing.T) {
	t.Parallel()
	c := StartT(t, Options{RefreshHeader: "X-Prewarm-Refresh",
		POPs: []POPSpec{{Code: "NGX1"}, {Code: "VAR1", Kind: Varnish}}})
	refresh := http.Header{"X-Prewarm-Refresh": {"1"}}
	for i, code := range []string{"NGX1", "VAR1"} {
		pop := c.POP(code)
		path := fmt.Sprintf("/r%d.css?size=100", i)
		u := c.URL(path)
		steps := []struct {
			name, src string
			header    http.Header
			want      int // origin fetches after the step
		}{
			{"first", warmerIP, nil, 1},
			{"plain again", warmerIP, nil, 1},
			{"refresh from a warmer", warmerIP, refresh, 2},
			{"refresh from elsewhere", "127.0.0.9", refresh, 2},
		}
		for _, s := range steps {
			getFrom(t, c, pop, s.src, u, s.header)
			if n := c.Origin.Requests(path); n != s.want {
				t.Fatalf("%s: %s: origin saw %d fetches, want %d", code, s.name, n, s.want)
			}
		}
	}
}
