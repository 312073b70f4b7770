package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"prewarm/internal/api"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// defaultServer is where `prewarm serve` listens with its default --listen.
const defaultServer = "http://127.0.0.1:8080"

// maxAnswer bounds a JSON answer read into memory: a summary of a job with
// the maximum of URLs, every one failed, stays well below it.
const maxAnswer = 64 << 20

// clientFlags are the flags every client command shares. Each has its
// PREWARM_* fallback through applyEnv, like every other flag.
type clientFlags struct {
	server         string
	apiKey         string
	output         string
	requestTimeout time.Duration
}

func (f *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.server, "server", defaultServer, "base URL of the prewarm server (env PREWARM_SERVER)")
	fs.StringVar(&f.apiKey, "api-key", "", "API key, sent as the x-api-key header (env PREWARM_API_KEY)")
	fs.StringVarP(&f.output, "output", "o", "text", "text, or json: the API's answer as it came, indented")
	fs.DurationVar(&f.requestTimeout, "request-timeout", 30*time.Second, "how long one HTTP request may take (not the job's timeout)")
}

// jsonOutput reports whether --output asks for the API's JSON.
func (f *clientFlags) jsonOutput() bool { return f.output == "json" }

// client checks the shared flags and builds the API client they describe.
func (f *clientFlags) client() (*apiClient, error) {
	if f.output != "text" && f.output != "json" {
		return nil, fmt.Errorf("--output %q: use text or json", f.output)
	}
	if f.requestTimeout <= 0 {
		return nil, fmt.Errorf("--request-timeout %s: must be positive", f.requestTimeout)
	}
	base, err := parseServer(f.server)
	if err != nil {
		return nil, err
	}
	key := strings.TrimSpace(f.apiKey)
	// serve reads --api-key (and PREWARM_API_KEY) as a comma-separated list,
	// so no valid key holds a comma. When the variable is shared with serve
	// and lists several keys, any one is accepted: send the first.
	if first, _, found := strings.Cut(key, ","); found {
		key = strings.TrimSpace(first)
	}
	return &apiClient{
		base:    base,
		key:     key,
		timeout: f.requestTimeout,
		hc: &http.Client{
			// Go forwards custom headers such as x-api-key on redirects,
			// even to other hosts; the API never redirects, so a redirect
			// (a proxy's http → https, a moved server) is reported instead of
			// followed, and the key stays where the operator sent it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// parseServer accepts a base URL with or without its scheme
// ("127.0.0.1:8080" is http://127.0.0.1:8080) and keeps a path prefix, for
// a server mounted behind a reverse proxy.
func parseServer(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("--server is empty: give the server's base URL, such as " + defaultServer)
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("--server %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("--server %q: use an http:// or https:// URL", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("--server %q: no host", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// apiClient speaks a prewarm server's JSON API (which is also the original
// Pre-warming solution's, apart from /jobs).
type apiClient struct {
	base    *url.URL
	key     string
	timeout time.Duration
	hc      *http.Client
}

// endpoint is the absolute URL of an API path.
func (c *apiClient) endpoint(path string, q url.Values) string {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = q.Encode()
	return u.String()
}

// call sends one request and returns the body of a 2xx answer; any other
// answer is an *apiError and a failure to reach the server a
// *transportError. The whole exchange is bounded by --request-timeout.
func (c *apiClient) call(ctx context.Context, method, path string, q url.Values, in any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encoding the %s %s request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path, q), body)
	if err != nil {
		return nil, fmt.Errorf("building the %s %s request: %w", method, path, err)
	}
	c.setHeaders(req)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("reading the answer to %s %s: %w", method, path, c.transportError(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, newAPIError(resp, data)
	}
	return data, nil
}

// getJSON GETs path and decodes its answer into out, returning the raw body
// too for --output json.
func (c *apiClient) getJSON(ctx context.Context, path string, q url.Values, out any) ([]byte, error) {
	return c.callJSON(ctx, http.MethodGet, path, q, nil, out)
}

func (c *apiClient) callJSON(ctx context.Context, method, path string, q url.Values, in, out any) ([]byte, error) {
	data, err := c.call(ctx, method, path, q, in)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("%s %s answered something other than the API's JSON (is --server a prewarm server?): %w", method, path, err)
	}
	return data, nil
}

func (c *apiClient) setHeaders(req *http.Request) {
	req.Header.Set("User-Agent", "prewarm-cli/"+version())
	if c.key != "" {
		req.Header.Set("x-api-key", c.key)
	}
}

// download streams the body at link (a report's signed URL) to w. The link
// carries its own token, so the API key is not sent: the link may point at
// another host (a public URL, or the original solution's S3). Only waiting
// for the answer is bounded by --request-timeout, since a large report
// takes as long as it takes to stream.
func (c *apiClient) download(ctx context.Context, link string, w io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return fmt.Errorf("report link %q: %w", link, err)
	}
	req.Header.Set("User-Agent", "prewarm-cli/"+version())
	timer := time.AfterFunc(c.timeout, cancel)
	resp, err := c.hc.Do(req)
	stopped := timer.Stop()
	if err == nil && !stopped {
		// The answer came just as the timer fired: its body is cut off.
		resp.Body.Close()
		err = context.Canceled
	}
	if err != nil {
		if !stopped {
			err = fmt.Errorf("%w (waited --request-timeout %s)", context.DeadlineExceeded, c.timeout)
		}
		return fmt.Errorf("downloading the report: %w", c.transportError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("downloading the report: %w", newAPIError(resp, data))
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("downloading the report: %w", err)
	}
	return nil
}

// transportError is a request that got no HTTP answer.
type transportError struct {
	err  error
	hint string
}

func (e *transportError) Error() string {
	if e.hint == "" {
		return e.err.Error()
	}
	return e.err.Error() + "; " + e.hint
}

func (e *transportError) Unwrap() error { return e.err }

// transportError explains a failed exchange: a dial that failed (refused,
// unknown host, unreachable) most often means the server is not running
// where --server says.
func (c *apiClient) transportError(err error) error {
	var te *transportError
	if errors.As(err, &te) {
		return err
	}
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "dial":
		return &transportError{err, fmt.Sprintf("is prewarm serve running at %s? set --server (or PREWARM_SERVER)", c.base)}
	case errors.Is(err, context.DeadlineExceeded):
		return &transportError{err, fmt.Sprintf("no answer within %s: raise --request-timeout, or check the server", c.timeout)}
	}
	return &transportError{err: err}
}

// apiError is a non-2xx answer: the API's {"status":"failure","message"}
// body, or, for a job with bad URLs, the original's
// {"status":"Failed","error_message","error_urls"}.
type apiError struct {
	StatusCode  int
	Message     string
	InvalidURLs []string
	Location    string // where a redirect pointed
}

func newAPIError(resp *http.Response, data []byte) *apiError {
	e := &apiError{StatusCode: resp.StatusCode, Location: resp.Header.Get("Location")}
	var body struct {
		Message      string   `json:"message"`
		ErrorMessage string   `json:"error_message"`
		ErrorURLs    []string `json:"error_urls"`
	}
	if json.Unmarshal(data, &body) == nil {
		e.Message, e.InvalidURLs = body.Message, body.ErrorURLs
		if e.Message == "" {
			e.Message = body.ErrorMessage
		}
	}
	if e.Message == "" {
		// Not the API's body: a proxy's page, or another server. Its first
		// line says more than nothing.
		line, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
		e.Message = truncateRunes(strings.TrimSpace(line), 200)
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%s (HTTP %d)", e.Message, e.StatusCode)
	switch {
	case e.StatusCode == http.StatusUnauthorized:
		msg += "; pass --api-key KEY or set PREWARM_API_KEY"
	case e.StatusCode == http.StatusForbidden:
		msg += "; check --api-key (or PREWARM_API_KEY) against the server's keys"
	case e.StatusCode >= 300 && e.StatusCode < 400 && e.Location != "":
		msg += "; the server redirects to " + e.Location + ": set --server to the new address"
	}
	return msg
}

// retryable reports whether a failed poll is worth repeating: the server
// was unreachable or failed itself, as during a restart or a deploy.
func retryable(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var ae *apiError
	return errors.As(err, &ae) && (ae.StatusCode >= 500 || ae.StatusCode == http.StatusTooManyRequests)
}

// writeIndented writes a JSON body indented, as --output json promises; a
// body that is not JSON is written as it came.
func writeIndented(w io.Writer, data []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(data), "", "  "); err != nil {
		buf.Reset()
		buf.Write(bytes.TrimSpace(data))
	}
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing the answer: %w", err)
	}
	return nil
}

// The API's answers are the server's own types: a field renamed there
// fails to compile here, instead of silently reading zero.
type (
	submitAnswer    = api.SubmitResponse
	progressAnswer  = api.ProgressResponse
	summaryAnswer   = api.SummaryResponse
	jobAnswer       = api.JobResponse
	popAnswer       = api.POPJSON
	instancesAnswer = api.InstancesStatus
	agentAnswer     = api.AgentJSON
)

// jobProgress is the part of an answer a ProgressView shows.
func jobProgress(p *progressAnswer) JobProgress {
	return JobProgress{Status: p.Status, Done: p.DownloadCount, Total: p.TotalCount, OK: p.SuccessCount,
		Failed: p.FailedCount, Bytes: p.DownloadSize, Message: p.Message}
}

// apiTimeLayout is how the API writes times: UTC, microseconds, no zone.
const apiTimeLayout = "2006-01-02 15:04:05.000000"

func parseAPITime(s string) (time.Time, bool) {
	t, err := time.ParseInLocation(apiTimeLayout, strings.TrimSpace(s), time.UTC)
	return t, err == nil
}

// showTime writes an API time for people: to the second, with its zone.
// What does not parse is shown as it came.
func showTime(s string) string {
	if t, ok := parseAPITime(s); ok {
		return t.Format("2006-01-02 15:04:05") + " UTC"
	}
	return s
}

// optionalInt is an integer flag that remembers whether it was given, so
// that 0 can be sent when asked for and nothing otherwise (the server then
// applies its own default). applyEnv calls Set directly, which pflag's
// Changed does not see; set does.
type optionalInt struct {
	v   int
	set bool
}

func (o *optionalInt) Set(s string) error {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	o.v, o.set = v, true
	return nil
}

func (o *optionalInt) String() string {
	if !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *optionalInt) Type() string { return "int" }

func (o *optionalInt) ptr() *int {
	if !o.set {
		return nil
	}
	v := o.v
	return &v
}

// optionalFloat is optionalInt for a number such as a timeout in minutes.
type optionalFloat struct {
	v   float64
	set bool
}

func (o *optionalFloat) Set(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	o.v, o.set = v, true
	return nil
}

func (o *optionalFloat) String() string {
	if !o.set {
		return ""
	}
	return strconv.FormatFloat(o.v, 'f', -1, 64)
}

func (o *optionalFloat) Type() string { return "float" }

func (o *optionalFloat) ptr() *float64 {
	if !o.set {
		return nil
	}
	v := o.v
	return &v
}
