package warm

import (
	"slices"
	"testing"
	"time"
)

func TestFairShares(t *testing.T) {
	for _, tc := range []struct {
		capacity int
		demands  []int
		want     []int
	}{
		{8, []int{20, 20}, []int{4, 4}},
		{8, []int{1, 20}, []int{1, 7}},
		{8, []int{20}, []int{8}},
		{8, []int{2, 3}, []int{2, 3}},
		{7, []int{20, 20}, []int{4, 3}},
		{3, []int{5, 5, 5, 5}, []int{1, 1, 1, 0}},
		{8, []int{0, 20}, []int{0, 8}},
		{0, []int{5}, []int{0}},
	} {
		got := FairShares(tc.capacity, tc.demands)
		if !slices.Equal(got, tc.want) {
			t.Errorf("FairShares(%d, %v) = %v, want %v", tc.capacity, tc.demands, got, tc.want)
		}
		sum := 0
		for _, g := range got {
			sum += g
		}
		if sum > tc.capacity {
			t.Errorf("FairShares(%d, %v) gives %d", tc.capacity, tc.demands, sum)
		}
	}
}

// A paused host resumes at its window, which grows back until it reaches
// the configured limit.
func TestHostStateWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := HostState{Host: "a.test", PausedUntil: now.Add(2 * time.Second), ResumeWindow: 10}
	configured := Limit{Concurrency: 40, RPS: 5}
	for _, tc := range []struct {
		at   time.Duration
		want int
	}{{0, 10}, {2 * time.Second, 10}, {7 * time.Second, 15}, {12 * time.Second, 20}, {32 * time.Second, 40}, {time.Hour, 40}} {
		l := h.Limit(configured, now.Add(tc.at))
		if l.Concurrency != tc.want || l.RPS != 5 {
			t.Errorf("at %v: %+v, want %d in flight", tc.at, l, tc.want)
		}
	}
	if h.Recovered(configured, now.Add(10*time.Second)) || !h.Recovered(configured, now.Add(40*time.Second)) {
		t.Error("recovered too early or not at all")
	}
	// With no configured limit, it recovers far past where it pushed back.
	if h.Recovered(Limit{}, now.Add(time.Minute)) || !h.Recovered(Limit{}, now.Add(3*time.Minute)) {
		t.Error("unlimited host: recovered too early or not at all")
	}
	l, _, paused := HostLimits{Default: configured, Hosts: map[string]HostState{"a.test": h}}.For("b.test", now)
	if l != configured || paused {
		t.Errorf("a host that never pushed back: %+v %v", l, paused)
	}
}

func TestURLHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://WWW.Example.test:8443/a?b": "www.example.test",
		"http://[::1]:80/":                  "::1",
		"::":                                "",
	} {
		if got := URLHost(in); got != want {
			t.Errorf("URLHost(%q) = %q, want %q", in, got, want)
		}
	}
}
