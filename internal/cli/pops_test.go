package cli

import (
	"bytes"
	"strings"
	"testing"

	"prewarm/internal/minicdn"
)

// pops --discover warns when every country got the same edge (a DNS
// server that ignores the client subnet), and fails when none got any.
func TestPopsDiscoverWarnsOfOneEdgeAndFailsOnNone(t *testing.T) {
	dns := minicdn.StartDNST(t)
	dns.Set("flat.example.net", "192.0.2.7")
	dns.SetByCountry("steered.example.net", map[string][]string{"JP": {"192.0.2.1"}, "US": {"192.0.2.2"}})
	discover := func(host string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := Main([]string{"pops", "--discover", host, "--country", "JP", "--country", "US", "--dns-server", dns.Addr}, &stdout, &stderr)
		return code, stderr.String()
	}
	const warning = "every country got the same edge (192.0.2.7): does --dns-server pass EDNS Client Subnet on?"
	if code, stderr := discover("flat.example.net"); code != 0 || !strings.Contains(stderr, warning) {
		t.Errorf("one edge for all: exit %d\n%s", code, stderr)
	}
	if code, stderr := discover("steered.example.net"); code != 0 || strings.Contains(stderr, "warning") {
		t.Errorf("an edge per country: exit %d\n%s", code, stderr)
	}
	if code, stderr := discover("missing.example.net"); code == 0 || !strings.Contains(stderr, "no edge found") {
		t.Errorf("no edge: exit %d\n%s", code, stderr)
	}
}

// A --dns-server that is no host:port is refused before anything is asked.
func TestPopsRefusesABadDNSServer(t *testing.T) {
	for _, bad := range []string{"nonsense:abc", "127.0.0.1:99999"} {
		var stdout, stderr bytes.Buffer
		code := Main([]string{"pops", "--discover", "www.example.com", "--country", "JP", "--dns-server", bad}, &stdout, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), "--dns-server \""+bad+"\": the port") {
			t.Errorf("--dns-server %s: exit %d: %s", bad, code, &stderr)
		}
	}
}
