package warm

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DiscoverECS is the discover mode that finds a job's edges by asking DNS
// for cf_domain on behalf of clients in each target country (EDNS Client
// Subnet): how DNS-steered CDNs choose the edge a viewer reaches.
const DiscoverECS = "ecs"

// discoverNone turns a server's default discovery off for one job.
const discoverNone = "none"

// cleanDiscover reads a job's discover mode: as given, else the server's
// default for country and region jobs. ECS discovery needs countries to
// ask for, so a pop job may not ask for it.
func cleanDiscover(raw, targetType string, lim Limits) (string, error) {
	mode := strings.ToLower(strings.TrimSpace(raw))
	byCountry := targetType == targetTypeCtry || targetType == targetTypeRegion
	switch mode {
	case "":
		if byCountry {
			return lim.DefaultDiscover, nil
		}
		return "", nil
	case discoverNone:
		return "", nil
	case DiscoverECS:
		if !byCountry {
			return "", Invalid("discover", "\"ecs\" finds edges by country: give target_type country or region (with countries or regions)")
		}
		return mode, nil
	}
	return "", Invalid("discover", "%q is not one of ecs, none", raw)
}

// DefaultDiscoverMode reads a server's default discover mode with the
// spellings a job's "discover" takes (any case): ecs, or none or empty for
// no discovery.
func DefaultDiscoverMode(raw string) (string, error) {
	if mode, ok := eitherWord(raw, discoverNone, DiscoverECS); ok {
		return mode, nil
	}
	return "", fmt.Errorf("%q is not one of ecs, none", raw)
}

// discoverTargets are a discovering job's targets: one per country, named
// by its ISO code, whose edges the planner finds.
func discoverTargets(mode string, countries []string) []Target {
	out := make([]Target, len(countries))
	for i, cc := range countries {
		out[i] = Target{Code: cc, Explicit: true, Discover: mode}
	}
	return out
}

// Discover is how the job finds its edges ("" for none: its targets are
// POPs).
func (j *Job) Discover() string {
	if len(j.Targets) == 0 {
		return ""
	}
	return j.Targets[0].Discover
}

// DiscoveredCode names the rank-th (from 1) distinct edge found for
// clients in country cc: "JP-1".
func DiscoveredCode(cc string, rank int) string { return cc + "-" + strconv.Itoa(rank) }

// DiscoveredCountry is the country of an edge named by DiscoveredCode, or
// "" when code is no such name.
func DiscoveredCountry(code string) string {
	cc, rank, ok := strings.Cut(code, "-")
	if !ok || len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' {
		return ""
	}
	if n, err := strconv.Atoi(rank); err != nil || n < 1 || fmt.Sprint(n) != rank {
		return ""
	}
	return cc
}

// SameEdgeWarning warns when discovery found the very same edges for
// every country (two or more): a DNS server that drops or ignores the
// EDNS Client Subnet answers for its own location each time, so the job
// would warm one place many times over. "" when the answers differ.
func SameEdgeWarning(pops []POPState) string {
	byCountry := map[string][]string{}
	for _, p := range pops {
		cc := DiscoveredCountry(p.Code)
		if cc == "" || !p.Usable() {
			continue
		}
		byCountry[cc] = append(byCountry[cc], p.Addresses...)
	}
	if len(byCountry) < 2 {
		return ""
	}
	var first string
	for _, addrs := range byCountry {
		slices.Sort(addrs)
		set := strings.Join(slices.Compact(addrs), " ")
		if first == "" {
			first = set
		} else if set != first {
			return ""
		}
	}
	return fmt.Sprintf("every country got the same edge (%s): does --dns-server pass EDNS Client Subnet on?", first)
}
