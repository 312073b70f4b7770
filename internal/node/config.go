package node

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"prewarm/internal/agent"
	"prewarm/internal/edge"
	"prewarm/internal/warm"
)

// Config is everything a node is built from. Start from DefaultConfig;
// Validate says what is wrong, naming the command-line flag that sets it.
type Config struct {
	// Database is empty (or "sqlite") for the embedded database in
	// DataDir, or a postgres:// URL shared with other nodes.
	Database string
	DataDir  string
	// Control runs planning, timeouts and the reaper of dead agents: every
	// serve (and run) node; a lone agent node does not.
	Control bool
	// Agents is how many agents run in this process; AgentName names them
	// (default: the host name; "-1", "-2"… when there are several).
	Agents      int
	AgentName   string
	Concurrency int // fetches in flight per agent
	// AgentLocation is where this process's agents run (agent --location,
	// serve --agent-location): a POP code, an airport, an ISO country or a
	// region of the catalog; empty: anywhere. Open checks it against the
	// catalog, edges file included.
	AgentLocation string

	MaxURLs int // most URLs a job may hold, expanded or not
	// DefaultDiscover is how country and region jobs that say nothing
	// find their edges: "" (the catalog's POPs) or "ecs".
	DefaultDiscover string

	// Reaching and fetching from edges.
	DNSServer         string // host:port; empty: the system's resolver
	EdgesFile         string
	AllowPrivateEdges bool
	// WebhookSecret signs job notifications; without it jobs may not ask
	// for any. NotifyURL is told of jobs that name none.
	// Retention is how long an ended job keeps its per-task rows (its
	// summary and counters stay); 0 keeps them for ever.
	Retention time.Duration
	// ScheduleMinGap is the shortest time allowed between two runs of a
	// schedule.
	ScheduleMinGap       time.Duration
	WebhookSecret        string
	NotifyURL            string
	AllowPrivateWebhooks bool
	CAFile               string
	ConnectTimeout       time.Duration
	HeaderTimeout        time.Duration // an attempt without response headers this long fails
	IdleTimeout          time.Duration // a body without a byte this long fails
	TaskTimeout          time.Duration
	UserAgent            string

	// AgentTimeout: an agent silent this long is dead, its work requeued.
	AgentTimeout time.Duration
	// LocationGrace: a POP of a job with vantage "agents" whose location
	// has had no live agent this long fails (--location-grace).
	LocationGrace time.Duration

	// HostLimit bounds the fetches in flight and started per second to
	// any one URL host, across every job and agent (0: no bound). A
	// control node records it for the fleet.
	HostLimit warm.Limit

	// CloudFront invalidation (need_invalidate).
	CloudFrontEndpoint string
	InvalidationPoll   time.Duration

	// Scaler sizes the machines the agents run on (aws-asg:NAME or
	// k8s:NAMESPACE/DEPLOYMENT; empty: none), on a control node.
	Scaler Scaler

	Log *slog.Logger
}

// DefaultHostConcurrency is how many fetches to one URL host the fleet has
// in flight at most, unless told otherwise: two agents at their default
// concurrency, enough for far POPs, and a bound on what a fleet of many
// agents can send at once.
const DefaultHostConcurrency = 2048

// DefaultConfig is a node on the embedded database with one agent.
func DefaultConfig() Config {
	return Config{
		DataDir:          "prewarm-data",
		Control:          true,
		Agents:           1,
		Concurrency:      agent.DefaultConcurrency,
		MaxURLs:          warm.DefaultLimits.MaxURLs,
		ConnectTimeout:   5 * time.Second,
		HeaderTimeout:    30 * time.Second,
		IdleTimeout:      30 * time.Second,
		TaskTimeout:      10 * time.Minute,
		UserAgent:        "prewarm",
		Retention:        30 * 24 * time.Hour,
		ScheduleMinGap:   warm.DefaultScheduleGap,
		AgentTimeout:     agent.DefaultLiveWindow,
		LocationGrace:    agent.DefaultLocationGrace,
		HostLimit:        warm.Limit{Concurrency: DefaultHostConcurrency},
		InvalidationPoll: 5 * time.Second,
		Scaler:           Scaler{ScaleDownAfter: DefaultScaleDownAfter},
	}
}

// withDefaults fills what may be left out without changing behaviour;
// everything else is checked by Validate as given: callers start from
// DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.DataDir = cmp.Or(c.DataDir, d.DataDir)
	c.UserAgent = cmp.Or(c.UserAgent, d.UserAgent)
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// engine names the database a URL selects.
type engine int

const (
	engineSQLite engine = iota
	enginePostgres
)

// parseDatabase reads --database. A node without Control (an agent) has
// no embedded database to fall back on: it must share serve's PostgreSQL.
func parseDatabase(url string, control bool) (engine, error) {
	switch {
	case url == "" || url == "sqlite":
		return engineSQLite, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return enginePostgres, nil
	case !control:
		return 0, fmt.Errorf("--database %q: an agent needs the PostgreSQL database its serve nodes share: use postgres://…", url)
	}
	return 0, fmt.Errorf("--database %q: use postgres://… or omit it for the embedded database", url)
}

// Validate checks the configuration once, before anything starts.
func (c Config) Validate() error {
	eng, err := parseDatabase(c.Database, c.Control)
	if err != nil {
		return err
	}
	var errs []error
	if !c.Control && eng == engineSQLite {
		errs = append(errs, errors.New("--database postgres://… is required: agents share the serve nodes' PostgreSQL database (the embedded database runs its agents inside serve: see serve --agents)"))
	}
	if c.Agents < 0 || c.Agents > 64 {
		errs = append(errs, fmt.Errorf("--agents %d: use 0..64", c.Agents))
	}
	if c.Concurrency < 1 || c.Concurrency > 10000 {
		errs = append(errs, fmt.Errorf("--concurrency %d: use 1..10000", c.Concurrency))
	}
	if c.MaxURLs < 1 {
		errs = append(errs, fmt.Errorf("--max-urls %d: must be at least 1", c.MaxURLs))
	}
	if _, err := warm.DefaultDiscoverMode(c.DefaultDiscover); err != nil {
		errs = append(errs, fmt.Errorf("--default-discover %w", err))
	}
	if c.DNSServer != "" {
		if _, err := edge.DNSServerAddress(c.DNSServer); err != nil {
			errs = append(errs, fmt.Errorf("--dns-server %w", err))
		}
	}
	if c.ScheduleMinGap < time.Second {
		errs = append(errs, fmt.Errorf("--schedule-min-gap %v: a second or more", c.ScheduleMinGap))
	}
	if c.Retention < 0 {
		errs = append(errs, fmt.Errorf("--retention %v: 0 (for ever) or more", c.Retention))
	}
	if c.WebhookSecret != "" && len(c.WebhookSecret) < 16 {
		errs = append(errs, errors.New("--webhook-secret: at least 16 characters (receivers check signatures with it)"))
	}
	if c.NotifyURL != "" {
		if c.WebhookSecret == "" {
			errs = append(errs, errors.New("--notify-url needs --webhook-secret to sign what it sends"))
		}
		if u, err := url.Parse(c.NotifyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--notify-url %q: want an http:// or https:// URL", c.NotifyURL))
		}
	}
	if c.ConnectTimeout <= 0 || c.HeaderTimeout <= 0 || c.IdleTimeout <= 0 || c.TaskTimeout <= 0 {
		errs = append(errs, errors.New("--connect-timeout, --header-timeout, --idle-timeout and --task-timeout must be positive"))
	}
	if c.AgentTimeout < 3*agent.DefaultHeartbeat {
		errs = append(errs, fmt.Errorf("--agent-timeout %v: must be at least %v (three heartbeats)", c.AgentTimeout, 3*agent.DefaultHeartbeat))
	}
	if c.LocationGrace <= 0 {
		errs = append(errs, fmt.Errorf("--location-grace %v: must be positive", c.LocationGrace))
	}
	if c.HostLimit.Concurrency < 0 || c.HostLimit.Concurrency > warm.MaxJobConcurrency {
		errs = append(errs, fmt.Errorf("--host-concurrency %d: use 0 (no limit) to %d", c.HostLimit.Concurrency, warm.MaxJobConcurrency))
	}
	if c.HostLimit.RPS < 0 || c.HostLimit.RPS > warm.MaxJobRPS {
		errs = append(errs, fmt.Errorf("--host-rps %v: use 0 (no limit) to %d", c.HostLimit.RPS, warm.MaxJobRPS))
	}
	if c.InvalidationPoll <= 0 {
		errs = append(errs, fmt.Errorf("--invalidation-poll %v: must be positive", c.InvalidationPoll))
	}
	errs = append(errs, c.Scaler.validate())
	return errors.Join(errs...)
}

// locationFlag is the flag that sets AgentLocation: agent's --location,
// or serve's --agent-location.
func (c Config) locationFlag() string {
	if c.Control {
		return "--agent-location"
	}
	return "--location"
}

// Describe names the database for logs: "sqlite:DIR" or "postgres".
func (c Config) Describe() string {
	if eng, _ := parseDatabase(c.Database, c.Control); eng == enginePostgres {
		return "postgres"
	}
	return "sqlite:" + cmp.Or(c.DataDir, DefaultConfig().DataDir)
}
