package api

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// An unauthenticated POST that announces a large body and sends one byte
// is answered 401 at once, and its connection closed: the server does not
// wait for the body.
func TestUnauthenticatedPostIsAnsweredAtOnce(t *testing.T) {
	s := New(Config{Keys: []string{"key-12345678"}, Log: slog.New(slog.DiscardHandler)})
	hs := s.HTTPServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	defer hs.Close()
	for _, path := range []string{"/prewarm", "/instances"} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		if _, err := io.WriteString(conn, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
			"Content-Length: 200000\r\n\r\n{"); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: no answer: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
			t.Fatalf("%s: %d close=%v %s, want 401 and the connection closed", path, resp.StatusCode, resp.Close, body)
		}
		if rest, err := io.ReadAll(conn); err != nil || len(rest) != 0 {
			t.Fatalf("%s: after the answer: %q %v, want the connection closed", path, rest, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%s: answered after %v", path, d)
		}
	}
	if hs.ReadTimeout == 0 || hs.WriteTimeout == 0 || hs.IdleTimeout == 0 || hs.ReadHeaderTimeout == 0 {
		t.Fatalf("a timeout is unset: %+v", hs)
	}
}

func TestCountList(t *testing.T) {
	for body, want := range map[string]int{
		`{"url_list": []}`:                              0,
		`{"url_list": ["a"]}`:                           1,
		`{"cf_domain": "x", "url_list": ["a", "b,c"]}`:  2,
		`{"url_list": ["a\"],[", "b"], "pops": ["x"]}`:  2,
		`{"url_list": [["a", "b"], {"c": 1}, null, 3]}`: 4,
		`{"pops": ["x"]}`:                               0,
		`[1, 2]`:                                        0,
		`{"url_list": "a"}`:                             0,
	} {
		if got := countList([]byte(body), "url_list"); got != want {
			t.Errorf("%s: %d, want %d", body, got, want)
		}
	}
}
