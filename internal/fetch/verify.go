package fetch

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"prewarm/internal/warm"
)

// verify proves a warm: the warm's own answer, or else a cheap second
// request through the same edge address, must be a HIT from the intended
// POP. (A re-warm of a warm cache is proved by its GET alone; a GET that
// filled the cache is followed by the second request.) When it is not, the
// task gets the most likely reason, read from the warm's own response
// (Cache-Control, Set-Cookie, Vary) or from the probe (MISS); a Vary the job
// does not cover becomes a warning either way.
func (c *Client) verify(ctx context.Context, r warm.FetchRequest, res *warm.Result, h http.Header) {
	reason, warning := cacheHints(h, r)
	res.Warning = warning
	if pop := strings.TrimSpace(h.Get("X-Amz-Cf-Pop")); pop != "" && cloudFrontCode.MatchString(r.POP) && !strings.EqualFold(pop, r.POP) {
		res.Reason = fmt.Sprintf("served by %s, not %s (DNS steered the request elsewhere)", pop, r.POP)
		return
	}
	if msg, fails := c.elsewhere(r.POP, res.ServedBy); fails {
		res.Reason = msg
		return
	} else if msg != "" {
		res.Warning = strings.TrimPrefix(res.Warning+"; "+msg, "; ")
	}
	if served(res.CacheStatus) {
		res.Verified = true
		return
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return
	}
	probe := c.probeCache(ctx, u, r.Headers, res.EdgeIP)
	status := probe.CacheStatus
	if served(status) {
		res.Verified = true
		return
	}
	switch {
	case reason != "":
	case probe.StatusCode == 0:
		reason = "no answer when asked again after the warm: " + probe.Error
	case probe.StatusCode >= 400:
		reason = fmt.Sprintf("HTTP %d when asked again after the warm", probe.StatusCode)
	case status == "":
		reason = "the edge's answer says nothing of its cache (no X-Cache, Cache-Status or Age)"
	default:
		reason = status + " when asked again after the warm"
	}
	res.Reason = reason
}

// served reports whether a cache status says the answer came from the
// edge's cache.
func served(status string) bool {
	switch status {
	case Hit, RefreshHit, Stale, Revalidated, Updating:
		return true
	}
	return false
}

var cloudFrontCode = regexp.MustCompile(`(?i)^[A-Z]{3}[0-9]+-[A-Z][0-9]+$`)

// probeCache asks the edge at addr for the object again, without its body
// (HEAD, or one byte where HEAD is refused), and returns its answer. A
// busy edge that resets the connection or answers 5xx is asked again by
// the client's policy (Attempts, Backoff), as a warm is: an object it
// holds is not called not cached for one dropped connection.
func (c *Client) probeCache(ctx context.Context, u *url.URL, headers []string, addr string) warm.Result {
	var res warm.Result
	for attempt := 1; attempt <= c.cfg.Attempts; attempt++ {
		res = c.once(ctx, http.MethodHead, u, headers, addr, nil, false)
		if res.StatusCode == http.StatusMethodNotAllowed || res.StatusCode == http.StatusNotImplemented {
			ranged := append(slices.Clone(headers), "Range: bytes=0-0")
			res = c.once(ctx, http.MethodGet, u, ranged, addr, nil, true)
		}
		if !retryable(res.StatusCode) || ctx.Err() != nil || attempt == c.cfg.Attempts {
			break
		}
		select {
		case <-time.After(c.cfg.Backoff(attempt)):
		case <-ctx.Done():
		}
	}
	return res
}

// cacheHints reads from a response why a cache would not keep it, and what
// in its Vary the job does not cover.
func cacheHints(h http.Header, r warm.FetchRequest) (reason, warning string) {
	cc := directives(h.Values("Cache-Control"))
	switch {
	case cc["no-store"] != nil:
		reason = "Cache-Control: no-store"
	case cc["private"] != nil:
		reason = "Cache-Control: private"
	case zero(cc["s-maxage"]), cc["s-maxage"] == nil && zero(cc["max-age"]):
		reason = "Cache-Control: max-age=0"
	case len(h.Values("Set-Cookie")) > 0:
		reason = "the response sets a cookie (Set-Cookie)"
	}
	var warnings []string
	sent := map[string]bool{}
	for _, hv := range r.Headers {
		name, _ := warm.ParseHeader(hv)
		sent[strings.ToLower(name)] = true
	}
	for _, v := range h.Values("Vary") {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			switch lower := strings.ToLower(name); {
			case name == "":
			case name == "*":
				if reason == "" {
					reason = "Vary: *"
				}
			case lower == "accept-encoding" && r.Variant != "":
				// Each encoding is a task of its own.
			case lower == "accept-encoding":
				warnings = append(warnings, "responses vary on Accept-Encoding; the job sends one value (list encodings to warm each)")
			case sent[lower] || lower == "user-agent":
				warnings = append(warnings, fmt.Sprintf("responses vary on %s; the job sends one value", http.CanonicalHeaderKey(name)))
			default:
				warnings = append(warnings, fmt.Sprintf("responses vary on %s; the job sends none, so only viewers without it get the warmed copy", http.CanonicalHeaderKey(name)))
			}
		}
	}
	return reason, strings.Join(warnings, "; ")
}

// directives parses Cache-Control into lower-case directive → value (""
// for a directive without one).
func directives(values []string) map[string]*string {
	out := map[string]*string{}
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				val = strings.Trim(strings.TrimSpace(val), `"`)
				out[name] = &val
			}
		}
	}
	return out
}

func zero(v *string) bool {
	if v == nil {
		return false
	}
	n, err := strconv.Atoi(*v)
	return err == nil && n <= 0
}

// elsewhere compares where the edge says it served from with where the
// task was meant to land, when both places are known. A POP the user
// named that answers from another city or country did not warm the cache
// asked for: the verification fails. An edge found by ECS for a country
// is, by construction, the one that country's viewers reach, wherever it
// is: its being elsewhere is worth a warning (those viewers are served
// from far away), not a failure of the warm.
func (c *Client) elsewhere(pop, servedBy string) (msg string, fails bool) {
	if c.cfg.Places == nil || servedBy == "" {
		return "", false
	}
	wantIATA, wantCC := c.cfg.Places.Place(pop)
	gotIATA, gotCC := c.cfg.Places.Place(servedBy)
	if wantCC == "" || gotCC == "" {
		return "", false
	}
	if cc := warm.DiscoveredCountry(pop); cc != "" {
		if gotCC != cc {
			return fmt.Sprintf("answered from %s (%s in %s), though DNS gives this edge to clients in %s", servedBy, gotIATA, gotCC, cc), false
		}
		return "", false
	}
	switch {
	case gotCC != wantCC:
		return fmt.Sprintf("served by %s (%s), not %s (%s): the edge answered from elsewhere", servedBy, gotCC, pop, wantCC), true
	case wantIATA != "" && gotIATA != wantIATA:
		return fmt.Sprintf("served by %s (%s), not %s (%s): the edge answered from elsewhere", servedBy, gotIATA, pop, wantIATA), true
	}
	return "", false
}
