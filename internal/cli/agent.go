package cli

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"prewarm/internal/node"
)

// serveMetrics serves an agent's metrics on their own listener: agents have
// no API.
func serveMetrics(addr string, h http.Handler, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("metrics listener", "err", err)
	}
}

func newAgent() *cobra.Command {
	return command(&cobra.Command{
		Use:   "agent",
		Short: "Run one more agent on this machine, for a fleet sharing a PostgreSQL database",
		Long: `Run an agent: a pool of --concurrency fetchers that takes batches from the
queue in the shared PostgreSQL database. It registers and heartbeats; the
desired capacity (POST /instances) decides which agents work and which stand
by. Run as many as you need, on as many machines; each needs to reach the
database and the edges it warms.

With --location, the agent also takes the tasks of jobs submitted with
"vantage": "agents" for the POPs at that place (the POP itself, its airport,
its country or its region): run one in each country whose viewers an anycast
or DNS-steered CDN must be warmed for.`,
		Example: `  prewarm agent --database postgres://prewarm:secret@db.internal/prewarm --concurrency 256
  PREWARM_DATABASE=postgres://… prewarm agent --name edge-warmer-3
  prewarm agent --database postgres://… --location JP`,
		Args: cobra.NoArgs,
	}, &agentFlags{})
}

type agentFlags struct {
	logFlags
	fetchFlags
	fleetFlags
	name     string
	location string
	metrics  string
}

func (f *agentFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "name shown in GET /instances (default: the host name)")
	fs.StringVar(&f.location, "location", "", `where this agent runs: a POP code (NRT57-C1), an airport (NRT), an ISO country (JP) or a region (asia, or an edges file's); jobs with "vantage": "agents" send it the tasks of POPs there`)
	f.logFlags.register(fs, "info")
	fs.StringVar(&f.metrics, "metrics-listen", "", "address serving this agent's Prometheus metrics at /metrics (e.g. :9464)")
	f.fetchFlags.register(fs)
	f.fleetFlags.register(fs, "postgres://… of the database the serve nodes use (required)")
}

func (f *agentFlags) run(cmd *cobra.Command, _ []string) error {
	log, err := f.logFlags.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	cfg := node.DefaultConfig()
	f.fetchFlags.apply(&cfg)
	f.fleetFlags.apply(&cfg)
	cfg.Control, cfg.AgentName, cfg.AgentLocation, cfg.Log = false, f.name, f.location, log
	ctx, stop := untilStopped(cmd.Context())
	defer stop()
	n, err := node.Open(ctx, cfg)
	if err != nil {
		return err
	}
	if f.metrics != "" {
		go serveMetrics(f.metrics, n.Metrics.Handler(), log)
	}
	a := n.Agents[0].Info()
	log.Info("prewarm agent running", "version", version(), "agent", a.ID, "name", a.Name, "location", a.Location,
		"concurrency", f.concurrency)
	<-ctx.Done()
	err = n.Close()
	log.Info("agent stopped")
	return err
}
