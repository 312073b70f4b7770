package edge_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"prewarm/internal/edge"
	"prewarm/internal/minicdn"
	"prewarm/internal/warm"
)

// A DNS server that answers by client subnet gives each country its own
// edge; a country it has no answer for is one failed POP, with the reason.
func TestResolveDiscoversEdgesByClientSubnet(t *testing.T) {
	dns := minicdn.StartDNST(t)
	dns.SetByCountry("cdn.example.net", map[string][]string{"JP": {"127.0.0.2", "127.0.0.4"}, "US": {"127.0.0.3"}})
	dns.SetCNAME("www.example.com", "cdn.example.net")
	r, err := edge.NewResolver(edge.Builtin(), edge.ResolverConfig{DNSServer: dns.Addr, AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	targets := []warm.Target{{Code: "JP", Explicit: true, Discover: warm.DiscoverECS},
		{Code: "US", Explicit: true, Discover: warm.DiscoverECS}, {Code: "KR", Explicit: true, Discover: warm.DiscoverECS}}
	got := r.Resolve(context.Background(), "www.example.com", targets)
	if len(got) != 3 {
		t.Fatalf("got %d POPs, want 3: %+v", len(got), got)
	}
	if got[0].Code != "JP-1" || !slices.Equal(got[0].Addresses, []string{"127.0.0.2", "127.0.0.4"}) || !got[0].Usable() {
		t.Errorf("JP: %+v", got[0])
	}
	if got[1].Code != "US-1" || !slices.Equal(got[1].Addresses, []string{"127.0.0.3"}) {
		t.Errorf("US: %+v", got[1])
	}
	if got[2].Code != "KR" || got[2].Usable() || !strings.Contains(got[2].Error, "no edge answers for www.example.com from clients in KR") ||
		!strings.Contains(got[2].Error, "no A or AAAA record") {
		t.Errorf("KR: %+v", got[2])
	}

	// Private answers are refused unless allowed, as a POP's are.
	strict, err := edge.NewResolver(edge.Builtin(), edge.ResolverConfig{DNSServer: dns.Addr})
	if err != nil {
		t.Fatal(err)
	}
	if got := strict.Resolve(context.Background(), "cdn.example.net", targets[:1]); got[0].Usable() || !strings.Contains(got[0].Error, "refused private") {
		t.Errorf("private edge admitted: %+v", got[0])
	}
}

func TestCountries(t *testing.T) {
	cat := edge.Builtin()
	for _, tc := range []struct {
		kind string
		keys []string
		want []string
	}{
		{"country", []string{"JP", "japan", "Japan", "us"}, []string{"JP", "US"}},
		{"country", []string{"china"}, []string{"CN"}}, // the original's key, not its Singapore POPs
		{"region", []string{"jp"}, []string{"JP"}},
	} {
		got, err := cat.Countries(tc.kind, tc.keys)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Countries(%s, %q) = %q, %v; want %q", tc.kind, tc.keys, got, err, tc.want)
		}
	}
	eu, err := cat.Countries("region", []string{"europe"})
	if err != nil || !slices.Contains(eu, "DE") || slices.Contains(eu, "JP") {
		t.Errorf("europe = %q, %v", eu, err)
	}
	all, err := cat.Countries("country", nil)
	if err != nil || len(all) == 0 {
		t.Errorf("defaults = %q, %v", all, err)
	}
	for _, tc := range []struct{ kind, key, field string }{
		{"country", "XX", "countries"}, {"country", "Atlantis", "countries"}, {"region", "mars", "regions"}, {"pop", "SIN2-P1", "target_type"},
	} {
		_, err := cat.Countries(tc.kind, []string{tc.key})
		var in *warm.InputError
		if !errors.As(err, &in) || in.Field != tc.field {
			t.Errorf("Countries(%s, %s) = %v; want an input error on %s", tc.kind, tc.key, err, tc.field)
		}
	}
}

// The embedded table is the generated one: every country has networks,
// and the big ones are there.
func TestCountryNetworks(t *testing.T) {
	for _, cc := range []string{"JP", "US", "DE", "BR", "IN", "jp"} {
		nets := edge.CountryNetworks(cc)
		if len(nets) == 0 {
			t.Errorf("%s: no network", cc)
		}
		for _, n := range nets {
			if !n.Addr().Is4() || n.Bits() != 24 || !edge.Public(n.Addr()) {
				t.Errorf("%s: %v is not a public /24", cc, n)
			}
		}
	}
	if edge.CountryNetworks("XX") != nil {
		t.Error("XX has networks")
	}
}

func TestPlace(t *testing.T) {
	cat := edge.Builtin()
	for code, want := range map[string][2]string{
		"NRT12-C1":          {"NRT", "JP"},
		"sin2-p1":           {"SIN", "SG"},
		"LHR":               {"LHR", "GB"},
		"cache-lhr7325-LHR": {"LHR", "GB"},
		"JP-1":              {"", "JP"},
		"8a1b2c3d4e5f-XYZ":  {"", ""},
		"":                  {"", ""},
		"edge-a":            {"", ""},
	} {
		if iata, cc := cat.Place(code); iata != want[0] || cc != want[1] {
			t.Errorf("Place(%q) = %s, %s; want %s, %s", code, iata, cc, want[0], want[1])
		}
	}
}

// A DNS server that never answers leaves the country a failed POP that
// says so, not a hang.
func TestDiscoverSaysWhenDNSDoesNotAnswer(t *testing.T) {
	dns := minicdn.StartDNST(t)
	dns.Silence("quiet.example.net")
	r, err := edge.NewResolver(edge.Builtin(), edge.ResolverConfig{DNSServer: dns.Addr, AllowPrivate: true, Timeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	got := r.Resolve(context.Background(), "quiet.example.net", []warm.Target{{Code: "DE", Explicit: true, Discover: warm.DiscoverECS}})
	if len(got) != 1 || got[0].Code != "DE" || got[0].Usable() || !strings.Contains(got[0].Error, "did not answer") {
		t.Errorf("%+v", got)
	}
}

// A DNS server that never answers is found silent by the first queries,
// and the other countries fail at once with that reason instead of each
// waiting out its own timeouts.
func TestDiscoverFailsFastOnceTheDNSServerIsFoundSilent(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	var queries atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			queries.Add(1)
		}
	}()
	r, err := edge.NewResolver(edge.Builtin(), edge.ResolverConfig{DNSServer: pc.LocalAddr().String(), Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var targets []warm.Target
	for _, cc := range strings.Fields("JP US KR DE FR GB IT ES NL SE NO FI DK PL BR AR CA AU IN SG TW HK NZ MX BE AT CH IE PT CZ") {
		if len(edge.CountryNetworks(cc)) == 0 {
			t.Fatalf("%s has no networks", cc)
		}
		targets = append(targets, warm.Target{Code: cc, Explicit: true, Discover: warm.DiscoverECS})
	}
	got := r.Resolve(context.Background(), "quiet.example.net", targets)
	fast := 0
	for _, st := range got {
		if st.Usable() || !strings.Contains(st.Error, "did not answer") {
			t.Errorf("%+v", st)
		}
		if strings.Contains(st.Error, "not asked again") {
			fast++
		}
	}
	// Each country asks at most 16 at a time; once the first A query
	// (asked twice) times out, nothing more is sent.
	if n := queries.Load(); n > 2*16 || fast < len(targets)-16 {
		t.Fatalf("%d queries sent, %d of %d countries failed fast; want at most 32 and at least %d", n, fast, len(targets), len(targets)-16)
	}
}
