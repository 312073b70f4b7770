package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Failure is the API's error body, the original's: status "failure", the
// message naming the field at fault, and the time.
type Failure struct {
	Status    string `json:"status"`
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
}

// Error is an answer that is not a success: a 4xx or 5xx status, or a
// redirect, which the client does not follow.
type Error struct {
	StatusCode int
	// Message is the API's message; for an answer that is not the API's
	// (a proxy's error page), the first line of its body; failing that, the
	// status text.
	Message string
	// ErrorURLs lists the URLs of a job refused for them (POST /prewarm
	// answers 400 with the original's status "Failed" and error_urls).
	ErrorURLs []string
	// Location is where a redirect pointed.
	Location string
}

// Error reads "message (HTTP status)".
func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.StatusCode)
}

// newError reads a non-2xx answer: the API's {"status":"failure","message"}
// body or, for a job with bad URLs, {"status":"Failed","error_message",
// "error_urls"}.
func newError(resp *http.Response, data []byte) *Error {
	e := &Error{StatusCode: resp.StatusCode, Location: resp.Header.Get("Location")}
	var body struct {
		Message      string   `json:"message"`
		ErrorMessage string   `json:"error_message"`
		ErrorURLs    []string `json:"error_urls"`
	}
	if json.Unmarshal(data, &body) == nil {
		e.Message, e.ErrorURLs = body.Message, body.ErrorURLs
		if e.Message == "" {
			e.Message = body.ErrorMessage
		}
	}
	if e.Message == "" {
		// Not the API's body: a proxy's page, or another server. Its first
		// line says more than nothing.
		line, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
		e.Message = firstRunes(strings.TrimSpace(line), 200)
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// retryable reports whether a failed poll is worth repeating: the server
// failed itself or asked to slow down, as during a restart or a deploy.
// (A request that got no answer at all is retryable too; see Wait.)
func (e *Error) retryable() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests
}

func firstRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
