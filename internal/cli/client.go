package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"prewarm/client"
)

// defaultServer is where `prewarm serve` listens with its default --listen.
const defaultServer = "http://127.0.0.1:8080"

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

// apiClient is the API client the flags describe, with what the commands
// add to it: errors explained in terms of the flags, and for --output json
// the answers' bodies as they came.
type apiClient struct {
	*client.Client
	timeout time.Duration
	answers *answerRecorder // nil unless --output json
}

// client checks the shared flags and builds the API client they describe.
func (f *clientFlags) client() (*apiClient, error) {
	if f.output != "text" && f.output != "json" {
		return nil, fmt.Errorf("--output %q: use text or json", f.output)
	}
	if f.requestTimeout <= 0 {
		return nil, fmt.Errorf("--request-timeout %s: must be positive", f.requestTimeout)
	}
	key := strings.TrimSpace(f.apiKey)
	// serve reads --api-key (and PREWARM_API_KEY) as a comma-separated list,
	// so no valid key holds a comma. When the variable is shared with serve
	// and lists several keys, any one is accepted: send the first.
	if first, _, found := strings.Cut(key, ","); found {
		key = strings.TrimSpace(first)
	}
	if strings.ContainsFunc(key, unicode.IsControl) {
		return nil, errors.New("--api-key: contains a control character (a line break?)")
	}
	c := &apiClient{timeout: f.requestTimeout}
	hc := &http.Client{}
	if f.jsonOutput() {
		c.answers = &answerRecorder{next: http.DefaultTransport}
		hc.Transport = c.answers
	}
	var err error
	c.Client, err = client.New(f.server, key, client.WithTimeout(f.requestTimeout),
		client.WithUserAgent("prewarm-cli/"+version()), client.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	return c, nil
}

// jobClient is client for a command about one job, whose id must be given.
func (f *clientFlags) jobClient(id string) (*apiClient, error) {
	c, err := f.client()
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, errors.New("the job ID is empty")
	}
	return c, nil
}

// explain adds to a failed call what the user can do about it, in terms of
// the command's flags.
func (c *apiClient) explain(err error) error {
	var (
		ae   *client.Error
		op   *net.OpError
		hint string
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		switch {
		case ae.StatusCode == http.StatusUnauthorized:
			hint = "pass --api-key KEY or set PREWARM_API_KEY"
		case ae.StatusCode == http.StatusForbidden:
			hint = "check --api-key (or PREWARM_API_KEY) against the server's keys"
		case ae.StatusCode >= 300 && ae.StatusCode < 400 && ae.Location != "":
			hint = "the server redirects to " + ae.Location + ": set --server to the new address"
		}
	case errors.As(err, &op) && op.Op == "dial":
		// Refused, unknown host, unreachable: most often the server is not
		// running where --server says.
		hint = fmt.Sprintf("is prewarm serve running at %s? set --server (or PREWARM_SERVER)", c.BaseURL())
	case errors.Is(err, context.DeadlineExceeded):
		hint = fmt.Sprintf("no answer within %s: raise --request-timeout, or check the server", c.timeout)
	}
	if hint == "" {
		return err
	}
	return &hintedError{err: err, hint: hint}
}

// hintedError is an error with what to do about it.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() + "; " + e.hint }
func (e *hintedError) Unwrap() error { return e.err }

// writeAnswer writes the last answer's body indented, as --output json
// promises.
func (c *apiClient) writeAnswer(w io.Writer) error {
	return writeIndented(w, c.answers.body())
}

// show prints a call's answer with write, or, with --output json, the
// answer as it came; a failed call is explained.
func show[T any](f *clientFlags, out io.Writer, c *apiClient, ans T, err error, write func(io.Writer, T) error) error {
	if err != nil {
		return c.explain(err)
	}
	if f.jsonOutput() {
		return c.writeAnswer(out)
	}
	return write(out, ans)
}

// query makes the call that needs nothing but the client the flags
// describe, and shows its answer.
func query[T any](f *clientFlags, cmd *cobra.Command, call func(*apiClient, context.Context) (T, error), write func(io.Writer, T) error) error {
	c, err := f.client()
	if err != nil {
		return err
	}
	ans, err := call(c, cmd.Context())
	return show(f, cmd.OutOrStdout(), c, ans, err, write)
}

// writeLine writes an answer that is one line of text.
func writeLine(w io.Writer, line string) error {
	_, err := fmt.Fprintln(w, line)
	return err
}

// answerRecorder keeps the body of the last JSON answer as the server sent
// it, so that --output json shows the server's own bytes, fields this client
// does not know included, rather than what the client understood of them.
// (A report download is streamed past it, not kept.)
type answerRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	last *bytes.Buffer
}

func (r *answerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || req.Header.Get("Accept") != "application/json" {
		return resp, err
	}
	buf := &bytes.Buffer{}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, buf), resp.Body}
	r.mu.Lock()
	r.last = buf
	r.mu.Unlock()
	return resp, nil
}

func (r *answerRecorder) body() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return nil
	}
	return r.last.Bytes()
}

// jobProgress is the part of an answer a ProgressView shows.
func jobProgress(p *client.ProgressResponse) JobProgress {
	return JobProgress{Status: p.Status, Done: p.DownloadCount, Total: p.TotalCount, OK: p.SuccessCount,
		Failed: p.FailedCount, Bytes: p.DownloadSize, Message: withWaiting(p.Message, p.Waiting)}
}

// withWaiting adds what a job waits for (a budget, said whole: "host
// www.example.com: waiting for a share of its budget …") to its message.
func withWaiting(msg, waiting string) string {
	switch {
	case waiting == "":
		return msg
	case msg == "":
		return waiting
	}
	return msg + "; " + waiting
}

func parseAPITime(s string) (time.Time, bool) {
	t, err := client.ParseTime(s)
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
