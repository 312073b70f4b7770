package invalidate

import (
	"prewarm/internal/fetch"

	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Purger sends purge requests to self-run caches (varnish, nginx with a
// purge module, …). The zero value is ready to use.
type Purger struct {
	// Client is optional. By default each edge address gets a client that
	// dials that address whatever the URL's host, never through a proxy,
	// with a 10s timeout. A given Client keeps its Timeout, Jar and
	// CheckRedirect; if its Transport is an *http.Transport (or nil), a
	// clone per address with the dialer replaced is used, so requests still
	// reach the address; any other RoundTripper is used as is and must
	// reach the edge itself.
	Client *http.Client
	// RootCAs verifies HTTPS edges (the --ca-file pool); nil: the system's
	// roots.
	RootCAs *x509.CertPool
	// Concurrency is how many purge requests run at once; default 32.
	Concurrency int
	// Attempts per request; default 3.
	Attempts int
	// Backoff is the wait before attempt n+1 (n ≥ 1); default n²×200ms.
	Backoff func(n int) time.Duration
	Log     *slog.Logger
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
	defaultPurgeAttempts    = 3
	purgeTimeout            = 10 * time.Second
	// maxListedFailures bounds the error: an edge that is down fails every
	// URL, and the operator needs the pattern, not 100,000 lines.
	maxListedFailures = 5
)

// purgeTask is one request: one URL at one address of one edge.
type purgeTask struct {
	code, method, addr string
	url                *url.URL
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
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	run := &purgeRun{p: p, clients: make(map[string]*http.Client)}
	defer run.closeIdle()

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
				tasks = append(tasks, purgeTask{code: t.Code, method: method, addr: a, url: u})
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

// purgeRun is the state of one Purge call: clients by address and the
// failures seen.
type purgeRun struct {
	p       *Purger
	mu      sync.Mutex
	clients map[string]*http.Client
	failed  atomic.Int64
	first   []purgeFailure
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

func (r *purgeRun) do(ctx context.Context, t purgeTask) {
	attempts := r.p.Attempts
	if attempts <= 0 {
		attempts = defaultPurgeAttempts
	}
	backoff := r.p.Backoff
	if backoff == nil {
		backoff = func(n int) time.Duration { return time.Duration(n*n) * 200 * time.Millisecond }
	}
	client := r.client(t.addr)
	var status string
	n := 0
	for n < attempts {
		n++
		var retry bool
		status, retry = r.once(ctx, client, t)
		if status == "" {
			return
		}
		if !retry || n == attempts || ctx.Err() != nil {
			break
		}
		if sleep(ctx, backoff(n)) != nil {
			break
		}
	}
	r.fail(purgeFailure{code: t.code, method: t.method, addr: t.addr, url: t.url.String(), status: status, attempts: n})
}

// once sends one request; status is "" when it counts as done, else what
// went wrong and whether asking again may help.
func (r *purgeRun) once(ctx context.Context, client *http.Client, t purgeTask) (status string, retry bool) {
	req, err := http.NewRequestWithContext(ctx, t.method, t.url.String(), nil)
	if err != nil {
		return err.Error(), false
	}
	req.Header.Set("User-Agent", "prewarm-purge")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the method and URL are in the failure already
		}
		return err.Error(), true
	}
	// Drain a little so the connection can be reused; purge answers are
	// short, and a long one is not worth reading.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300, c == http.StatusNotFound:
		return "", false
	default:
		return "HTTP " + resp.Status, c >= 500 || c == http.StatusRequestTimeout || c == http.StatusTooManyRequests
	}
}

// client returns the client that reaches addr, made on first use.
func (r *purgeRun) client(addr string) *http.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.clients[addr]; c != nil {
		return c
	}
	c := r.p.newClient(addr)
	r.clients[addr] = c
	return c
}

func (r *purgeRun) closeIdle() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.clients {
		c.CloseIdleConnections()
	}
}

// newClient builds the client for one edge address: the transport dials
// addr at the port the URL names, and leaves Host and SNI to the URL, so
// the edge sees exactly what a viewer steered to it would send.
func (p *Purger) newClient(addr string) *http.Client {
	var c http.Client
	var base *http.Transport
	if p.Client != nil {
		c = *p.Client
		switch t := p.Client.Transport.(type) {
		case nil:
			base = http.DefaultTransport.(*http.Transport).Clone()
		case *http.Transport:
			base = t.Clone()
		default:
			return &c // a custom RoundTripper routes requests itself
		}
	} else {
		c.Timeout = purgeTimeout
		base = &http.Transport{
			TLSHandshakeTimeout: purgeTimeout,
			IdleConnTimeout:     30 * time.Second,
			MaxIdleConnsPerHost: max(p.Concurrency, defaultPurgeConcurrency),
		}
	}
	if c.CheckRedirect == nil {
		// A redirect is the edge's answer, not a purge: following it would
		// turn PURGE into a GET somewhere else.
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	base.Proxy = nil // the purge must reach this edge, never a proxy
	base.DialTLSContext = nil
	base.DialContext = fetch.DialEdge(addr, purgeTimeout)
	if base.TLSClientConfig == nil {
		base.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if p.RootCAs != nil && base.TLSClientConfig.RootCAs == nil {
		base.TLSClientConfig.RootCAs = p.RootCAs
	}
	c.Transport = base
	return &c
}
