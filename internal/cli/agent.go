package cli

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"prewarm/internal/metrics"
	"prewarm/internal/warm"
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

type agentFlags struct {
	logFlags
	fetchFlags
	fleetFlags
	database string
	name     string
	metrics  string
}

func newAgent() *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run one more agent on this machine, for a fleet sharing a PostgreSQL database",
		Long: `Run an agent: a pool of --concurrency fetchers that takes batches from the
queue in the shared PostgreSQL database. It registers and heartbeats; the
desired capacity (POST /instances) decides which agents work and which stand
by. Run as many as you need, on as many machines; each needs to reach the
database and the edges it warms.`,
		Example: `  prewarm agent --database postgres://prewarm:secret@db.internal/prewarm --concurrency 256
  PREWARM_DATABASE=postgres://… prewarm agent --name edge-warmer-3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgent(cmd, &f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.database, "database", "", "postgres://… of the database the serve nodes use (required)")
	fs.StringVar(&f.name, "name", "", "name shown in GET /instances (default: the host name)")
	f.logFlags.register(fs, "info")
	fs.StringVar(&f.metrics, "metrics-listen", "", "address serving this agent's Prometheus metrics at /metrics (e.g. :9464)")
	f.fetchFlags.register(fs)
	f.fleetFlags.register(fs)
	return cmd
}

func runAgent(cmd *cobra.Command, f *agentFlags) error {
	log, err := f.logFlags.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if !strings.HasPrefix(f.database, "postgres://") && !strings.HasPrefix(f.database, "postgresql://") {
		return errors.New("--database postgres://… is required: agents share the serve nodes' PostgreSQL database (the embedded database runs its agents inside serve: see serve --agents)")
	}
	fe, err := f.fetchFlags.build(1)
	if err != nil {
		return err
	}
	fc, err := f.fleetFlags.config()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	q, err := openQueue(ctx, f.database, "", queueConfig(log, f.taskTimeout))
	if err != nil {
		return err
	}
	mets := metrics.New(nil, 0, log)
	a := startAgents(ctx, q, fe, warm.NewCancels(), mets, fc, 1, f.concurrency, f.name, log)[0]
	if f.metrics != "" {
		go serveMetrics(f.metrics, mets.Handler(), log)
	}
	log.Info("prewarm agent running", "version", version(), "agent", a.Info.ID, "name", a.Info.Name, "concurrency", f.concurrency)
	err = a.Run(ctx)
	log.Info("agent stopped")
	if cerr := q.Close(context.Background()); err == nil {
		err = cerr
	}
	return err
}
