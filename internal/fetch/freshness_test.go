package fetch

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFreshness(t *testing.T) {
	now := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	cases := []struct {
		name     string
		headers  map[string]string
		until    time.Duration // from now; -1: not keepable
		ageKnown bool
		noKeep   string
	}{
		{"max-age", map[string]string{"Cache-Control": "public, max-age=60"}, 60 * time.Second, false, ""},
		{"s-maxage wins", map[string]string{"Cache-Control": "max-age=60, s-maxage=300"}, 300 * time.Second, false, ""},
		{"age subtracted", map[string]string{"Cache-Control": "max-age=60", "Age": "45"}, 15 * time.Second, true, ""},
		{"origin date is age", map[string]string{"Cache-Control": "max-age=60", "Date": date(-20 * time.Second)}, 40 * time.Second, true, ""},
		{"expires minus date", map[string]string{"Expires": date(90 * time.Second), "Date": date(0)}, 90 * time.Second, false, ""},
		{"no-store", map[string]string{"Cache-Control": "no-store, max-age=60"}, -1, false, "no-store"},
		{"private", map[string]string{"Cache-Control": "Private, max-age=60"}, -1, false, "private"},
		{"nothing", map[string]string{"Content-Type": "text/html"}, -1, false, "no freshness information"},
		{"max-age=0", map[string]string{"Cache-Control": "max-age=0"}, -1, false, "no freshness lifetime"},
	}
	t.Run("whole seconds", func(t *testing.T) {
		h := http.Header{"Cache-Control": {"max-age=4"}}
		if f := Freshness(h, now.Add(900*time.Millisecond)); !f.Until.Equal(now.Add(4 * time.Second)) {
			t.Fatalf("sent at .9 s: fresh until %v, want the whole second +4", f.Until.Sub(now))
		}
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range c.headers {
				h.Set(k, v)
			}
			f := Freshness(h, now)
			if c.until < 0 {
				if !strings.Contains(f.NoKeep, c.noKeep) || !f.Until.IsZero() {
					t.Fatalf("got %+v, want not keepable for %q", f, c.noKeep)
				}
				return
			}
			if f.NoKeep != "" || !f.Until.Equal(now.Add(c.until)) || f.AgeKnown != c.ageKnown {
				t.Fatalf("got %+v, want until now+%s (age known %v)", f, c.until, c.ageKnown)
			}
		})
	}
}
