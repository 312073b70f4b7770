// Package warm is the domain of prewarm: a job asks for every URL of a list to
// be fetched through every chosen edge location (POP) so that the first real
// viewer gets a cache HIT. A task is one URL through one POP; tasks are
// grouped into batches (one POP × a range of URLs) so that the queue carries
// thousands of tasks per entry, not one.
//
// The package holds the job's states and rules (validation, planning,
// counting, finishing, timeouts, stops, the fleet's capacity), the Service
// through which the API and the CLI reach them, and the small interfaces its
// parts need from the outside world, each declared by its consumer: the
// store a Service or a Planner uses, a Resolver that turns POP codes into
// addresses, a Prober that asks an edge for a URL's size. It imports no
// sibling package and no driver, so the rules can be read and tested on
// their own. Fetching batches is the agents' work (package agent).
package warm
