package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"prewarm/internal/api"
	"prewarm/internal/node"
	"prewarm/internal/tlsfile"
	"prewarm/internal/warm"
	"prewarm/internal/web"
)

func newServe() *cobra.Command {
	return command(&cobra.Command{
		Use:   "serve",
		Short: "Run the API, the dashboard and in-process agents",
		Long: `Serve the prewarm API (the Pre-warming API: POST/GET /prewarm, POST/GET
/instances, GET /summary) with agents running in the same process. State lives
in an embedded SQLite database in --data-dir unless --database names a
PostgreSQL server shared with other serve and agent processes.

Every flag can also be set by an environment variable: --api-key is
PREWARM_API_KEY (comma-separated for several), --max-urls is PREWARM_MAX_URLS.

--api-keys-file names keys by their SHA-256, each with a scope (read, submit,
admin) and optional limits (rps, daily) under a top-level "keys:" line;
'prewarm key new' makes an entry ('prewarm key new --help' shows a whole
file). The file is read again on SIGHUP. Keys given with --api-key are
admins. Nothing else is reread: a changed --edges file takes a restart.

--scaler connects the desired capacity (POST /instances, a job's
instance_count) to the machines agents run on: an AWS Auto Scaling group's
desired capacity or a Kubernetes Deployment's replicas. After
--scale-down-after with no job, the machines go back to --min-capacity.`,
		Example: `  prewarm serve --api-key "$(openssl rand -hex 24)"
  PREWARM_API_KEY=change-me-to-a-long-secret prewarm serve --listen 127.0.0.1:8080 --data-dir /var/lib/prewarm
  prewarm serve --api-key change-me-to-a-long-secret --agents 2 --concurrency 128
  prewarm serve --database postgres://… --agents 0 --scaler k8s:prewarm/prewarm-agent`,
		Args: cobra.NoArgs,
	}, &serveFlags{})
}

type serveFlags struct {
	logFlags
	fetchFlags
	fleetFlags
	listen     string
	dataDir    string
	apiKeys    []string
	keysFile   string
	tlsCert    string
	tlsKey     string
	retention  time.Duration
	schedGap   time.Duration
	webhook    string
	notifyURL  string
	privHooks  bool
	noAuth     bool
	agents     int
	agentLoc   string
	locGrace   time.Duration
	maxURLs    int
	publicURL  string
	linkTTL    time.Duration
	debug      string
	cfEndpoint string
	cfPoll     time.Duration
	hostConc   int
	hostRPS    float64
	discover   string
	scaler     node.Scaler
}

func (f *serveFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.listen, "listen", ":8080", "address the API listens on")
	fs.StringVar(&f.dataDir, "data-dir", "prewarm-data", "directory of the embedded database")
	fs.StringSliceVar(&f.apiKeys, "api-key", nil, "API key clients send as x-api-key (repeat for several)")
	fs.StringVar(&f.keysFile, "api-keys-file", "", "YAML file of named keys (SHA-256, scope, limits), read again on SIGHUP")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain) file, read again when it changes; needs --tls-key")
	fs.StringVar(&f.tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	fs.DurationVar(&f.schedGap, "schedule-min-gap", warm.DefaultScheduleGap, "the shortest time allowed between two runs of a schedule")
	fs.DurationVar(&f.retention, "retention", node.DefaultConfig().Retention, "how long an ended job keeps its per-task rows; its summary and counts stay (0: for ever)")
	fs.StringVar(&f.webhook, "webhook-secret", "", "secret signing job notifications (HMAC-SHA256); jobs may give notify_url only with it")
	fs.StringVar(&f.notifyURL, "notify-url", "", "URL told of the end of every job that names none (needs --webhook-secret)")
	fs.BoolVar(&f.privHooks, "allow-private-webhooks", false, "allow notify_url to reach private and loopback addresses")
	fs.BoolVar(&f.noAuth, "no-auth", false, "serve the API without any API key (only behind your own gateway)")
	fs.IntVar(&f.agents, "agents", 1, "agents to run in this process (0: API only)")
	fs.StringVar(&f.agentLoc, "agent-location", "", `where this process's agents run, as agent --location: a POP code, an airport, an ISO country or a region; they also take the tasks of "vantage": "agents" jobs for POPs there`)
	fs.DurationVar(&f.locGrace, "location-grace", node.DefaultConfig().LocationGrace, `how long a POP of a "vantage": "agents" job waits for an agent located there to come back once none is live; then its tasks left fail with "no agent located in …"`)
	fs.IntVar(&f.maxURLs, "max-urls", node.DefaultConfig().MaxURLs, "most URLs one job may list")
	fs.StringVar(&f.publicURL, "public-url", "", "base URL of this server for links in answers (default: the --listen address when it names one host, else relative links)")
	fs.DurationVar(&f.linkTTL, "report-link-ttl", api.DefaultReportLinkTTL, "how long a signed report link works")
	f.logFlags.register(fs, "info")
	fs.StringVar(&f.debug, "debug-listen", "", "address serving Go's /debug/pprof profiles (keep it on loopback)")
	fs.StringVar(&f.cfEndpoint, "cloudfront-endpoint", "", "CloudFront API endpoint for need_invalidate (default: AWS's; for other partitions and tests)")
	fs.DurationVar(&f.cfPoll, "invalidation-poll", 5*time.Second, "how often to ask CloudFront whether an invalidation has completed")
	fs.IntVar(&f.hostConc, "host-concurrency", node.DefaultHostConcurrency,
		"most fetches in flight to one URL host, across every job and agent (0: no limit)")
	fs.Float64Var(&f.hostRPS, "host-rps", 0, "most fetches started per second to one URL host, across every job and agent (0: no limit)")
	fs.StringVar(&f.discover, "default-discover", "", `how country and region jobs that give no "discover" find their edges: ecs (ask DNS for cf_domain with a client subnet in each country), or none (the default: the catalog's POPs); any case, as a job's "discover"`)
	fs.StringVar(&f.scaler.Spec, "scaler", "", "size the agents' machines with the desired capacity: aws-asg:NAME (an Auto Scaling group) or k8s:NAMESPACE/DEPLOYMENT")
	fs.StringVar(&f.scaler.AWSEndpoint, "aws-endpoint", "", "Auto Scaling API endpoint for --scaler aws-asg (default: AWS's for AWS_REGION; for other partitions and tests)")
	fs.StringVar(&f.scaler.Kubeconfig, "kubeconfig", "", "kubeconfig for --scaler k8s (default: the pod's service account, else $KUBECONFIG or ~/.kube/config)")
	fs.DurationVar(&f.scaler.ScaleDownAfter, "scale-down-after", node.DefaultScaleDownAfter, "with --scaler: after this long with no job waiting or running, scale the machines down to --min-capacity (0: never)")
	fs.IntVar(&f.scaler.MinCapacity, "min-capacity", 0, "with --scaler: the machines an idle fleet scales down to (serve's own agents keep working)")
	f.fetchFlags.register(fs)
	f.fleetFlags.register(fs, "postgres://… to share state with other nodes (default: embedded SQLite in --data-dir)")
}

// config is the node serve runs.
func (f *serveFlags) config(log *slog.Logger) node.Config {
	c := node.DefaultConfig()
	f.fetchFlags.apply(&c)
	f.fleetFlags.apply(&c)
	c.DataDir, c.Agents, c.AgentLocation, c.MaxURLs = f.dataDir, f.agents, f.agentLoc, f.maxURLs
	c.CloudFrontEndpoint, c.InvalidationPoll = f.cfEndpoint, f.cfPoll
	c.HostLimit = warm.Limit{Concurrency: f.hostConc, RPS: f.hostRPS}
	c.WebhookSecret, c.NotifyURL, c.AllowPrivateWebhooks = f.webhook, f.notifyURL, f.privHooks
	c.Retention = f.retention
	c.ScheduleMinGap = f.schedGap
	c.LocationGrace = f.locGrace
	c.DefaultDiscover = f.discover
	c.Scaler = f.scaler
	c.Log = log
	return c
}

func (f *serveFlags) checkKeys() error {
	if len(f.apiKeys) == 0 && f.keysFile == "" && !f.noAuth {
		return errors.New("no API key: pass --api-key KEY (or set PREWARM_API_KEY) or --api-keys-file FILE, or --no-auth to serve an open API")
	}
	if f.noAuth && (len(f.apiKeys) > 0 || f.keysFile != "") {
		return errors.New("--no-auth with keys: choose one")
	}
	for _, k := range f.apiKeys {
		if len(k) < 8 {
			return errors.New("--api-key: keys must be at least 8 characters")
		}
	}
	return nil
}

// checkScalerFlags refuses the flags that tune --scaler without it: they
// would be ignored, and whoever set them expects machines to be sized.
func (f *serveFlags) checkScalerFlags(fs *pflag.FlagSet) error {
	if f.scaler.Spec != "" {
		return nil
	}
	for _, name := range []string{"min-capacity", "scale-down-after"} {
		if given(fs, name) {
			return fmt.Errorf("--%s is for --scaler, which is not given: add --scaler aws-asg:NAME or k8s:NAMESPACE/DEPLOYMENT, or leave --%s out", name, name)
		}
	}
	return nil
}

func (f *serveFlags) run(cmd *cobra.Command, _ []string) error {
	log, err := f.logFlags.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if err := f.checkKeys(); err != nil {
		return err
	}
	if err := f.checkScalerFlags(cmd.Flags()); err != nil {
		return err
	}
	if f.linkTTL <= 0 {
		return fmt.Errorf("--report-link-ttl %v: must be positive", f.linkTTL)
	}
	keys, err := f.keys()
	if err != nil {
		return err
	}
	keyring := api.NewKeyring(keys, time.Now)
	var certs *tlsfile.Loader
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if f.tlsCert != "" {
		if certs, err = tlsfile.New(f.tlsCert, f.tlsKey, log); err != nil {
			return err
		}
	}
	cfg := f.config(log)
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, stop := untilStopped(cmd.Context())
	defer stop()
	n, err := node.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer n.Close()
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", f.listen, err)
	}
	srv := f.server(n, keyring, publicURL(f.publicURL, ln.Addr(), certs != nil), log)
	if f.keysFile != "" {
		go f.reloadKeysOnHangup(ctx, keyring, log)
	}
	log.Info("prewarm serving", "version", version(), "listen", ln.Addr().String(), "agents", f.agents,
		"concurrency", f.concurrency, "database", n.Describe(), "auth", !f.noAuth, "tls", certs != nil)
	if f.debug != "" {
		go serveDebug(f.debug, log)
	}
	serveErr := make(chan error, 1)
	go func() {
		if certs != nil {
			srv.TLSConfig = certs.Config()
			serveErr <- srv.ServeTLS(ln, "", "")
			return
		}
		serveErr <- srv.Serve(ln)
	}()
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// keys are the keys of --api-key (admins) and of --api-keys-file.
func (f *serveFlags) keys() ([]api.Key, error) {
	keys := api.AdminKeys(f.apiKeys)
	if f.keysFile != "" {
		named, err := api.LoadKeysFile(f.keysFile)
		if err != nil {
			return nil, fmt.Errorf("--api-keys-file: %w", err)
		}
		keys = append(keys, named...)
	}
	return keys, nil
}

// reloadKeysOnHangup reads the keys again on each SIGHUP; keys that do not
// load leave those in use in place.
func (f *serveFlags) reloadKeysOnHangup(ctx context.Context, keyring *api.Keyring, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		keys, err := f.keys()
		if err != nil {
			log.Error("reloading API keys: keeping those in use", "err", err)
			continue
		}
		keyring.Set(keys)
		log.Info("API keys reloaded", "keys", len(keys))
	}
}

// publicURL is the base of the links the API gives: --public-url, or the
// address serve listens on when that names one host; listening on every
// address, it cannot know which name clients use, and links are relative
// (a request's Host header is not trusted to say).
func publicURL(flag string, addr net.Addr, tls bool) string {
	if flag != "" {
		return flag
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		return ""
	}
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	return scheme + tcp.String()
}

// server is the HTTP server of the API and the dashboard.
func (f *serveFlags) server(n *node.Node, keyring *api.Keyring, public string, log *slog.Logger) *http.Server {
	dashboard := web.Handler(web.Options{Version: version()})
	extra := map[string]http.Handler{}
	for _, p := range web.Routes() {
		extra[p] = dashboard
	}
	return api.New(api.Config{
		Service: n.Service, Schedules: n.Schedules, Keyring: keyring, PublicURL: public, ReportLinkTTL: f.linkTTL,
		ReportSecret:       func(ctx context.Context) ([]byte, error) { return n.Store.Secret(ctx, "reports") },
		RotateReportSecret: func(ctx context.Context) error { return n.Store.RotateSecret(ctx, "reports") },
		Log:                log, Now: time.Now, Metrics: n.Metrics.Handler(), Extra: extra,
	}).HTTPServer()
}

// serveDebug serves Go's profiles on their own listener, never on the API's.
func serveDebug(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("profiles served", "listen", addr)
	if err := srv.ListenAndServe(); err != nil {
		log.Error("debug listener", "err", err)
	}
}
