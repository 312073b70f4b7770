// Package api serves prewarm's HTTP API: the original Pre-warming API, field
// for field (POST/GET /prewarm, POST/GET /instances, GET /summary and its CSV
// report), plus health and job listings. Handlers return a value or an
// error; one function turns errors into status codes and the original's
// {status, message, timestamp} body.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"prewarm/internal/warm"
)

// Config is what the API needs from its process.
type Config struct {
	Service *warm.Service
	Store   warm.Store
	Keys    []string // accepted x-api-key values; none means the API is open
	// ReportSecret signs report links, so the CSV link in a summary can be
	// opened without the API key, as the original's could.
	ReportSecret []byte
	// PublicURL is the base of absolute links (report URLs); empty means
	// derived from each request.
	PublicURL  string
	MaxBody    int64
	LiveWindow time.Duration // agents silent for longer are not listed
	Log        *slog.Logger
	Now        func() time.Time
	// Metrics serves Prometheus metrics at /metrics, to callers with the
	// API key as x-api-key or as a bearer token (what scrapers send).
	Metrics http.Handler
	// Extra routes (the dashboard) mounted on the same server, each
	// deciding its own authentication.
	Extra map[string]http.Handler
}

// Server is the API's HTTP handler.
type Server struct {
	cfg  Config
	auth *auth
	mux  *http.ServeMux
}

// New builds the route table.
func New(cfg Config) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 32 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, auth: newAuth(cfg.Keys), mux: http.NewServeMux()}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.handle("POST /prewarm", s.postPrewarm)
	s.handle("GET /prewarm", s.getPrewarm)
	s.handle("POST /instances", s.postInstances)
	s.handle("GET /instances", s.getInstances)
	s.handle("GET /summary", s.getSummary)
	s.handle("GET /jobs", s.listJobs)
	s.handle("GET /jobs/{id}", s.getJob)
	s.handle("POST /jobs/{id}/stop", s.stopJob)
	s.mux.HandleFunc("GET /reports/{file}", s.getReport)
	if s.cfg.Metrics != nil {
		s.mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			if err := s.auth.check(r); err != nil {
				s.writeError(w, r, err)
				return
			}
			s.cfg.Metrics.ServeHTTP(w, r)
		})
	}
	// A known path with the wrong method gets the API's own 405 body.
	for _, path := range []string{"/prewarm", "/instances", "/summary", "/jobs", "/jobs/{id}", "/jobs/{id}/stop"} {
		s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			s.writeError(w, r, &httpError{http.StatusMethodNotAllowed, r.Method + " is not allowed on " + r.URL.Path})
		})
	}
	for pattern, h := range s.cfg.Extra {
		s.mux.Handle(pattern, h)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errNotFoundRoute)
	})
}

// handler is the shape of every JSON endpoint.
type handler func(r *http.Request) (any, error)

func (s *Server) handle(pattern string, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := s.auth.check(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
		resp, err := h(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.cfg.Store.DesiredCapacity(ctx); err != nil {
		s.cfg.Log.Error("health check: database", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
