package warm

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type fakeSelector struct{}

func (fakeSelector) Select(targetType string, keys []string) ([]Target, error) {
	if len(keys) == 0 {
		return []Target{{Code: "DEF1-P1", Explicit: true}}, nil
	}
	out := make([]Target, 0, len(keys))
	for _, k := range keys {
		if k == "bad" {
			return nil, Invalid("pops", "%q is not a POP code", k)
		}
		out = append(out, Target{Code: k, Explicit: true})
	}
	return out, nil
}

// Countries reads each key as an ISO code; "XX" is unknown.
func (fakeSelector) Countries(targetType string, keys []string) ([]string, error) {
	if len(keys) == 0 {
		return []string{"US"}, nil
	}
	var out []string
	for _, k := range keys {
		if strings.EqualFold(k, "XX") {
			return nil, Invalid("countries", "unknown country %q", k)
		}
		out = append(out, strings.ToUpper(k))
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }

func TestNewJob(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	base := func() JobSpec {
		return JobSpec{URLs: []string{"https://www.example.com/a"}, CFDomain: "d1.cloudfront.net", POPs: []string{"SIN2-P1"}}
	}
	t.Run("defaults", func(t *testing.T) {
		j, urls, err := NewJob(base(), fakeSelector{}, DefaultLimits, "id", now)
		if err != nil {
			t.Fatal(err)
		}
		if j.Timeout != 30*time.Minute || !j.TimeoutAt.Equal(now.Add(30*time.Minute)) || j.TargetType != "pop" ||
			j.Status != StatusCreated || len(urls) != 1 || j.URLCount != 1 || j.Targets[0].Code != "SIN2-P1" {
			t.Fatalf("job %+v urls %v", j, urls)
		}
	})
	t.Run("vantage", func(t *testing.T) {
		for raw, want := range map[string]string{"": "", "anywhere": "", " Agents ": VantageAgents} {
			s := base()
			s.Vantage = raw
			if j, _, err := NewJob(s, fakeSelector{}, DefaultLimits, "id", now); err != nil || j.Vantage != want {
				t.Errorf("vantage %q: %+v, %v; want %q", raw, j, err, want)
			}
		}
		s := base()
		s.Vantage = "everywhere"
		var ie *InputError
		if _, _, err := NewJob(s, fakeSelector{}, DefaultLimits, "id", now); !errors.As(err, &ie) || ie.Field != "vantage" {
			t.Fatalf("vantage everywhere: %v, want an input error naming vantage", err)
		}
	})
	for _, c := range []struct {
		name string
		urls []string
		want string // the job's URLs, joined by commas
	}{
		{"dedup keeps order and trims", []string{" https://a.test/2 ", "https://a.test/1", "https://a.test/2"},
			"https://a.test/2,https://a.test/1"},
		{"a fragment is not part of the object", []string{"https://a.test/v.mp4#t=10", "https://a.test/v.mp4#t=20", "https://a.test/v.mp4"},
			"https://a.test/v.mp4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := base()
			s.URLs = c.urls
			_, urls, err := NewJob(s, fakeSelector{}, DefaultLimits, "id", now)
			if err != nil || strings.Join(urls, ",") != c.want {
				t.Fatalf("%v %v", urls, err)
			}
		})
	}
	t.Run("fractional timeout", func(t *testing.T) {
		s := base()
		s.TimeoutMinutes = ptr(0.5)
		j, _, err := NewJob(s, fakeSelector{}, DefaultLimits, "id", now)
		if err != nil || j.Timeout != 30*time.Second {
			t.Fatalf("%v %v", j, err)
		}
	})
	bad := []struct {
		name  string
		edit  func(*JobSpec)
		field string
	}{
		{"no urls", func(s *JobSpec) { s.URLs = nil }, "url_list"},
		{"no cf_domain", func(s *JobSpec) { s.CFDomain = " " }, "cf_domain"},
		{"cf_domain with scheme", func(s *JobSpec) { s.CFDomain = "https://d1.cloudfront.net" }, "cf_domain"},
		{"target type", func(s *JobSpec) { s.TargetType = "city" }, "target_type"},
		{"bad pop", func(s *JobSpec) { s.POPs = []string{"bad"} }, "pops"},
		{"zero timeout", func(s *JobSpec) { s.TimeoutMinutes = ptr(0.0) }, "timeout"},
		{"negative timeout", func(s *JobSpec) { s.TimeoutMinutes = ptr(-5.0) }, "timeout"},
		{"huge timeout", func(s *JobSpec) { s.TimeoutMinutes = ptr(1e9) }, "timeout"},
		{"header without colon", func(s *JobSpec) { s.Headers = []string{"X-A 1"} }, "header[0]"},
		{"header bad name", func(s *JobSpec) { s.Headers = []string{"X A: 1"} }, "header[0]"},
		{"host header", func(s *JobSpec) { s.Headers = []string{"Accept: */*", "host: x"} }, "header[1]"},
		{"capacity", func(s *JobSpec) { s.InstanceCount = ptr(301) }, "instance_count"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			s := base()
			c.edit(&s)
			_, _, err := NewJob(s, fakeSelector{}, DefaultLimits, "id", now)
			var in *InputError
			if !errors.As(err, &in) || in.Field != c.field {
				t.Fatalf("error %v, want an input error on %s", err, c.field)
			}
		})
	}
	t.Run("invalid urls are all listed", func(t *testing.T) {
		s := base()
		s.URLs = []string{"https://ok.test/", "ftp://x/", "not a url", "http:///nohost", "https://ok.test:99999/"}
		_, _, err := NewJob(s, fakeSelector{}, DefaultLimits, "id", now)
		var bad *InvalidURLsError
		if !errors.As(err, &bad) || len(bad.URLs) != 4 {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("too many urls", func(t *testing.T) {
		s := base()
		s.URLs = []string{"https://a.test/1", "https://a.test/2", "https://a.test/3"}
		lim := DefaultLimits
		lim.MaxURLs = 2
		_, _, err := NewJob(s, fakeSelector{}, lim, "id", now)
		var in *InputError
		if !errors.As(err, &in) || !in.TooLarge || in.Field != "url_list" {
			t.Fatalf("error %v", err)
		}
	})
}

func TestCountsAndProgress(t *testing.T) {
	p := Progress{Job: Job{Status: StatusInProgress}, Counts: Counts{Total: 3, Done: 2, InProgress: 1}}
	if p.Percent() != 66 || p.Available() != 0 || p.Running() != 1 {
		t.Fatalf("%d %d %d", p.Percent(), p.Available(), p.Running())
	}
	p.Status = StatusStopped
	if p.Available() != 0 || p.Running() != 0 {
		t.Fatal("a stopped job has nothing waiting or running")
	}
	if (Counts{}).Percent() != 0 {
		t.Fatal("empty job")
	}
}

// The fields of origin safety and of sharing the agents: given, they are
// kept; absent, their defaults; wrong, an error naming the field.
func TestNewJobBudgetTiersPriorityName(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	spec := JobSpec{URLs: []string{"https://www.example.com/a"}, CFDomain: "d1.cloudfront.net",
		MaxConcurrency: ptr(8), MaxRPS: ptr(2.5), TierFirst: ptr(false), Priority: " HIGH ", Name: "  patch 1.5 "}
	j, _, err := NewJob(spec, fakeSelector{}, DefaultLimits, "id", now)
	if err != nil {
		t.Fatal(err)
	}
	if j.MaxConcurrency != 8 || j.MaxRPS != 2.5 || j.TierFirst || j.Priority != PriorityHigh || j.Name != "patch 1.5" {
		t.Fatalf("job %+v", j)
	}
	j, _, err = NewJob(JobSpec{URLs: spec.URLs, CFDomain: spec.CFDomain}, fakeSelector{}, DefaultLimits, "id", now)
	if err != nil || j.MaxConcurrency != 0 || j.MaxRPS != 0 || !j.TierFirst || j.Priority != PriorityNormal || j.Name != "" {
		t.Fatalf("defaults: %+v %v", j, err)
	}
	for field, edit := range map[string]func(*JobSpec){
		"max_concurrency": func(s *JobSpec) { s.MaxConcurrency = ptr(0) },
		"max_rps":         func(s *JobSpec) { s.MaxRPS = ptr(-1.0) },
		"priority":        func(s *JobSpec) { s.Priority = "urgent" },
		"name":            func(s *JobSpec) { s.Name = "two\nlines" },
	} {
		bad := JobSpec{URLs: spec.URLs, CFDomain: spec.CFDomain}
		edit(&bad)
		var ie *InputError
		if _, _, err := NewJob(bad, fakeSelector{}, DefaultLimits, "id", now); !errors.As(err, &ie) || ie.Field != field {
			t.Errorf("%s: %v, want an input error naming it", field, err)
		}
	}
}

// The target type follows from the one list given; a list the target type
// would not read is refused, naming it.
func TestNewJobTargetTypeFromTheList(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	base := JobSpec{URLs: []string{"https://www.example.com/a"}, CFDomain: "d1.cloudfront.net"}
	spec := base
	spec.Regions = []string{"europe"}
	j, _, err := NewJob(spec, fakeSelector{}, DefaultLimits, "id", now)
	if err != nil || j.TargetType != "region" || j.Targets[0].Code != "europe" {
		t.Fatalf("regions alone: %+v %v", j, err)
	}
	for name, tc := range map[string]struct {
		edit  func(*JobSpec)
		field string
	}{
		"two lists":  {func(s *JobSpec) { s.POPs, s.Countries = []string{"A"}, []string{"JP"} }, "countries"},
		"mismatched": {func(s *JobSpec) { s.TargetType, s.Regions = "pop", []string{"eu"} }, "regions"},
	} {
		spec := base
		tc.edit(&spec)
		var ie *InputError
		if _, _, err := NewJob(spec, fakeSelector{}, DefaultLimits, "id", now); !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("%s: %v, want an input error naming %s", name, err, tc.field)
		}
	}
}

// edgeSelector selects edges of an edges file, and CloudFront POPs for
// codes that look like them.
type edgeSelector struct{}

func (edgeSelector) Countries(string, []string) ([]string, error) { return nil, nil }

func (edgeSelector) Select(_ string, keys []string) ([]Target, error) {
	var out []Target
	for _, k := range keys {
		out = append(out, Target{Code: k, Explicit: true, Edge: !strings.Contains(k, "-P")})
	}
	return out, nil
}

// cf_domain chooses CloudFront POPs' addresses: a job of edges-file edges
// alone needs none.
func TestNewJobCFDomainOnlyForCloudFront(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	spec := JobSpec{URLs: []string{"https://www.example.com/a"}, POPs: []string{"fra-1", "ams-1"}}
	if j, _, err := NewJob(spec, edgeSelector{}, DefaultLimits, "id", now); err != nil || j.CFDomain != "" {
		t.Fatalf("edges only, no cf_domain: %+v %v", j, err)
	}
	spec.POPs = append(spec.POPs, "FRA60-P1")
	_, _, err := NewJob(spec, edgeSelector{}, DefaultLimits, "id", now)
	var ie *InputError
	if !errors.As(err, &ie) || ie.Field != "cf_domain" || !strings.Contains(ie.Msg, "FRA60-P1") {
		t.Fatalf("a CloudFront POP without cf_domain: %v, want an error naming cf_domain and the POP", err)
	}
}

func TestNewJobDiscover(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	spec := func(tt, discover string, keys ...string) JobSpec {
		s := JobSpec{URLs: []string{"https://a.test/x"}, CFDomain: "cdn.example.net", TargetType: tt, Discover: discover}
		if tt == "region" {
			s.Regions = keys
		} else if tt == "country" {
			s.Countries = keys
		} else {
			s.POPs = keys
		}
		return s
	}
	job, _, err := NewJob(spec("country", "ECS", "jp", "US"), fakeSelector{}, DefaultLimits, "j", now)
	if err != nil {
		t.Fatal(err)
	}
	if job.Discover() != DiscoverECS || len(job.Targets) != 2 || job.Targets[0] != (Target{Code: "JP", Explicit: true, Discover: DiscoverECS}) {
		t.Errorf("targets %+v", job.Targets)
	}
	// The server's default applies to country and region jobs only, and
	// "none" turns it off.
	lim := DefaultLimits
	lim.DefaultDiscover = DiscoverECS
	for _, tc := range []struct {
		spec JobSpec
		want string
	}{
		{spec("region", "", "jp"), DiscoverECS},
		{spec("country", "none", "JP"), ""},
		{spec("pop", "", "SIN2-P1"), ""},
	} {
		job, _, err := NewJob(tc.spec, fakeSelector{}, lim, "j", now)
		if err != nil || job.Discover() != tc.want {
			t.Errorf("%+v: discover %q, %v; want %q", tc.spec, job.Discover(), err, tc.want)
		}
	}
	noDomain := spec("country", "ecs", "JP")
	noDomain.CFDomain = ""
	for _, tc := range []struct {
		spec  JobSpec
		field string
	}{
		{spec("pop", "ecs", "SIN2-P1"), "discover"},
		{spec("country", "anycast", "JP"), "discover"},
		{spec("country", "ecs", "XX"), "countries"},
		{noDomain, "cf_domain"},
	} {
		_, _, err := NewJob(tc.spec, fakeSelector{}, DefaultLimits, "j", now)
		var in *InputError
		if !errors.As(err, &in) || in.Field != tc.field {
			t.Errorf("%+v: %v; want an input error on %s", tc.spec, err, tc.field)
		}
	}
	if DiscoveredCountry(DiscoveredCode("JP", 2)) != "JP" || DiscoveredCountry("SIN2-P1") != "" || DiscoveredCountry("JP-01") != "" {
		t.Error("DiscoveredCountry does not read DiscoveredCode's names")
	}
}

func TestSameEdgeWarning(t *testing.T) {
	st := func(code string, addrs ...string) POPState {
		return POPState{Code: code, Explicit: true, Addresses: addrs}
	}
	for _, c := range []struct {
		pops []POPState
		warn bool
	}{
		{[]POPState{st("JP-1", "192.0.2.1", "192.0.2.2"), st("US-1", "192.0.2.2", "192.0.2.1"), st("DE-1", "192.0.2.1", "192.0.2.2")}, true},
		{[]POPState{st("JP-1", "192.0.2.1"), st("JP-2", "192.0.2.5"), st("US-1", "192.0.2.1"), st("US-2", "192.0.2.5")}, true},
		{[]POPState{st("JP-1", "192.0.2.1"), st("US-1", "192.0.2.3")}, false},
		{[]POPState{st("JP-1", "192.0.2.1"), st("US-1", "192.0.2.1"), st("US-2", "192.0.2.3")}, false},
		{[]POPState{st("JP-1", "192.0.2.1")}, false},                                           // one country: nothing to compare
		{[]POPState{st("JP-1", "192.0.2.1"), {Code: "US", Explicit: true, Error: "x"}}, false}, // only one country answered
		{[]POPState{st("AAA1-P1", "192.0.2.1"), st("BBB1-P1", "192.0.2.1")}, false},            // not discovered
	} {
		if got := SameEdgeWarning(c.pops); (got != "") != c.warn {
			t.Errorf("%v: %q, want a warning: %v", c.pops, got, c.warn)
		}
	}
}
