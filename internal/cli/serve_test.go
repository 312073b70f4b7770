package cli

import (
	"net"
	"testing"
)

// Links are absolute only when serve knows its name: --public-url, or a
// --listen address of one host; on every address they are relative, since
// a request's Host header is the client's to write.
func TestPublicURL(t *testing.T) {
	tcp := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	for _, c := range []struct {
		flag string
		addr net.Addr
		tls  bool
		want string
	}{
		{"https://prewarm.example.com", tcp("0.0.0.0:8080"), false, "https://prewarm.example.com"},
		{"", tcp("127.0.0.1:8080"), false, "http://127.0.0.1:8080"},
		{"", tcp("[::1]:8443"), true, "https://[::1]:8443"},
		{"", tcp("0.0.0.0:8080"), false, ""},
		{"", tcp("[::]:8080"), false, ""},
	} {
		if got := publicURL(c.flag, c.addr, c.tls); got != c.want {
			t.Errorf("publicURL(%q, %v, %v) = %q, want %q", c.flag, c.addr, c.tls, got, c.want)
		}
	}
}
