package fetch

import (
	"net/http"
	"strconv"
	"strings"
)

// Normalised cache statuses.
const (
	Hit         = "HIT"
	Miss        = "MISS"
	RefreshHit  = "REFRESH_HIT"
	Expired     = "EXPIRED"
	Stale       = "STALE"
	Bypass      = "BYPASS"
	Revalidated = "REVALIDATED"
	Updating    = "UPDATING"
	Dynamic     = "DYNAMIC"
	Error       = "ERROR"
)

// CacheStatus reads what the edge says about its cache, from the headers
// CDNs and caches use: CloudFront's and Fastly's X-Cache, Cloudflare's
// CF-Cache-Status, nginx's X-Cache-Status, RFC 9211 Cache-Status, and, when
// none of those is present, a non-zero Age. "" means the edge did not say.
func CacheStatus(h http.Header) string {
	if v := h.Get("X-Cache"); v != "" {
		if s := xCache(v); s != "" {
			return s
		}
	}
	for _, name := range []string{"Cf-Cache-Status", "X-Cache-Status", "X-Proxy-Cache", "X-Varnish-Cache"} {
		if v := h.Get(name); v != "" {
			if s := word(v); s != "" {
				return s
			}
		}
	}
	if vs := h.Values("Cache-Status"); len(vs) > 0 {
		if s := rfc9211(strings.Join(vs, ",")); s != "" {
			return s
		}
	}
	if age, err := strconv.Atoi(strings.TrimSpace(h.Get("Age"))); err == nil && age > 0 {
		return Hit
	}
	return ""
}

// xCache reads "Hit from cloudfront", "RefreshHit from cloudfront", Fastly's
// "MISS, HIT" (one entry per cache layer, the last nearest the viewer) or a
// bare "HIT".
func xCache(v string) string {
	parts := strings.Split(v, ",")
	last := strings.TrimSpace(parts[len(parts)-1])
	first, _, _ := strings.Cut(last, " ")
	return word(first)
}

// word maps one cache-status word to its normal form.
func word(v string) string {
	v = strings.ToUpper(strings.TrimSpace(v))
	v = strings.ReplaceAll(v, "-", "_")
	switch v {
	case "HIT", "TCP_HIT", "TCP_MEM_HIT", "LOCALHIT":
		return Hit
	case "REFRESHHIT", "REFRESH_HIT", "TCP_REFRESH_HIT":
		return RefreshHit
	case "MISS", "TCP_MISS":
		return Miss
	case "EXPIRED":
		return Expired
	case "STALE":
		return Stale
	case "BYPASS", "PASS", "UNCACHEABLE":
		return Bypass
	case "REVALIDATED":
		return Revalidated
	case "UPDATING":
		return Updating
	case "DYNAMIC":
		return Dynamic
	case "ERROR":
		return Error
	}
	return ""
}

// rfc9211 reads the entry nearest the viewer (the last) of a Cache-Status
// field: "hit", or "fwd=<reason>" for a response that went forward.
func rfc9211(v string) string {
	entries := strings.Split(v, ",")
	entry := strings.TrimSpace(entries[len(entries)-1])
	params := strings.Split(entry, ";")
	for _, p := range params[1:] {
		key, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(key) {
		case "hit":
			return Hit
		case "fwd":
			switch strings.ToLower(strings.Trim(val, `"`)) {
			case "bypass":
				return Bypass
			case "stale":
				return Revalidated
			default:
				return Miss
			}
		}
	}
	return ""
}

// ServedBy is the POP the edge says served the response, when it says.
func ServedBy(h http.Header) string {
	if v := h.Get("X-Amz-Cf-Pop"); v != "" {
		return strings.TrimSpace(v)
	}
	if v := h.Get("X-Edge-Location"); v != "" {
		return strings.TrimSpace(v)
	}
	// Fastly: "cache-lhr7325-LHR" (a list when shielded; the last is the
	// edge the viewer reached).
	if v := h.Get("X-Served-By"); v != "" {
		parts := strings.Split(v, ",")
		return strings.TrimSpace(parts[len(parts)-1])
	}
	// Cloudflare: "<ray id>-LHR".
	if v := h.Get("Cf-Ray"); v != "" {
		if i := strings.LastIndexByte(v, '-'); i >= 0 {
			return strings.TrimSpace(v[i+1:])
		}
	}
	return ""
}
