package invalidate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"prewarm/internal/fetch"
	"prewarm/internal/warm"
)

// Purger sends purge requests to self-run caches (varnish, nginx with a
// purge module, …) through the agents' edge client.
type Purger struct {
	// Edges reaches the edges: each request goes to one address over that
	// address's connections, with the URL's host as Host and TLS SNI, and
	// is retried by the client's policy (its attempts, backoff and per-task
	// deadline). Required.
	Edges *fetch.Client
	// Concurrency is how many purge requests run at once; default 32.
	Concurrency int
	Log         *slog.Logger
}

// PurgeTarget is one edge of an edges file.
type PurgeTarget struct {
	Code string
	// Method is the purge method; default PURGE. Some caches want BAN or
	// a GET to a purge location instead.
	Method string
	// Addresses are host names or IPs; the port comes from each URL.
	Addresses []string
}

const (
	defaultPurgeConcurrency = 32
	// maxListedFailures bounds the error: an edge that is down fails every
	// URL, and the operator needs the pattern, not 100,000 lines.
	maxListedFailures = 5
)

// purgeTask is one request: one URL at one address of one edge.
type purgeTask struct {
	code, method, addr, url string
}

// purgeFailure is one request that did not end in 2xx or 404.
type purgeFailure struct {
	code, method, addr, url string
	status                  string // "HTTP 500 Internal Server Error" or the network error
	attempts                int
}

func (f purgeFailure) Error() string {
	if f.addr == "" {
		return fmt.Sprintf("edge %s: no addresses to send %s to", f.code, f.method)
	}
	return fmt.Sprintf("edge %s at %s: %s %s: %s (%d attempts)", f.code, f.addr, f.method, f.url, f.status, f.attempts)
}

// Purge sends each target's Method for every URL to every one of the
// target's addresses, as a viewer request to that edge would arrive:
// connected to the address at the URL's port, with the URL's host as Host
// and TLS SNI. A 2xx or a 404 (nothing cached there) is done; any other
// answer or a network error is retried up to Attempts times and then
// reported. The error lists the first few failures and how many there were;
// nil means every edge confirmed every URL.
func (p *Purger) Purge(ctx context.Context, targets []PurgeTarget, urls []string) error {
	parsed, err := purgeURLs(urls)
	if err != nil {
		return err
	}
	if len(parsed) == 0 || len(targets) == 0 {
		return nil
	}
	if p.Edges == nil {
		return errors.New("purge: no edge client")
	}
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	run := &purgeRun{edges: p.Edges}

	var tasks []purgeTask
	empty := 0 // targets without addresses, each one failed request
	for _, t := range targets {
		method := strings.TrimSpace(t.Method)
		if method == "" {
			method = "PURGE"
		}
		if len(t.Addresses) == 0 {
			// Nothing can be purged there, and warming a stale edge is what
			// invalidation exists to prevent.
			empty++
			run.fail(purgeFailure{code: t.Code, method: method})
			continue
		}
		for _, a := range t.Addresses {
			for _, u := range parsed {
				tasks = append(tasks, purgeTask{code: t.Code, method: method, addr: a, url: u.String()})
			}
		}
	}

	workers := p.Concurrency
	if workers <= 0 {
		workers = defaultPurgeConcurrency
	}
	workers = min(workers, len(tasks))
	ch := make(chan purgeTask)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for t := range ch {
				run.do(ctx, t)
			}
		})
	}
	for _, t := range tasks {
		ch <- t
	}
	close(ch)
	wg.Wait()

	total := len(tasks) + empty
	failed := int(run.failed.Load())
	if failed == 0 {
		log.InfoContext(ctx, "purge done", "edges", len(targets), "urls", len(parsed), "requests", len(tasks))
		return nil
	}
	log.WarnContext(ctx, "purge failed", "failed", failed, "requests", total)
	errs := []error{fmt.Errorf("purge failed for %d of %d requests (%d edges, %d URLs)", failed, total, len(targets), len(parsed))}
	for _, f := range run.firstFailures() {
		errs = append(errs, f)
	}
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("purge cut short when the %s: %w", ctxReason(ctx), ctx.Err()))
	}
	return errors.Join(errs...)
}

// purgeURLs parses and de-duplicates urls, refusing the lot if one cannot
// be sent: better a clear error before any request than a partial purge.
func purgeURLs(urls []string) ([]*url.URL, error) {
	var out []*url.URL
	seen := make(map[string]bool, len(urls))
	for _, raw := range urls {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("purge: bad URL %q: %w", raw, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("purge: URL %q is not an absolute http(s) URL", raw)
		}
		if seen[u.String()] {
			continue
		}
		seen[u.String()] = true
		out = append(out, u)
	}
	return out, nil
}

// purgeRun is the state of one Purge call: the failures seen.
type purgeRun struct {
	edges  *fetch.Client
	mu     sync.Mutex
	failed atomic.Int64
	first  []purgeFailure
}

func (r *purgeRun) fail(f purgeFailure) {
	r.failed.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.first) < maxListedFailures {
		r.first = append(r.first, f)
	}
}

func (r *purgeRun) firstFailures() []purgeFailure {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]purgeFailure(nil), r.first...)
}

// do sends one purge. A 2xx or a 404 (nothing cached there) is done; a
// redirect is the edge's answer, not a purge, and is never followed.
func (r *purgeRun) do(ctx context.Context, t purgeTask) {
	res := r.edges.Send(ctx, t.method, warm.FetchRequest{URL: t.url, Addresses: []string{t.addr}, POP: t.code})
	code := res.StatusCode
	if code >= 200 && code < 300 || code == http.StatusNotFound {
		return
	}
	status := res.Error
	if status == "" { // a 3xx, which a fetch counts as an answer
		status = "HTTP " + strconv.Itoa(code) + " " + http.StatusText(code)
	}
	r.fail(purgeFailure{code: t.code, method: t.method, addr: t.addr, url: t.url, status: status, attempts: res.Attempts})
}
