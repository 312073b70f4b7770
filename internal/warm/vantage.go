package warm

import (
	"context"
	"strings"
	"time"
)

// Vantages: where a job's fetches start from.
const (
	// VantageAnywhere is any agent: a POP reached at its own addresses
	// (a CloudFront POP, an edges-file edge) answers whoever asks.
	VantageAnywhere = "anywhere"
	// VantageAgents sends each POP's tasks only to agents located at the
	// POP, in its country or in its region (agent --location): how an
	// anycast CDN, which routes by where the packets come from, is warmed
	// from the places its viewers are.
	VantageAgents = "agents"
)

// cleanVantage reads a job's vantage; anywhere is kept as "".
func cleanVantage(raw string) (string, error) {
	if v, ok := eitherWord(raw, VantageAnywhere, VantageAgents); ok {
		return v, nil
	}
	return "", Invalid("vantage", "%q is not one of anywhere, agents", raw)
}

// eitherWord reads raw, in any case and with spaces around it, as one of
// two words: off (or nothing) is "", on is itself; ok is false for any
// other word.
func eitherWord(raw, off, on string) (word string, ok bool) {
	switch w := strings.ToLower(strings.TrimSpace(raw)); w {
	case "", off:
		return "", true
	case on:
		return w, true
	}
	return "", false
}

// VantageName is how a job's vantage is reported: "anywhere" when unset.
func (j *Job) VantageName() string {
	if j.Vantage == "" {
		return VantageAnywhere
	}
	return j.Vantage
}

// Locator says where a job's POP is, most specific first (its code, its
// airport, its country, its region), spelled as agents' locations are.
// The POP catalog implements it.
type Locator interface {
	Places(code string) []string
}

// AgentLister lists the agents heard from since liveSince.
type AgentLister interface {
	Agents(ctx context.Context, liveSince time.Time) ([]Agent, error)
}

// NoAgentLocated is why a POP of a job with vantage "agents" fails when no
// live agent is located there: named for the POP's country when it has
// one (the place an operator starts an agent in), with every place that
// would do.
func NoAgentLocated(places []string) string {
	if len(places) == 0 {
		return "no agent located where this POP is: the catalog does not know where it is"
	}
	name := places[0]
	for _, p := range places {
		if len(p) == 2 && p == strings.ToUpper(p) {
			name = p // the country: where an operator starts an agent
		}
	}
	return "no agent located in " + name + " (an agent takes its tasks with --location " + strings.Join(places, ", ") + ")"
}

// locatePOPs gives each usable POP of a job with vantage "agents" the
// place whose live agents take its tasks: the most specific of its places
// where an active agent is located. A POP with none fails at once, with the
// reason, rather than waiting for the job's deadline.
func locatePOPs(pops []POPState, loc Locator, agents []Agent) {
	located := map[string]bool{}
	for _, a := range agents {
		if a.Active && a.Location != "" {
			located[a.Location] = true
		}
	}
	for i := range pops {
		if !pops[i].Usable() {
			continue
		}
		places := loc.Places(pops[i].Code)
		for _, p := range places {
			if located[p] {
				pops[i].Location = p
				break
			}
		}
		if pops[i].Location == "" {
			pops[i].Error = NoAgentLocated(places)
		}
	}
}

// LocatedPOP is a running job's POP whose tasks wait for the agents of a
// location (vantage "agents").
type LocatedPOP struct {
	JobID, POP, Location string
}
