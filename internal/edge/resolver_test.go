package edge

import (
	"net/netip"
	"strings"
	"testing"
)

// Only addresses of the public internet are admitted as edges, whatever
// form an address takes.
func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"203.0.114.7": true, "8.8.8.8": true, "2600:9000::1": true, "64:ff9b::808:808": true, "2002:808:808::1": true,
		"::ffff:8.8.8.8": true,
		"127.0.0.1":      false, "10.0.0.1": false, "172.16.0.1": false, "192.168.1.1": false, "169.254.169.254": false,
		"100.64.0.1": false, "0.1.2.3": false, "192.0.0.8": false, "192.0.2.1": false, "198.18.0.1": false,
		"198.51.100.1": false, "203.0.113.9": false, "240.0.0.1": false, "255.255.255.255": false, "224.0.0.1": false,
		"::1": false, "::": false, "fe80::1": false, "fc00::1": false, "fd12::1": false, "ff02::1": false,
		"2001:db8::1": false, "::ffff:10.0.0.1": false, "::a00:1": false,
		"64:ff9b::a00:1": false, "64:ff9b::7f00:1": false, "64:ff9b:1::a00:1": false,
		"2002:7f00:1::1": false, "2002:a00:1::1": false, "2001:0:4136:e378:8000:63bf:3fff:fdd2": false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestDNSServerAddress(t *testing.T) {
	for in, want := range map[string]string{
		"1.1.1.1":        "1.1.1.1:53",
		"1.1.1.1:5353":   "1.1.1.1:5353",
		"dns.example":    "dns.example:53",
		"dns.example:53": "dns.example:53",
		"::1":            "[::1]:53",
		"[::1]:5353":     "[::1]:5353",
	} {
		if got, err := DNSServerAddress(in); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"nonsense:abc":    `the port "abc"`,
		"127.0.0.1:99999": `the port "99999"`,
		"127.0.0.1:0":     `the port "0"`,
		"bad host:53":     `"bad host" is neither`,
		":53":             `"" is neither`,
		"10.0.0.256":      `"10.0.0.256" is neither`,
	} {
		if _, err := DNSServerAddress(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}
