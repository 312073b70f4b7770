package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"prewarm/internal/warm"
)

// httpError is an error that knows its status: authentication, unknown
// routes.
type httpError struct {
	status     int
	msg        string
	retryAfter time.Duration // with 429: when to ask again
}

func (e *httpError) Error() string { return e.msg }

var errNotFoundRoute = &httpError{status: http.StatusNotFound, msg: "no such endpoint"}

// failure is the original API's error body.
type failure struct {
	Status    string `json:"status"`
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
}

// writeError is the one place where errors become status codes. Server
// errors are logged with their cause and answered without it.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	now := timestamp(s.cfg.Now())
	var (
		he      *httpError
		in      *warm.InputError
		badURLs *warm.InvalidURLsError
		tooBig  *http.MaxBytesError
		scaler  *warm.ScalerError
	)
	status, msg := http.StatusInternalServerError, "internal error"
	switch {
	case errors.As(err, &badURLs):
		writeJSON(w, http.StatusBadRequest, SubmitResponse{Status: "Failed", ErrorMessage: "Invalid URLs",
			ErrorURLs: badURLs.URLs, Timestamp: now})
		return
	case errors.As(err, &tooBig):
		status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit)
	case errors.As(err, &in):
		status, msg = http.StatusBadRequest, in.Error()
		if in.TooLarge {
			status = http.StatusRequestEntityTooLarge
		}
	case errors.As(err, &he):
		status, msg = he.status, he.msg
		if he.retryAfter > 0 {
			w.Header().Set("Retry-After", retrySeconds(he.retryAfter))
		}
	case errors.As(err, &scaler):
		// The platform's own message is the operator's to read: it
		// names the missing permission or the group's bounds.
		status, msg = http.StatusBadGateway, err.Error()
	case errors.Is(err, warm.ErrNotFound):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, warm.ErrConflict):
		status, msg = http.StatusConflict, strings.TrimSuffix(err.Error(), ": "+warm.ErrConflict.Error())
	case errors.Is(err, warm.ErrStorageFull):
		status, msg = http.StatusInsufficientStorage, "nothing was recorded: "+warm.ErrStorageFull.Error()+
			"; free space on it (reads still work, and work already accepted resumes by itself)"
	}
	if status >= 500 {
		s.cfg.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "key", KeyName(r.Context()), "err", err)
	}
	writeJSON(w, status, failure{Status: "failure", Message: msg, Timestamp: now})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
