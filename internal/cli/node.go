package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/pflag"

	"prewarm/internal/edge"
	"prewarm/internal/expand"
	"prewarm/internal/fetch"
	"prewarm/internal/fleet"
	"prewarm/internal/invalidate"
	"prewarm/internal/metrics"
	"prewarm/internal/queue"
	"prewarm/internal/store"
	"prewarm/internal/warm"
)

// fetchFlags are the flags of every process that fetches (serve, agent, run).
type fetchFlags struct {
	dnsServer      string
	edgesFile      string
	allowPrivate   bool
	caFile         string
	concurrency    int
	connectTimeout time.Duration
	taskTimeout    time.Duration
}

func (f *fetchFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.dnsServer, "dns-server", "", "DNS server (host:port) used to find POP addresses (default: /etc/resolv.conf)")
	fs.StringVar(&f.edgesFile, "edges", "", "edges file (YAML or JSON) naming your own edges and their addresses")
	fs.BoolVar(&f.allowPrivate, "allow-private-edges", false, "allow edge addresses in private and loopback ranges")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of extra CA certificates to trust when fetching over HTTPS")
	fs.IntVar(&f.concurrency, "concurrency", 64, "fetches in flight per agent")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", 5*time.Second, "TCP connect and TLS handshake timeout, per attempt")
	fs.DurationVar(&f.taskTimeout, "task-timeout", 10*time.Minute, "longest time one task (URL × POP, all attempts) may take")
}

func (f *fetchFlags) validate() error {
	if f.concurrency < 1 || f.concurrency > 10000 {
		return fmt.Errorf("--concurrency %d: use 1..10000", f.concurrency)
	}
	if f.connectTimeout <= 0 || f.taskTimeout <= 0 {
		return errors.New("--connect-timeout and --task-timeout must be positive")
	}
	return nil
}

// fetching is what a fetching process builds from its fetch flags.
type fetching struct {
	catalog  *edge.Catalog
	resolver *edge.Resolver
	client   *fetch.Client
	roots    *x509.CertPool
}

func (f *fetchFlags) build(pools int) (*fetching, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	cat, err := loadCatalog(f.edgesFile)
	if err != nil {
		return nil, err
	}
	res, err := edge.NewResolver(cat, edge.ResolverConfig{DNSServer: f.dnsServer, AllowPrivate: f.allowPrivate})
	if err != nil {
		return nil, err
	}
	roots, err := fetch.LoadRoots(f.caFile)
	if err != nil {
		return nil, err
	}
	cfg := fetch.DefaultConfig()
	cfg.RootCAs = roots
	cfg.ConnectTimeout = f.connectTimeout
	cfg.TaskTimeout = f.taskTimeout
	cfg.UserAgent = "prewarm/" + version()
	cfg.ConnsPerAddr = f.concurrency * max(pools, 1)
	return &fetching{catalog: cat, resolver: res, client: fetch.New(cfg), roots: roots}, nil
}

// Timing of queued steps. A batch starts no fetch after batchBudget, so one
// run of a step lasts at most the budget plus the slowest task.
const (
	batchBudget   = 30 * time.Second
	planBudget    = 30 * time.Second
	planChunk     = 2000
	batchSize     = 250
	probeParallel = 128
)

func queueConfig(log *slog.Logger, taskTimeout time.Duration) queue.Config {
	return queue.Config{
		Logger:       slog.New(quieter{log.Handler(), slog.LevelWarn}),
		PollInterval: 250 * time.Millisecond,
		StepTimeout:  batchBudget + taskTimeout + 30*time.Second,
	}
}

// fleetFlags are the flags of every process that runs agents.
type fleetFlags struct {
	agentTimeout time.Duration
}

func (f *fleetFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.agentTimeout, "agent-timeout", fleet.DefaultConfig.LiveWindow,
		"an agent silent this long is dead: its work returns to the queue and a standby takes its place")
}

func (f *fleetFlags) config() (fleet.Config, error) {
	if f.agentTimeout < 3*fleet.DefaultConfig.Heartbeat {
		return fleet.Config{}, fmt.Errorf("--agent-timeout %v: must be at least %v (three heartbeats)", f.agentTimeout, 3*fleet.DefaultConfig.Heartbeat)
	}
	return fleet.Config{Heartbeat: fleet.DefaultConfig.Heartbeat, LiveWindow: f.agentTimeout}, nil
}

// openQueue opens the database named by --database (empty: the embedded
// SQLite database in dataDir).
func openQueue(ctx context.Context, database, dataDir string, cfg queue.Config) (*queue.Queue, error) {
	switch {
	case database == "" || database == "sqlite":
		return queue.OpenSQLite(ctx, dataDir, cfg)
	case strings.HasPrefix(database, "postgres://"), strings.HasPrefix(database, "postgresql://"):
		return queue.OpenPostgres(ctx, database, cfg)
	}
	return nil, fmt.Errorf("--database %q: use postgres://… or omit it for the embedded database", database)
}

// startAgents starts n agents in this process, sharing one fetch client.
func startAgents(ctx context.Context, q *queue.Queue, fe *fetching, cancels *warm.Cancels, obs warm.Observer, fc fleet.Config, n, concurrency int, name string, log *slog.Logger) []*fleet.Agent {
	host, _ := os.Hostname()
	agents := make([]*fleet.Agent, n)
	for i := range n {
		id := uuid.NewString()
		agentName := name
		if agentName == "" {
			agentName = host
		}
		if n > 1 {
			agentName = fmt.Sprintf("%s-%d", agentName, i+1)
		}
		pool := warm.NewPool(fe.client, concurrency)
		a := &fleet.Agent{
			Info:   warm.Agent{ID: id, Name: agentName, Host: host, Concurrency: concurrency},
			Store:  q.Store(),
			Pool:   pool,
			Config: fc,
			Log:    log,
			Now:    time.Now,
		}
		runner := &warm.Runner{
			Store: q.Store(), Pool: pool, Cancels: cancels, AgentID: id, Log: log, Now: time.Now, Observer: obs,
			FlushEvery: 200, FlushInterval: 200 * time.Millisecond, StatusInterval: time.Second, Budget: batchBudget,
		}
		a.Switch = q.NewSwitch(ctx, id, func(ctx context.Context, jobID string, batch int) error {
			return runner.Run(ctx, jobID, batch, a.Drain())
		})
		agents[i] = a
	}
	return agents
}

func newPlanner(q *queue.Queue, fe *fetching, maxURLs int, log *slog.Logger) *warm.Planner {
	return &warm.Planner{
		Store: q.Store(), Resolver: fe.resolver, Prober: fe.client, Expander: expander{fe.client}, MaxURLs: maxURLs,
		Log: log, Now: time.Now,
		ChunkSize: planChunk, BatchSize: batchSize, ProbeConcurrency: probeParallel, Budget: planBudget,
	}
}

// expander reads a job's documents through a POP for the expand package.
type expander struct{ client *fetch.Client }

func (e expander) Expand(ctx context.Context, job *warm.Job, via warm.POPState, urls []string, limit int) ([]string, error) {
	get := func(ctx context.Context, u string) ([]byte, error) {
		return e.client.Document(ctx, warm.FetchRequest{URL: u, Addresses: via.Addresses, Headers: job.Headers}, expand.MaxDocumentSize)
	}
	return expand.Expand(ctx, job.Expand, urls, get, limit)
}

// node is what serve and run start in one process: the queue and store,
// the service, planning and timeouts, in-process agents and the reaper.
type node struct {
	queue   *queue.Queue
	store   *store.Store
	svc     *warm.Service
	metrics *metrics.Metrics
	agents  []*fleet.Agent
	log     *slog.Logger
	wg      sync.WaitGroup
}

type nodeOptions struct {
	database, dataDir string
	maxURLs           int
	agents            int
	concurrency       int
	taskTimeout       time.Duration
	fetching          *fetching
	fleet             fleet.Config
	cfEndpoint        string
	cfPoll            time.Duration
	log               *slog.Logger
}

// startNode opens the database and starts everything but the HTTP API.
// Its parts stop when ctx ends; close then waits for them.
func startNode(ctx context.Context, o nodeOptions) (*node, error) {
	q, err := openQueue(ctx, o.database, o.dataDir, queueConfig(o.log, o.taskTimeout))
	if err != nil {
		return nil, err
	}
	n := &node{queue: q, store: q.Store(), log: o.log}
	fe := o.fetching
	cancels := warm.NewCancels()
	limits := warm.DefaultLimits
	limits.MaxURLs = o.maxURLs
	n.svc = &warm.Service{Store: n.store, Selector: fe.catalog, Limits: limits, Cancels: cancels, Board: &warm.Board{Store: n.store},
		NewID: uuid.NewString, Now: time.Now}
	planner := newPlanner(q, fe, o.maxURLs, o.log)
	planner.Invalidator = &invalidate.Clearer{
		NewCloudFront: func(ctx context.Context) (*invalidate.CloudFront, error) {
			return invalidate.NewCloudFront(ctx, invalidate.CloudFrontConfig{Endpoint: o.cfEndpoint, PollInterval: o.cfPoll, Log: o.log})
		},
		Purger: &invalidate.Purger{RootCAs: fe.roots, Log: o.log},
	}
	if err := q.StartControl(ctx, queue.Control{Plan: planner.Plan, Timeout: n.svc.Timeout}); err != nil {
		q.Close(context.Background())
		return nil, err
	}
	n.metrics = metrics.New(n.store, o.fleet.LiveWindow, o.log)
	n.agents = startAgents(ctx, q, fe, cancels, n.metrics, o.fleet, o.agents, o.concurrency, "", o.log)
	for _, a := range n.agents {
		n.wg.Go(func() { _ = a.Run(ctx) })
	}
	reaper := &fleet.Reaper{Store: n.store, Requeue: q.RequeueAgent, Window: o.fleet.LiveWindow, Log: o.log, Now: time.Now}
	n.wg.Go(func() { reaper.Run(ctx) })
	return n, nil
}

// close waits for the agents to leave (their context must be done) and
// closes the queue and the database.
func (n *node) close() {
	n.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.queue.Close(ctx); err != nil {
		n.log.Warn("closing the queue", "err", err)
	}
}
