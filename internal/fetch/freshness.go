package fetch

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"prewarm/internal/warm"
)

// Freshness reads how long the POP that answered keeps its copy fresh, as
// a shared cache reads it (RFC 9111 §4.2): s-maxage, else max-age, else
// Expires − Date; less the copy's age (Age, else how old the Date the POP
// kept from the origin is). sentAt is when the request went. Caches count
// freshness in whole seconds (nginx and Varnish store an expiry second,
// Age is in seconds): it starts at the second sentAt falls in, so that
// the end found is never later than the POP's.
func Freshness(h http.Header, sentAt time.Time) warm.Freshness {
	receivedAt := sentAt.Truncate(time.Second)
	dirs := cacheControl(h.Values("Cache-Control"))
	for _, d := range []string{"no-store", "private", "no-cache"} {
		if _, ok := dirs[d]; ok {
			return warm.Freshness{NoKeep: "Cache-Control: " + d + " (a shared cache does not keep it fresh)"}
		}
	}
	date, hasDate := httpTime(h.Get("Date"))
	var lifetime time.Duration
	switch {
	case dirs["s-maxage"] != "":
		lifetime = seconds(dirs["s-maxage"])
	case dirs["max-age"] != "":
		lifetime = seconds(dirs["max-age"])
	case h.Get("Expires") != "":
		exp, ok := httpTime(h.Get("Expires"))
		if ok && hasDate {
			lifetime = max(exp.Sub(date), 0)
		} else if ok {
			lifetime = max(exp.Sub(receivedAt), 0)
		}
	default:
		return warm.Freshness{NoKeep: "no freshness information (no Cache-Control max-age or s-maxage, no Expires)"}
	}
	if lifetime <= 0 {
		return warm.Freshness{NoKeep: "no freshness lifetime (max-age=0 or an Expires in the past)"}
	}
	f := warm.Freshness{Lifetime: lifetime}
	var age time.Duration
	if v := strings.TrimSpace(h.Get("Age")); v != "" {
		age, f.AgeKnown = seconds(v), true
	} else if hasDate && receivedAt.Sub(date) >= time.Second {
		// A Date a second or more old is the origin's, kept with the copy.
		age, f.AgeKnown = receivedAt.Sub(date), true
	}
	f.Until = receivedAt.Add(lifetime - age)
	return f
}

// cacheControl splits Cache-Control values into lower-case directives and
// their (unquoted) arguments.
func cacheControl(values []string) map[string]string {
	out := map[string]string{}
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(part), "=")
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				out[name] = strings.Trim(strings.TrimSpace(arg), `"`)
			}
		}
	}
	return out
}

// seconds reads a delta-seconds value; a bad one is 0.
func seconds(v string) time.Duration {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(min(n, int64(10*365*24*3600))) * time.Second
}

func httpTime(v string) (time.Time, bool) {
	if v = strings.TrimSpace(v); v == "" {
		return time.Time{}, false
	}
	t, err := http.ParseTime(v)
	return t, err == nil
}
