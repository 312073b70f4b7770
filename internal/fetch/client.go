package fetch

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"prewarm/internal/warm"
)

// Config tunes the client.
type Config struct {
	RootCAs        *x509.CertPool // nil: the system's roots
	ConnectTimeout time.Duration  // TCP connect and TLS handshake, per attempt
	// HeaderTimeout is how long an attempt waits for the response's
	// headers once the request is sent; IdleTimeout how long a body may go
	// without a byte. An edge that accepts and never answers, or stalls
	// mid-body, fails the attempt then, not at the task timeout.
	HeaderTimeout time.Duration
	IdleTimeout   time.Duration
	TaskTimeout   time.Duration // one task, every attempt included
	Attempts      int           // tries per task, rotating through the POP's addresses
	// Backoff is the wait before attempt n+1 (n ≥ 1).
	Backoff   func(n int) time.Duration
	UserAgent string
	// ConnsPerAddr is how many idle connections to keep per edge address;
	// the agent's concurrency, so every fetcher can reuse one.
	ConnsPerAddr int
	Now          func() time.Time
	// Places, when set, lets verification check that the edge that
	// answered is where the task was meant to land (see Placer).
	Places Placer
}

// Placer says where a POP is: its airport code and ISO country, either
// "" when unknown. It reads a job's POP codes and what edges report in
// x-amz-cf-pop, cf-ray and X-Served-By. The POP catalog implements it.
type Placer interface {
	Place(code string) (iata, country string)
}

// DefaultConfig is a client for one agent.
func DefaultConfig() Config {
	return Config{
		ConnectTimeout: 5 * time.Second,
		HeaderTimeout:  30 * time.Second,
		IdleTimeout:    30 * time.Second,
		TaskTimeout:    10 * time.Minute,
		Attempts:       3,
		Backoff:        func(n int) time.Duration { return time.Duration(n*n) * 200 * time.Millisecond },
		UserAgent:      "prewarm",
		ConnsPerAddr:   64,
		Now:            time.Now,
	}
}

// LoadRoots returns the system's roots plus the PEM certificates in caFile
// (a private CA, a self-run cache fleet's certificate).
func LoadRoots(caFile string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile == "" {
		return pool, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("ca file: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca file %s: no PEM certificate found", caFile)
	}
	return pool, nil
}

// Client fetches through edges. It is safe for concurrent use.
type Client struct {
	cfg        Config
	mu         sync.Mutex
	transports map[string]*http.Transport // by edge address
	next       atomic.Uint64              // spreads first attempts over a POP's addresses
	health     map[string]*addrHealth     // by edge address, under mu
	small      sync.Pool                  // read buffers for small bodies
	bufs       sync.Pool                  // and for large ones
}

// Read buffers: a small body is read into a small buffer, so that many
// fetches in flight (a warm of far POPs) cost little memory; a large one
// into a large buffer, which moves it in far fewer reads.
const (
	smallBuf = 16 << 10
	largeBuf = 256 << 10
)

var (
	_ warm.Prober       = (*Client)(nil)
	_ warm.DirectProber = (*Client)(nil)
)

// New returns a client.
func New(cfg Config) *Client {
	d := DefaultConfig()
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = d.ConnectTimeout
	}
	if cfg.TaskTimeout <= 0 {
		cfg.TaskTimeout = d.TaskTimeout
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = d.HeaderTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = d.IdleTimeout
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = d.Attempts
	}
	if cfg.Backoff == nil {
		cfg.Backoff = d.Backoff
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = d.UserAgent
	}
	if cfg.ConnsPerAddr <= 0 {
		cfg.ConnsPerAddr = d.ConnsPerAddr
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Client{cfg: cfg, transports: make(map[string]*http.Transport), health: map[string]*addrHealth{}}
	// The transport keeps its default 4 KiB read buffer per connection:
	// reads into this 256 KiB one bypass it, so a bigger one would only
	// cost memory (32 KiB was 21 MB across a job's 650 connections).
	c.small.New = func() any { b := make([]byte, smallBuf); return &b }
	c.bufs.New = func() any { b := make([]byte, largeBuf); return &b }
	return c
}

// Close drops idle connections.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.transports {
		t.CloseIdleConnections()
	}
}

// direct stands for "the URL's own host" where an edge address goes: the
// host is resolved and dialled as any client would.
const direct = ""

// transport returns the transport that dials addr, whatever the URL's host
// (or, for direct, the URL's host itself).
func (c *Client) transport(addr string) *http.Transport {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.transports[addr]; t != nil {
		return t
	}
	dial := DialEdge(addr, c.cfg.ConnectTimeout)
	if addr == direct {
		dial = (&net.Dialer{Timeout: c.cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	}
	t := &http.Transport{
		Proxy:       nil, // a warm must reach the edge itself, never a proxy
		DialContext: dial,
		// Sessions resume, so a new connection to a far edge costs one
		// round trip fewer; HTTP/2, where the edge speaks it, carries many
		// fetches over one connection.
		TLSClientConfig: &tls.Config{RootCAs: c.cfg.RootCAs, MinVersion: tls.VersionTLS12,
			ClientSessionCache: tls.NewLRUClientSessionCache(256)},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: c.cfg.ConnectTimeout,
		MaxIdleConnsPerHost: c.cfg.ConnsPerAddr,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // count and discard the bytes the edge sends
		WriteBufferSize:     4 << 10,
	}
	c.transports[addr] = t
	return t
}

// DialEdge returns a dial function that connects to the edge address addr
// (an IP or a host name) at the port of the URL being requested, whatever
// host the URL names: the transport still sends the URL's host as Host and
// TLS SNI, so the edge answers exactly as it would a viewer DNS steered to
// it.
func DialEdge(addr string, timeout time.Duration) func(ctx context.Context, network, hostPort string) (net.Conn, error) {
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, hostPort string) (net.Conn, error) {
		_, port, err := net.SplitHostPort(hostPort)
		if err != nil {
			return nil, err
		}
		return dialer.DialContext(ctx, network, net.JoinHostPort(addr, port))
	}
}

// Fetch downloads r.URL through the POP's addresses, discarding the body,
// with up to Attempts tries. 2xx and 3xx are success; redirects are not
// followed (the edge caches the redirect itself).
func (c *Client) Fetch(ctx context.Context, r warm.FetchRequest) warm.Result {
	if !r.Verify {
		return c.do(ctx, r, http.MethodGet, nil, true)
	}
	var header http.Header
	res := c.do(ctx, r, http.MethodGet, func(resp *http.Response) { header = resp.Header }, true)
	if res.OK {
		c.verify(ctx, r, &res, header)
	}
	return res
}

// Probe finds r.URL's size without its body: HEAD, or where HEAD is refused
// or says nothing of the length, a one-byte range GET.
func (c *Client) Probe(ctx context.Context, r warm.FetchRequest) (int64, warm.Result) {
	var size int64 = -1
	res := c.do(ctx, r, http.MethodHead, func(resp *http.Response) {
		size = resp.ContentLength
	}, false)
	if res.StatusCode == 0 && !res.OK {
		return -1, res // no answer at all: no use asking again differently
	}
	if res.OK && size >= 0 {
		return size, res
	}
	if res.OK || res.StatusCode == http.StatusMethodNotAllowed || res.StatusCode == http.StatusNotImplemented || res.StatusCode == http.StatusForbidden {
		ranged := r
		ranged.Headers = append(append([]string{}, r.Headers...), "Range: bytes=0-0")
		res = c.do(ctx, ranged, http.MethodGet, func(resp *http.Response) {
			size = rangeTotal(resp)
		}, false)
	}
	return size, res
}

// ProbeDirect is Probe of the URL as any client reaches it: its host
// resolved by the system's DNS, not through a chosen POP (a dry run's size
// probe).
func (c *Client) ProbeDirect(ctx context.Context, r warm.FetchRequest) (int64, warm.Result) {
	r.Addresses = []string{direct}
	return c.Probe(ctx, r)
}

// Send sends one request of any method (a PURGE, a BAN) for r.URL to the
// POP's addresses the way Fetch sends its GET: connected to an address at
// the URL's port with the URL's host as Host and TLS SNI, over that
// address's own connections, retried by the client's policy (Attempts and
// Backoff, rotating addresses, on no answer, 5xx, 408 and a body cut short), the body read
// and dropped. OK is a 2xx or 3xx answer, as for a fetch.
func (c *Client) Send(ctx context.Context, method string, r warm.FetchRequest) warm.Result {
	return c.do(ctx, r, method, nil, true)
}

// rangeTotal reads the full size from a range answer.
func rangeTotal(resp *http.Response) int64 {
	if resp.StatusCode == http.StatusPartialContent {
		if cr := resp.Header.Get("Content-Range"); cr != "" {
			if i := strings.LastIndexByte(cr, '/'); i >= 0 {
				if n, err := strconv.ParseInt(strings.TrimSpace(cr[i+1:]), 10, 64); err == nil {
					return n
				}
			}
		}
		return -1
	}
	return resp.ContentLength
}

func (c *Client) do(ctx context.Context, r warm.FetchRequest, method string, inspect func(*http.Response), body bool) warm.Result {
	if len(r.Addresses) == 0 {
		return warm.Result{Error: "no address to connect to"}
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return warm.Result{Error: "bad URL: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.TaskTimeout)
	defer cancel()
	start := int(c.next.Add(1))
	var res warm.Result
	for attempt := 1; attempt <= c.cfg.Attempts; attempt++ {
		addr := r.Addresses[(start+attempt-1)%len(r.Addresses)]
		res = c.once(ctx, method, u, r.Headers, addr, inspect, body)
		res.Attempts = attempt
		// A body cut short (stalled, truncated) is tried again too.
		cut := res.Error != "" && res.StatusCode >= 200 && res.StatusCode < 400
		if res.OK || !(retryable(res.StatusCode) || cut) || ctx.Err() != nil || attempt == c.cfg.Attempts {
			break
		}
		select {
		case <-time.After(c.cfg.Backoff(attempt)):
		case <-ctx.Done():
		}
	}
	return res
}

// retryable: no answer, or an answer that may differ next time. An edge
// that asks to slow down (429, 503) is not asked again at once: the fleet
// pauses the host instead.
func retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return false
	}
	return status == 0 || status >= 500 || status == http.StatusRequestTimeout
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date; 0 when
// absent or unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(secs, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

func (c *Client) once(ctx context.Context, method string, u *url.URL, headers []string, addr string, inspect func(*http.Response), body bool) warm.Result {
	res := warm.Result{EdgeIP: addr}
	if why := c.unresponsive(addr); why != "" {
		res.Error = why
		return res
	}
	// The attempt ends when its headers or its body's bytes stop coming;
	// the cause says which.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	wait := time.AfterFunc(c.cfg.HeaderTimeout, func() { cancel(noHeaders{c.cfg.HeaderTimeout}) })
	defer wait.Stop()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	for _, h := range headers {
		name, value := warm.ParseHeader(h)
		req.Header.Set(name, value)
	}
	t0 := c.cfg.Now()
	resp, err := c.transport(addr).RoundTrip(req)
	res.TTFB = c.cfg.Now().Sub(t0)
	wait.Stop()
	if err != nil {
		res.Duration = res.TTFB
		res.Error = describe(causeOf(ctx, err), edgePort(addr, u))
		c.heard(addr, res.Error, isHang(ctx))
		return res
	}
	res.StatusCode = resp.StatusCode
	if res.Throttled() {
		res.RetryAfter = retryAfter(resp.Header, c.cfg.Now())
	}
	res.CacheStatus = CacheStatus(resp.Header)
	res.ServedBy = ServedBy(resp.Header)
	// From when the request went: the POP's copy is no older than that.
	res.Fresh = Freshness(resp.Header, t0)
	if inspect != nil {
		inspect(resp)
	}
	if body {
		idle := time.AfterFunc(c.cfg.IdleTimeout, func() { cancel(stalled{c.cfg.IdleTimeout}) })
		res.Bytes, err = c.drain(resp.Body, resp.ContentLength, func() { idle.Reset(c.cfg.IdleTimeout) })
		idle.Stop()
	}
	resp.Body.Close()
	res.Duration = c.cfg.Now().Sub(t0)
	switch {
	case err != nil:
		res.Error = bodyError(causeOf(ctx, err), res.Bytes, resp.ContentLength, edgePort(addr, u))
		c.heard(addr, res.Error, isHang(ctx))
		return res
	case resp.StatusCode >= 200 && resp.StatusCode < 400:
		res.OK = true
	default:
		res.Error = warm.HTTPError(resp.Status)
	}
	c.heard(addr, "", false) // an answer, whatever its status
	return res
}

// drain reads a body into a pooled buffer and drops it. io.Copy to
// io.Discard would use Discard's small buffer; reading into a large one
// directly (the transport's reader hands big reads straight to the socket)
// moves a large object in far fewer calls. A body that says it is small,
// or does not say and turns out so, never takes a large buffer.
func (c *Client) drain(body io.Reader, length int64, progress func()) (int64, error) {
	pool := &c.bufs
	if length >= 0 && length <= smallBuf || length < 0 {
		pool = &c.small
	}
	bp := pool.Get().(*[]byte)
	defer func() { pool.Put(bp) }()
	buf := *bp
	var n int64
	for {
		m, err := body.Read(buf)
		n += int64(m)
		if m > 0 {
			progress()
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if m == len(buf) && pool == &c.small && length < 0 {
			// A body of unknown length that fills the small buffer: move
			// to a large one.
			pool.Put(bp)
			pool = &c.bufs
			bp = pool.Get().(*[]byte)
			buf = *bp
		}
	}
}

// edgePort is the address and port a fetch of u dials at the edge addr:
// what an error must name, since the port comes from the URL, not the
// edges file.
func edgePort(addr string, u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"), port)
}

// noHeaders and stalled are why an attempt was cut short: an edge that
// sent no headers in time, a body that stopped coming.
type (
	noHeaders struct{ after time.Duration }
	stalled   struct{ after time.Duration }
)

func (e noHeaders) Error() string { return fmt.Sprintf("no response headers in %s", e.after) }
func (e stalled) Error() string   { return fmt.Sprintf("no byte in %s", e.after) }

// causeOf is err, or why the attempt's context was cut when it was.
func causeOf(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) && ctx.Err() != nil {
		return cause
	}
	return err
}

// isHang reports whether the attempt was cut for want of an answer: no
// headers, or a body whose bytes stopped coming.
func isHang(ctx context.Context) bool {
	var nh noHeaders
	var st stalled
	cause := context.Cause(ctx)
	return errors.As(cause, &nh) || errors.As(cause, &st)
}

// bodyError says how a body failed: stalled, cut short of its length, or
// as the network said.
func bodyError(err error, got, length int64, where string) string {
	var st stalled
	switch {
	case errors.As(err, &st):
		return fmt.Sprintf("stalled after %s: %s", humanBytes(got), st)
	case length > 0 && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
		return fmt.Sprintf("body ended at %d of %d bytes (%s)", got, length, describe(err, where))
	}
	return fmt.Sprintf("read body after %d bytes: %s", got, describe(err, where))
}

// humanBytes writes a size the way people read it: 512 B, 1.2 MB.
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// describe shortens network errors to what an operator needs; where is the
// address and port dialled.
func describe(err error, where string) string {
	var ne net.Error
	var nh noHeaders
	switch {
	case errors.As(err, &nh):
		return nh.Error() + " from " + where
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connect " + where + ": connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by " + where
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed early by " + where
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// Document downloads a small document (a playlist, a manifest, a sitemap)
// through the POP and returns its body, decoded if the edge gzipped it. A
// body over max bytes is an error, as is any answer but 2xx.
func (c *Client) Document(ctx context.Context, r warm.FetchRequest, max int64) ([]byte, error) {
	r.Headers = append(slices.Clone(r.Headers), "Accept-Encoding: gzip")
	var body []byte
	var readErr error
	res := c.do(ctx, r, http.MethodGet, func(resp *http.Response) {
		var rd io.Reader = resp.Body
		if resp.StatusCode/100 != 2 {
			return
		}
		if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				readErr = fmt.Errorf("gunzip: %w", err)
				return
			}
			defer zr.Close()
			rd = zr
		}
		body, readErr = io.ReadAll(io.LimitReader(rd, max+1))
		if readErr == nil && int64(len(body)) > max {
			readErr = fmt.Errorf("larger than %d bytes", max)
		}
	}, false)
	switch {
	case !res.OK:
		return nil, errors.New(res.Error)
	case readErr != nil:
		return nil, readErr
	}
	return body, nil
}
