package warm

import "strings"

// AfterProbe is the After of a top-tier batch of a tiered job: it is queued
// once the size probe of its URLs is saved. The probe goes through the top
// tier, so it is the first request there for each URL; a warm racing it
// would ask the origin a second time.
const AfterProbe = "#probe"

// assignTiers orders a tier-first job's POPs: an edge of the edges file
// whose parent is one of the job's POPs waits for it; CloudFront POPs wait
// for the job's first POP of their region, which fills the regional edge
// cache they share. Only usable POPs take part.
func assignTiers(pops []POPState) {
	inJob := map[string]string{}
	for _, p := range pops {
		if p.Usable() {
			inJob[strings.ToUpper(p.Code)] = p.Code
		}
	}
	leader := map[string]string{} // region → its first CloudFront POP
	for i := range pops {
		p := &pops[i]
		if !p.Usable() {
			continue
		}
		switch {
		case p.Parent != "":
			p.After = inJob[strings.ToUpper(p.Parent)]
		case p.PurgeMethod == "" && p.Region != "": // a CloudFront POP
			if first, ok := leader[p.Region]; ok {
				p.After = first
			} else {
				leader[p.Region] = p.Code
			}
		}
	}
}

// tiered reports whether some POP waits for another.
func tiered(pops []POPState) bool {
	for _, p := range pops {
		if p.After != "" {
			return true
		}
	}
	return false
}

// topTier is the POPs that wait for no other.
func topTier(pops []POPState) []POPState {
	var out []POPState
	for _, p := range pops {
		if p.After == "" {
			out = append(out, p)
		}
	}
	return out
}
