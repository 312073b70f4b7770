// Package api serves prewarm's HTTP API: the original Pre-warming API, field
// for field (POST/GET /prewarm, POST/GET /instances, GET /summary and its CSV
// report), plus health and job listings. Handlers return a value or an
// error; one function turns errors into status codes and the original's
// {status, message, timestamp} body.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"prewarm/internal/warm"
)

// Config is what the API needs from its process.
type Config struct {
	// Service is the domain: every handler goes through it.
	Service *warm.Service
	// Schedules keeps the schedules (/schedules); nil: not offered.
	Schedules *warm.Scheduler
	// Keyring holds the accepted keys, with their scopes and limits; nil
	// takes Keys, each an admin. No keys at all means the API is open.
	Keyring *Keyring
	Keys    []string
	// ReportSecret signs report links, so the CSV link in a summary can be
	// opened without the API key, as the original's could. It is asked
	// again at most once a minute, so a secret rotated on one node is used
	// by all within a minute. Nil: a fixed random secret.
	ReportSecret func(context.Context) ([]byte, error)
	// RotateReportSecret replaces the secret (POST /report-secret/rotate):
	// every link given so far stops working. Nil: not offered.
	RotateReportSecret func(context.Context) error
	// ReportLinkTTL is how long a report link works; default 7 days.
	ReportLinkTTL time.Duration
	// PublicURL is the base of absolute links (report URLs); empty means
	// relative links (a request's Host is not trusted to name the server).
	PublicURL string
	MaxBody   int64
	Log       *slog.Logger
	Now       func() time.Time
	// Metrics serves Prometheus metrics at /metrics, to callers with the
	// API key as x-api-key or as a bearer token (what scrapers send).
	Metrics http.Handler
	// Extra routes (the dashboard) mounted on the same server, each
	// deciding its own authentication.
	Extra map[string]http.Handler
}

// Server is the API's HTTP handler.
type Server struct {
	cfg     Config
	keys    *Keyring
	secrets *secretCache
	mux     *http.ServeMux
}

// New builds the route table.
func New(cfg Config) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 32 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Keyring == nil {
		cfg.Keyring = NewKeyring(AdminKeys(cfg.Keys), cfg.Now)
	}
	if cfg.ReportLinkTTL <= 0 {
		cfg.ReportLinkTTL = DefaultReportLinkTTL
	}
	s := &Server{cfg: cfg, keys: cfg.Keyring, secrets: newSecretCache(cfg.ReportSecret, cfg.Now), mux: http.NewServeMux()}
	s.routes()
	return s
}

// route is one entry of the route table.
type route struct {
	pattern string
	handler http.HandlerFunc
}

// table is the API's one route table; the OpenAPI document must describe
// every entry (a test holds it to that).
func (s *Server) table() []route {
	t := []route{
		{"GET /healthz", s.healthz},
		{"GET /openapi.yaml", serveOpenAPI},
		{"POST /prewarm", s.json(ScopeSubmit, s.postPrewarm)},
		{"GET /prewarm", s.json(ScopeRead, byReqID(s.getPrewarm))},
		{"POST /instances", s.json(ScopeAdmin, s.postInstances)},
		{"GET /instances", s.json(ScopeRead, s.getInstances)},
		{"GET /summary", s.json(ScopeRead, byReqID(s.getSummary))},
		{"GET /jobs", s.json(ScopeRead, s.listJobs)},
		{"GET /jobs/{id}", s.json(ScopeRead, s.getJob)},
		{"POST /jobs/{id}/stop", s.json(ScopeSubmit, s.stopJob)},
		{"GET /reports/{file}", s.getReport},
	}
	if s.cfg.Schedules != nil {
		t = append(t,
			route{"POST /schedules", s.json(ScopeSubmit, s.postSchedule)},
			route{"GET /schedules", s.json(ScopeRead, s.listSchedules)},
			route{"GET /schedules/{id}", s.json(ScopeRead, s.getSchedule)},
			route{"DELETE /schedules/{id}", s.json(ScopeSubmit, s.deleteSchedule)},
			route{"POST /schedules/{id}/pause", s.json(ScopeSubmit, s.pauseSchedule(true))},
			route{"POST /schedules/{id}/resume", s.json(ScopeSubmit, s.pauseSchedule(false))},
		)
	}
	if s.cfg.RotateReportSecret != nil {
		t = append(t, route{"POST /report-secret/rotate", s.json(ScopeAdmin, s.rotateReportSecret)})
	}
	if s.cfg.Metrics != nil {
		t = append(t, route{"GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			r, err := s.keys.check(r, ScopeRead)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			s.cfg.Metrics.ServeHTTP(w, r)
		}})
	}
	return t
}

func (s *Server) routes() {
	paths := map[string]bool{}
	for _, rt := range s.table() {
		s.mux.HandleFunc(rt.pattern, rt.handler)
		_, path, _ := strings.Cut(rt.pattern, " ")
		paths[path] = true
	}
	// A known path with the wrong method gets the API's own 405 body.
	for path := range paths {
		s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			s.writeError(w, r, &httpError{status: http.StatusMethodNotAllowed, msg: r.Method + " is not allowed on " + r.URL.Path})
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

// json wraps a JSON endpoint: a key with the scope it needs, the body
// limit, the answer or the error.
func (s *Server) json(need Scope, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		keyed, err := s.keys.check(r, need)
		if err != nil {
			// Answered at once, its body unread, and the connection
			// closed after the answer: no read of what the client still
			// sends (the deadline ends the server's wait for it).
			w.Header().Set("Connection", "close")
			s.writeError(w, r, err)
			_ = http.NewResponseController(w).SetReadDeadline(time.Now())
			return
		}
		r = keyed
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
		resp, err := h(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// Timeouts of the API's HTTP server: no client holds a connection by
// sending or reading slowly. A report extends its write deadline as it goes
// (see getReport).
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 2 * time.Minute // a whole request: 32 MiB at 280 kB/s
	writeTimeout      = time.Minute     // an answer, or a report's next page
	idleTimeout       = 2 * time.Minute
)

// HTTPServer is the server that serves the API.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{Handler: s, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout}
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Service.Healthy(ctx); err != nil {
		s.cfg.Log.Error("health check: database", "err", err)
		state := "unreachable"
		if errors.Is(err, warm.ErrStorageFull) {
			state = "full: " + err.Error()
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": state})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
