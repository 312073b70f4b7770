package fetch

import (
	"net/http"
	"testing"
)

func TestCacheStatus(t *testing.T) {
	cases := []struct {
		name   string
		header map[string]string
		want   string
	}{
		{"cloudfront hit", map[string]string{"X-Cache": "Hit from cloudfront"}, Hit},
		{"cloudfront miss", map[string]string{"X-Cache": "Miss from cloudfront"}, Miss},
		{"cloudfront refresh", map[string]string{"X-Cache": "RefreshHit from cloudfront"}, RefreshHit},
		{"fastly layers, last is the edge", map[string]string{"X-Cache": "MISS, HIT"}, Hit},
		{"varnish bare", map[string]string{"X-Cache": "HIT"}, Hit},
		{"cloudflare", map[string]string{"CF-Cache-Status": "EXPIRED"}, Expired},
		{"cloudflare dynamic", map[string]string{"CF-Cache-Status": "DYNAMIC"}, Dynamic},
		{"nginx", map[string]string{"X-Cache-Status": "HIT"}, Hit},
		{"nginx bypass", map[string]string{"X-Cache-Status": "BYPASS"}, Bypass},
		{"rfc9211 hit", map[string]string{"Cache-Status": "OriginCache; fwd=uri-miss, EdgeCache; hit; ttl=30"}, Hit},
		{"rfc9211 miss", map[string]string{"Cache-Status": "EdgeCache; fwd=uri-miss; stored"}, Miss},
		{"rfc9211 bypass", map[string]string{"Cache-Status": `EdgeCache; fwd="bypass"`}, Bypass},
		{"age only", map[string]string{"Age": "12"}, Hit},
		{"age zero", map[string]string{"Age": "0"}, ""},
		{"unknown x-cache falls through to age", map[string]string{"X-Cache": "weird", "Age": "3"}, Hit},
		{"nothing", map[string]string{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range c.header {
				h.Set(k, v)
			}
			if got := CacheStatus(h); got != c.want {
				t.Errorf("CacheStatus(%v) = %q, want %q", c.header, got, c.want)
			}
		})
	}
}

func TestServedBy(t *testing.T) {
	cases := map[string][2]string{
		"cloudfront": {"X-Amz-Cf-Pop", "SIN2-P1"},
		"fastly":     {"X-Served-By", "cache-iad-kiad7000025-IAD, cache-lhr7325-LHR"},
		"cloudflare": {"CF-Ray", "8a1b2c3d4e5f6789-LHR"},
	}
	want := map[string]string{"cloudfront": "SIN2-P1", "fastly": "cache-lhr7325-LHR", "cloudflare": "LHR"}
	for name, hv := range cases {
		h := http.Header{}
		h.Set(hv[0], hv[1])
		if got := ServedBy(h); got != want[name] {
			t.Errorf("%s: ServedBy = %q, want %q", name, got, want[name])
		}
	}
}
