// Package warm is the domain of prewarm: a job asks for every URL of a list to
// be fetched through every chosen edge location (POP) so that the first real
// viewer gets a cache HIT. A task is one URL through one POP; tasks are
// grouped into batches (one POP × a range of URLs) so that the queue carries
// thousands of tasks per entry, not one.
//
// The package holds the job's states and rules (validation, planning,
// counting, finishing, timeouts, stops) and the small interfaces it needs from
// the outside world: a Store, a Resolver that turns POP codes into addresses
// and a Fetcher that talks to an edge. It imports no sibling package and no
// driver, so the rules can be read and tested on their own.
package warm
