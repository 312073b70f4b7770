package warm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PlannerStore is what planning reads and writes.
type PlannerStore interface {
	DeadlineStore
	Job(ctx context.Context, id string) (*Job, error)
	// Note sets a job's message (what it is waiting for, what it did).
	Note(ctx context.Context, jobID, msg string) error
	// MarkInvalidated records that the job's caches were cleared, with a
	// note saying how.
	MarkInvalidated(ctx context.Context, jobID, note string) error
	SavePOPs(ctx context.Context, jobID string, pops []POPState) error
	POPs(ctx context.Context, jobID string) ([]POPState, error)
	// JobURLs is a job's whole URL list, in order.
	JobURLs(ctx context.Context, jobID string) ([]string, error)
	// ReplaceURLs swaps a job's URL list for its expansion, before any of
	// it is planned.
	ReplaceURLs(ctx context.Context, jobID string, urls []string) error
	SavePlanChunk(ctx context.Context, jobID string, c PlanChunk) error
	// FinishPlanning marks every task of a job queued: its total is final.
	FinishPlanning(ctx context.Context, jobID string) error
	// SaveProbeChunk records probe results: sizes into the expected total,
	// failed URLs as failed tasks wherever they are not done yet.
	SaveProbeChunk(ctx context.Context, jobID string, c ProbeChunk) error
	// FinishProbing marks every URL probed and ends the job if every task
	// is done (FAILED when no URL passed the probe).
	FinishProbing(ctx context.Context, jobID string) error
	// AddWarning records, once, something the job's report should say.
	AddWarning(ctx context.Context, jobID, warning string) error
}

// Resolver turns a job's targets into POPs with addresses to connect to.
type Resolver interface {
	Resolve(ctx context.Context, cfDomain string, targets []Target) []POPState
	// HostWarnings says which of the URLs' hosts a CloudFront job's POPs
	// may not answer for cf_domain's distribution.
	HostWarnings(ctx context.Context, cfDomain string, hosts []string) []string
}

// Prober finds a URL's size through an edge without downloading it (HEAD,
// then a one-byte range GET). Size is -1 when the edge does not say.
type Prober interface {
	Probe(ctx context.Context, r FetchRequest) (size int64, res Result)
}

// Expander reads a job's documents (HLS playlists, DASH manifests,
// sitemaps) through a POP and returns the URL list with every URL they
// refer to.
type Expander interface {
	Expand(ctx context.Context, job *Job, via POPState, urls []string, limit int) ([]string, error)
}

// Invalidator clears a job's URLs from its POPs' caches before warming, and
// says what it did.
type Invalidator interface {
	Invalidate(ctx context.Context, job *Job, pops []POPState, urls []string) (string, error)
}

// errPlanEnded says planning stopped on purpose with nothing left to do in
// this run: the job ended (failed, timed out) or is stopping. Plan returns
// nil for it.
var errPlanEnded = errors.New("planning ended")

// Planner turns an accepted job into queued batches: it resolves the POPs,
// expands and invalidates when asked, queues one batch per POP per range of
// URLs, then probes every URL's size through an edge while the warm runs
// (a URL that fails the probe is failed wherever it is not done yet). It
// works a chunk of URLs at a time and checkpoints after each, so a crash
// resumes where it stopped.
type Planner struct {
	Store       PlannerStore
	Resolver    Resolver
	Prober      Prober
	Invalidator Invalidator
	Expander    Expander
	// Gate, if set, holds each probe to its job's and its host's budgets.
	Gate Gate
	// MaxURLs caps an expanded URL list, as it caps a submitted one.
	MaxURLs int
	Log     *slog.Logger
	Now     func() time.Time

	ChunkSize        int // URLs probed and planned per checkpoint
	BatchSize        int // URLs per batch (one POP); ChunkSize is a multiple of it
	ProbeConcurrency int
	// ProbeMinURLs: jobs with fewer URLs are not probed.
	ProbeMinURLs int
	// Locator and Fleet place the POPs of a job with vantage "agents"
	// among the agents live within LiveWindow.
	Locator    Locator
	Fleet      AgentLister
	LiveWindow time.Duration
	// Budget bounds one run of Plan; past it, Plan checkpoints and returns
	// ErrInterrupted, so a planner that dies is noticed and resumed soon.
	Budget time.Duration
}

// Plan plans one job. It is safe to run again after a crash or a retry.
func (p *Planner) Plan(ctx context.Context, jobID string) error {
	if err := p.plan(ctx, jobID); !errors.Is(err, errPlanEnded) {
		return err
	}
	return nil
}

func (p *Planner) plan(ctx context.Context, jobID string) error {
	job, err := p.begin(ctx, jobID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithDeadline(ctx, job.TimeoutAt)
	defer cancel()
	usable, err := p.usablePOPs(ctx, job)
	if err != nil {
		return err
	}
	prog, err := p.Store.Progress(ctx, jobID)
	if err != nil {
		return err
	}
	all, err := p.Store.JobURLs(ctx, jobID)
	if err != nil {
		return err
	}
	expand := len(job.Expand) > 0 && !prog.Expanded
	if job.NeedInvalidate && !prog.Invalidated {
		clear := all
		if expand {
			clear = p.listedNow(ctx, job, usable, all)
		}
		if err := p.invalidate(ctx, job, usable, clear); err != nil {
			return err
		}
	}
	// After the invalidation: the documents read are the new ones.
	if expand {
		if all, err = p.expand(ctx, job, usable, all); err != nil {
			return err
		}
	}
	probes := p.probes(job, all)
	if !prog.Planned {
		if prog.PlannedURLs == 0 {
			p.checkHosts(ctx, job, all)
		}
		wrote, err := p.queueTasks(ctx, job, usable, all, prog.PlannedURLs)
		switch {
		case err != nil:
			return err
		case wrote && !probes:
			return nil // the last chunk marked the job planned and probed
		case !wrote: // every URL was planned before a restart
			if err := p.Store.FinishPlanning(ctx, jobID); err != nil {
				return err
			}
		}
	}
	if probes {
		if err := p.probeFrom(ctx, job, usable, all, prog.ProbedURLs); err != nil {
			if ctx.Err() != nil {
				return p.cutShort(ctx, job)
			}
			return err
		}
	}
	return p.Store.FinishProbing(ctx, jobID)
}

// probes reports whether a job's URLs are probed for their sizes. A small
// job is not: its warm answers as soon, with the sizes and the URLs that
// fail, and a probe would only add its own requests and writes to the
// job's fixed cost. Nor is a job with a rate (max_rps): its probes would
// spend the rate the user set before the warm got any of it — a probe is a
// fetch through a POP too — and the warm finds the sizes and the failing
// URLs itself.
func (p *Planner) probes(job *Job, urls []string) bool {
	return len(urls) >= p.ProbeMinURLs && job.MaxRPS == 0
}

// begin loads a job that is still to be planned and marks it in progress;
// errPlanEnded when it ended or its deadline passed (the timeout step ends
// it).
func (p *Planner) begin(ctx context.Context, jobID string) (*Job, error) {
	job, err := p.Store.Job(ctx, jobID)
	if err != nil {
		return nil, err
	}
	if job.Status.Terminal() || !p.Now().Before(job.TimeoutAt) {
		return nil, errPlanEnded
	}
	if job.Status == StatusCreated {
		if _, err := p.Store.Transition(ctx, jobID, []Status{StatusCreated}, StatusInProgress, ""); err != nil {
			return nil, err
		}
	}
	return job, nil
}

// usablePOPs resolves the job's POPs once (later runs read what was saved)
// and returns those tasks are planned for. With none, the job fails.
func (p *Planner) usablePOPs(ctx context.Context, job *Job) ([]POPState, error) {
	pops, err := p.Store.POPs(ctx, job.ID)
	if err != nil {
		return nil, err
	}
	if len(pops) == 0 {
		pops = p.Resolver.Resolve(ctx, job.CFDomain, job.Targets)
		p.warnSameEdge(ctx, job, pops)
		if job.TierFirst {
			assignTiers(pops)
		}
		if err := p.locate(ctx, job, pops); err != nil {
			return nil, err
		}
		if err := p.Store.SavePOPs(ctx, job.ID, pops); err != nil {
			return nil, fmt.Errorf("save pops: %w", err)
		}
	}
	usable := usablePOPs(pops)
	if len(usable) == 0 {
		return nil, p.fail(ctx, job, noPOPMessage(pops))
	}
	return usable, nil
}

// warnSameEdge records SameEdgeWarning on a discovering job; like the
// host checks, a warning that cannot be recorded never holds the job up.
func (p *Planner) warnSameEdge(ctx context.Context, job *Job, pops []POPState) {
	if job.Discover() == "" {
		return
	}
	if w := SameEdgeWarning(pops); w != "" {
		if err := p.Store.AddWarning(ctx, job.ID, w); err != nil {
			p.Log.Warn("record a warning", "job", job.ID, "err", err)
		}
	}
}

// locate places the POPs of a job with vantage "agents" among the live
// agents, once, when they are resolved: a POP no agent is located at fails
// now, not at the job's deadline.
func (p *Planner) locate(ctx context.Context, job *Job, pops []POPState) error {
	if job.Vantage != VantageAgents {
		return nil
	}
	if p.Locator == nil || p.Fleet == nil {
		return fmt.Errorf("job %s: vantage agents, but this planner knows no agents", job.ID)
	}
	agents, err := p.Fleet.Agents(ctx, p.Now().Add(-p.LiveWindow))
	if err != nil {
		return err
	}
	locatePOPs(pops, p.Locator, agents)
	return nil
}

// maxHostsChecked bounds the DNS lookups of checkHosts: a job names a few
// hosts, and a list of thousands is not worth a lookup each.
const maxHostsChecked = 8

// checkHosts warns, before anything is queued, of URL hosts the job's
// CloudFront POPs may not serve for cf_domain. Edges of an edges file
// answer any host they are configured for, so they are not checked, and a
// failed check only goes unreported: it never holds the job up.
func (p *Planner) checkHosts(ctx context.Context, job *Job, urls []string) {
	// A discovering job's cf_domain is any CDN's name, not CloudFront's.
	if job.Discover() != "" || !slices.ContainsFunc(job.Targets, func(t Target) bool { return !t.Edge }) {
		return
	}
	var hosts []string
	seen := map[string]bool{strings.ToLower(strings.TrimSuffix(job.CFDomain, ".")): true}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		h := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
		if seen[h] {
			continue
		}
		seen[h] = true
		if hosts = append(hosts, h); len(hosts) == maxHostsChecked {
			break
		}
	}
	if len(hosts) == 0 {
		return
	}
	for _, w := range p.Resolver.HostWarnings(ctx, job.CFDomain, hosts) {
		if err := p.Store.AddWarning(ctx, job.ID, w); err != nil {
			p.Log.Warn("record a warning", "job", job.ID, "err", err)
		}
	}
}

// cutShort is why planning stopped when its context ended: past the job's
// deadline there is nothing left to do (the timeout step ends the job);
// otherwise the process is stopping, and the step runs again.
func (p *Planner) cutShort(ctx context.Context, job *Job) error {
	if !p.Now().Before(job.TimeoutAt) {
		return errPlanEnded
	}
	return ctx.Err()
}

// fail ends the job as FAILED with msg; planning stops.
func (p *Planner) fail(ctx context.Context, job *Job, msg string) error {
	if _, err := p.Store.Transition(ctx, job.ID, []Status{StatusInProgress}, StatusFailed, msg); err != nil {
		return err
	}
	return errPlanEnded
}

// queueTasks writes the URLs' rows and queues their batches — one per POP
// per BatchSize URLs — a chunk at a time, each a checkpoint. It fetches
// nothing, so a million tasks are queued in seconds and warming starts at
// once; the size probe follows. wroteLast: it wrote the last chunk, which
// marks the job planned (and probed, when it is not probed).
func (p *Planner) queueTasks(ctx context.Context, job *Job, usable []POPState, all []string, from int) (wroteLast bool, err error) {
	tiered, probes := tiered(usable), p.probes(job, all)
	for start := from; start < len(all); start += p.ChunkSize {
		end := min(start+p.ChunkSize, len(all))
		chunk := PlanChunk{URLs: make([]URL, 0, end-start), PlannedURLs: end, Planned: end == len(all)}
		chunk.Probed = chunk.Planned && !probes
		for i := start; i < end; i++ {
			chunk.URLs = append(chunk.URLs, URL{Index: i, URL: all[i], Size: -1})
		}
		for b := start; b < end; b += p.BatchSize {
			for k, pop := range usable {
				seq := (b/p.BatchSize)*len(usable) + k
				after := pop.After
				if after == "" && tiered && probes {
					after = AfterProbe
				}
				chunk.Batches = append(chunk.Batches, Batch{JobID: job.ID, Seq: seq, POP: pop.Code, From: b, To: min(b+p.BatchSize, end),
					After: after, Location: pop.Location})
			}
		}
		if err := p.Store.SavePlanChunk(ctx, job.ID, chunk); err != nil {
			return false, err
		}
		wroteLast = chunk.Planned
	}
	return wroteLast, nil
}

// invalidate clears the caches before anything is fetched and waits for
// it, within the job's time. A failure fails the job: warming a stale cache
// would only refresh the old object.
func (p *Planner) invalidate(ctx context.Context, job *Job, usable []POPState, urls []string) error {
	if err := p.Store.Note(ctx, job.ID, fmt.Sprintf("invalidating %d URLs at %d POPs before warming", len(urls), len(usable))); err != nil {
		return err
	}
	note, err := p.Invalidator.Invalidate(ctx, job, usable, urls)
	switch {
	case err != nil && ctx.Err() != nil:
		return p.cutShort(ctx, job)
	case err != nil:
		p.Log.Warn("invalidation failed", "job", job.ID, "err", err)
		return p.fail(ctx, job, "invalidation failed, nothing was warmed: "+err.Error())
	}
	return p.Store.MarkInvalidated(ctx, job.ID, note)
}

// expand adds what the job's documents (playlists, manifests, sitemaps)
// refer to, read through the first usable POP, before anything else: the
// invalidation and the probes cover the whole list. A document that cannot
// be read, or a list past MaxURLs, fails the job: a silently incomplete
// list is what users complain of.
func (p *Planner) expand(ctx context.Context, job *Job, usable []POPState, urls []string) ([]string, error) {
	if err := p.Store.Note(ctx, job.ID, fmt.Sprintf("expanding %d URLs (%s)", len(urls), strings.Join(job.Expand, ", "))); err != nil {
		return nil, err
	}
	all, err := p.Expander.Expand(ctx, job, usable[0], urls, p.MaxURLs)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, p.cutShort(ctx, job)
	case err != nil:
		return nil, p.fail(ctx, job, "expand: "+err.Error())
	}
	if err := p.Store.ReplaceURLs(ctx, job.ID, all); err != nil {
		return nil, err
	}
	job.URLCount = len(all)
	if err := p.Store.Note(ctx, job.ID, fmt.Sprintf("expanded %d URLs to %d", len(urls), len(all))); err != nil {
		return nil, err
	}
	return all, nil
}

// listedNow is what a job that both invalidates and expands clears: its
// documents and what they list now at the POP. The copies there may be
// stale, so they are read once to learn what the old release cached, and
// again after the invalidation to warm the new one (expand). When they
// cannot be read now, only the documents are cleared.
func (p *Planner) listedNow(ctx context.Context, job *Job, usable []POPState, docs []string) []string {
	listed, err := p.Expander.Expand(ctx, job, usable[0], docs, p.MaxURLs)
	if err != nil {
		p.Log.Info("documents unreadable before the invalidation; clearing them alone", "job", job.ID, "err", err)
		return docs
	}
	seen := make(map[string]bool, len(docs)+len(listed))
	out := make([]string, 0, len(docs)+len(listed))
	for _, u := range append(slices.Clone(docs), listed...) {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// chunk is a range of URLs probed and saved together.
type chunk struct {
	from, to int
	urls     []URL
	pending  atomic.Int32
	done     chan struct{}
}

// probeFrom finds the size of every URL from index `from` on, through an
// edge, while the warm runs: the expected total grows as it goes, and a URL
// that fails (a 404) fails its tasks at every POP not yet done, so the
// agents skip it there. Probes run in one continuous pool across chunks, so
// a chunk is saved while the next is probed; chunks are saved in order,
// each a checkpoint.
func (p *Planner) probeFrom(ctx context.Context, job *Job, usable []POPState, all []string, from int) error {
	var chunks []*chunk
	for start := from; start < len(all); start += p.ChunkSize {
		c := &chunk{from: start, to: min(start+p.ChunkSize, len(all)), done: make(chan struct{})}
		for i := c.from; i < c.to; i++ {
			c.urls = append(c.urls, URL{Index: i, URL: all[i], Size: -1})
		}
		c.pending.Store(int32(len(c.urls)))
		chunks = append(chunks, c)
	}
	type item struct {
		c *chunk
		i int
	}
	work := make(chan item)
	probeCtx, stopProbes := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopProbes() // runs before the Wait above: workers drain and exit
	for range max(1, p.ProbeConcurrency) {
		wg.Go(func() {
			for it := range work {
				p.probeOne(probeCtx, job, usable, &it.c.urls[it.i])
				if it.c.pending.Add(-1) == 0 {
					close(it.c.done)
				}
			}
		})
	}
	go func() {
		defer close(work)
		for _, c := range chunks {
			for i := range c.urls {
				select {
				case work <- item{c, i}:
				case <-probeCtx.Done():
					return
				}
			}
		}
	}()

	started := p.Now()
	for _, c := range chunks {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := ctx.Err(); err != nil {
			return err // probes were cut short; their errors are not the URLs' fault
		}
		if cur, err := p.Store.Job(ctx, job.ID); err != nil {
			return err
		} else if cur.Status.Terminal() {
			return nil
		}
		if err := p.Store.SaveProbeChunk(ctx, job.ID, p.probeChunk(job, usable, c)); err != nil {
			return err
		}
		if c.to < len(all) && p.Now().Sub(started) > p.Budget {
			return ErrInterrupted
		}
	}
	return nil
}

// probeChunk turns a probed chunk into its record: the failed tasks of URLs
// that failed the probe, at every POP, in every variant.
func (p *Planner) probeChunk(job *Job, usable []POPState, c *chunk) ProbeChunk {
	now := p.Now()
	out := ProbeChunk{From: c.from, URLs: c.urls, ProbedURLs: c.to}
	for _, u := range c.urls {
		if u.Error == "" {
			continue
		}
		for _, pop := range usable {
			for _, v := range job.Variants() {
				out.Failed = append(out.Failed, Result{URLIndex: u.Index, POP: pop.Code, Variant: v, Error: u.Error, At: now})
			}
		}
	}
	return out
}

// probeOne probes a URL through up to three of the POPs, spread over
// them; only through the top tier when the job is tiered. An answer asking
// to slow down is asked again after the host's pause.
//
// A URL fails the probe only when the POPs agree: one POP's refusal (a
// geo-block, a broken edge) is that POP's outcome, met when the URL's task
// there runs, and the next POP is asked; two refusals (or the only POP's)
// fail the URL everywhere. When no POP answered at all, the fault is the
// POPs': the URL is warmed anyway, its tasks fail at those POPs, and the
// summary names the POPs, not the URL.
func (p *Planner) probeOne(ctx context.Context, job *Job, usable []POPState, u *URL) {
	via := topTier(usable)
	var res Result
	var refused []string // the POPs that answered with a failure
	var refusal string
	size := int64(-1)
	for i := 0; i < len(via) && i < 3 && ctx.Err() == nil; i++ {
		pop := via[(u.Index+i)%len(via)]
		var retry bool
		size, res, retry = p.probeVia(ctx, job, pop, u)
		if retry {
			i--
			continue
		}
		if res.OK {
			break
		}
		if res.StatusCode != 0 && !res.Throttled() {
			refused, refusal = append(refused, pop.Code), res.Error
			if len(refused) == 2 {
				break
			}
		}
	}
	u.Probed = true
	u.Size = size
	u.Error = ""
	if !res.OK && len(refused) > 0 && len(refused) >= min(2, len(via)) {
		u.Error = "size probe through " + strings.Join(refused, " and ") + ": " + refusal
	}
}

// probeVia probes a URL through one POP, within the job's and the host's
// budgets.
func (p *Planner) probeVia(ctx context.Context, job *Job, pop POPState, u *URL) (int64, Result, bool) {
	req := FetchRequest{URL: u.URL, Addresses: pop.Addresses, Headers: job.Headers}
	if p.Gate == nil {
		size, res := p.Prober.Probe(ctx, req)
		return size, res, false
	}
	leave, err := p.Gate.Enter(ctx, job, u.URL)
	if err != nil {
		return -1, Result{Error: err.Error()}, false
	}
	size, res := p.Prober.Probe(ctx, req)
	leave()
	return size, res, p.Gate.Observe(ctx, job.ID, u.URL, res)
}

func usablePOPs(pops []POPState) []POPState {
	var out []POPState
	for _, p := range pops {
		if p.Usable() {
			out = append(out, p)
		}
	}
	return out
}

func noPOPMessage(pops []POPState) string {
	var reasons []string
	for _, p := range pops {
		switch {
		case p.Error != "":
			reasons = append(reasons, p.Code+": "+p.Error)
		case p.Skipped:
			reasons = append(reasons, p.Code+": skipped (does not resolve)")
		}
		if len(reasons) == 5 {
			reasons = append(reasons, "…")
			break
		}
	}
	return "no POP could be used: " + strings.Join(reasons, "; ")
}
