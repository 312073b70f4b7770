package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one call when WithTimeout does not say otherwise.
const DefaultTimeout = 30 * time.Second

// maxAnswer bounds a JSON answer read into memory: a summary of a job with
// the server's maximum of URLs, every one failed, stays well below it.
const maxAnswer = 64 << 20

// Client calls one prewarm server. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	key       string
	hc        *http.Client
	timeout   time.Duration
	userAgent string
	maxAnswer int64
}

// Option changes how a Client works; see New.
type Option func(*Client)

// WithHTTPClient sends the requests through hc (its transport, proxy and TLS
// settings). Its CheckRedirect is replaced on a copy: the client never
// follows a redirect.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			copied := *hc
			c.hc = &copied
		}
	}
}

// WithTimeout bounds each call, from sending the request to reading the
// whole answer (a report download: until its answer starts). Zero leaves
// calls bounded by their context only. The default is DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client of the server at baseURL, which may leave out its
// scheme ("127.0.0.1:8080" is http://127.0.0.1:8080) and may end in a path
// prefix, for a server mounted behind a reverse proxy. apiKey is sent as the
// x-api-key header; it may be empty for a server that runs without keys.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	base, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	if strings.ContainsFunc(apiKey, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
		return nil, errors.New("API key: contains a control character (a line break?)")
	}
	c := &Client{base: base, key: apiKey, hc: &http.Client{}, timeout: DefaultTimeout,
		userAgent: "prewarm-client", maxAnswer: maxAnswer}
	for _, o := range opts {
		o(c)
	}
	if c.timeout < 0 {
		return nil, fmt.Errorf("timeout %s: must not be negative", c.timeout)
	}
	// Go forwards custom headers such as x-api-key on redirects, even to
	// other hosts; the API never redirects, so a redirect (a proxy's
	// http → https, a moved server) is reported instead of followed, and
	// the key stays where it was sent.
	c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c, nil
}

// parseBaseURL checks a server's base URL and normalises it: scheme added
// when absent, no trailing slash, no query or fragment.
func parseBaseURL(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("base URL is empty: give the server's address, such as http://127.0.0.1:8080")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("base URL %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("base URL %q: use an http:// or https:// URL", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("base URL %q: no host", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// BaseURL is the server's base URL as the client uses it.
func (c *Client) BaseURL() string { return c.base.String() }

// endpoint is the absolute URL of an API path, given escaped (a job id in
// it may hold any character).
func (c *Client) endpoint(escapedPath string, q url.Values) *url.URL {
	u := *c.base
	u.RawPath = c.base.EscapedPath() + escapedPath
	u.Path, _ = url.PathUnescape(u.RawPath)
	u.RawQuery = q.Encode()
	return &u
}

// request is one call of a JSON endpoint.
type request struct {
	method string
	path   string // escaped
	query  url.Values
	body   any // encoded as JSON; nil: none
}

// do sends r and decodes the answer into a new T. A non-nil err, from
// checking the caller's arguments, is returned instead, with no request.
func do[T any](ctx context.Context, c *Client, r request, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	var out T
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// call sends one request with the API key and decodes the JSON of a 2xx
// answer into out. Any other answer is an *Error.
func (c *Client) call(ctx context.Context, r request, out any) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("encoding the %s %s request: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.endpoint(r.path, r.query).String(), body)
	if err != nil {
		return fmt.Errorf("building the %s %s request: %w", r.method, r.path, err)
	}
	c.setHeaders(req, true)
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxAnswer+1))
	if err != nil {
		return fmt.Errorf("reading the answer to %s %s: %w", r.method, r.path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newError(resp, data)
	}
	if int64(len(data)) > c.maxAnswer {
		return fmt.Errorf("%s %s: the answer is larger than %d MiB", r.method, r.path, c.maxAnswer>>20)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s answered something other than the API's JSON (is it a prewarm server?): %w", r.method, r.path, err)
	}
	return nil
}

// stream copies the body at u to w. Only waiting for the answer is bounded
// by the client's timeout: a large report takes as long as it takes to
// stream, under ctx.
func (c *Client) stream(ctx context.Context, u *url.URL, withKey bool, w io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("report link %q: %w", u, err)
	}
	c.setHeaders(req, withKey)
	req.Header.Set("Accept", "text/csv")
	var timer *time.Timer
	if c.timeout > 0 {
		timer = time.AfterFunc(c.timeout, cancel)
	}
	resp, err := c.hc.Do(req)
	if timer != nil && !timer.Stop() {
		// The timer fired, perhaps just as the answer came: its body is
		// cut off either way.
		if err == nil {
			resp.Body.Close()
		}
		err = context.DeadlineExceeded
	}
	if err != nil {
		return fmt.Errorf("downloading the report: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("downloading the report: %w", newError(resp, data))
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("downloading the report: %w", err)
	}
	return nil
}

func (c *Client) setHeaders(req *http.Request, withKey bool) {
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if withKey && c.key != "" {
		req.Header.Set("x-api-key", c.key)
	}
}

// Health asks GET /healthz whether the server can reach its database. It
// needs no API key; nil means healthy.
func (c *Client) Health(ctx context.Context) error {
	var h struct {
		Status string `json:"status"`
	}
	err := c.call(ctx, request{method: http.MethodGet, path: "/healthz"}, &h)
	if err == nil && h.Status != "ok" {
		err = fmt.Errorf("GET /healthz: status %q", h.Status)
	}
	return err
}

// jobPath is the path of one job's resource, its id escaped.
func jobPath(id string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", errors.New("job id is empty")
	}
	return "/jobs/" + url.PathEscape(id), nil
}

// reqID is the req_id query of the original's endpoints.
func reqID(id string) (url.Values, error) {
	if strings.TrimSpace(id) == "" {
		return nil, errors.New("job id is empty")
	}
	return url.Values{"req_id": {id}}, nil
}
