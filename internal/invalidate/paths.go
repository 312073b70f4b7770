package invalidate

import (
	"net/url"
	"strings"
)

// CloudFront's quotas for one invalidation request.
const (
	maxPathsPerBatch     = 3000
	maxWildcardsPerBatch = 15
)

// Paths turns URLs into CloudFront invalidation paths: the path in its
// escaped form, as a viewer sends it on the wire ("/" when empty), plus "?"
// and the raw query when there is one. The query is kept because a
// distribution that caches on query strings holds /a.js?v=2 as its own
// object, and invalidating only /a.js would leave it stale. Duplicates are
// dropped, order is kept; a URL that does not parse is skipped (Invalidate
// rejects such input before calling this).
func Paths(urls []string) []string {
	out := make([]string, 0, len(urls))
	seen := make(map[string]struct{}, len(urls))
	for _, raw := range urls {
		p, ok := path(raw)
		if !ok {
			continue
		}
		if _, dup := seen[p]; dup {
			continue
		}
		seen[p] = struct{}{}
		out = append(out, p)
	}
	return out
}

// path is one URL's invalidation path.
func path(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", false
	}
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		// CloudFront requires a leading slash; "https://host" has an
		// empty path and means the root object.
		p = "/" + p
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p, true
}

// isWildcard: CloudFront counts any path with '*' against the wildcard
// quota, wherever the star is.
func isWildcard(p string) bool { return strings.Contains(p, "*") }

// batches splits paths into as few invalidation requests as CloudFront's
// per-request quotas allow, keeping the order.
func batches(paths []string) [][]string {
	var out [][]string
	var cur []string
	wild := 0
	for _, p := range paths {
		w := isWildcard(p)
		if len(cur) == maxPathsPerBatch || (w && wild == maxWildcardsPerBatch) {
			out = append(out, cur)
			cur, wild = nil, 0
		}
		cur = append(cur, p)
		if w {
			wild++
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
