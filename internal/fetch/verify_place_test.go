package fetch_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"prewarm/internal/edge"
	"prewarm/internal/fetch"
	"prewarm/internal/warm"
)

// Verification compares where the edge says it served from (x-amz-cf-pop,
// the cf-ray suffix, X-Served-By) with where the task was meant to land,
// through the real POP catalog: a named POP answering from elsewhere fails
// verification; an edge discovered for a country answering from another
// country is a warning, since that country's viewers reach it all the same.
func TestVerifyChecksWhereTheEdgeAnsweredFrom(t *testing.T) {
	var header atomic.Pointer[[2]string] // the served-by header the edge sends
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := header.Load()
		w.Header().Set(h[0], h[1])
		w.Header().Set("X-Cache-Status", "HIT")
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	c := fetch.New(fetch.Config{Backoff: func(int) time.Duration { return time.Millisecond }, Places: edge.Builtin()})
	for _, tc := range []struct {
		pop, name, value string
		reason, warning  string // substrings; "" wants none
	}{
		{"NRT12-C1", "Cf-Ray", "8a1b2c3d4e5f6789-NRT", "", ""},
		{"NRT12-C1", "Cf-Ray", "8a1b2c3d4e5f6789-LHR", "served by LHR (GB), not NRT12-C1 (JP)", ""},
		{"NRT12-C1", "X-Served-By", "cache-kix7300-KIX", "served by cache-kix7300-KIX (KIX), not NRT12-C1 (NRT)", ""},
		{"JP-1", "X-Amz-Cf-Pop", "NRT57-P2", "", ""},
		{"JP-1", "X-Amz-Cf-Pop", "SIN2-P1", "", "answered from SIN2-P1 (SIN in SG), though DNS gives this edge to clients in JP"},
		{"JP-1", "Cf-Ray", "8a1b2c3d4e5f6789-ZZZ", "", ""}, // an airport the catalog does not know: no verdict
	} {
		header.Store(&[2]string{tc.name, tc.value})
		res := c.Fetch(context.Background(), warm.FetchRequest{URL: "http://www.example.test:" + port + "/a",
			Addresses: []string{host}, POP: tc.pop, Verify: true})
		ok := res.OK && strings.Contains(res.Reason, tc.reason) && (tc.reason != "" || res.Reason == "") &&
			strings.Contains(res.Warning, tc.warning) && (tc.warning != "" || res.Warning == "") && res.Verified == (tc.reason == "")
		if !ok {
			t.Errorf("%s, %s: %s: verified %v, reason %q, warning %q", tc.pop, tc.name, tc.value, res.Verified, res.Reason, res.Warning)
		}
	}
}
