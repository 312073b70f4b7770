package cli

import (
	"time"

	"github.com/spf13/pflag"

	"prewarm/internal/node"
)

// fetchFlags are the flags of every process that fetches (serve, agent, run).
type fetchFlags struct {
	dnsServer      string
	edgesFile      string
	allowPrivate   bool
	caFile         string
	concurrency    int
	connectTimeout time.Duration
	headerTimeout  time.Duration
	idleTimeout    time.Duration
	taskTimeout    time.Duration
}

func (f *fetchFlags) register(fs *pflag.FlagSet) {
	d := node.DefaultConfig()
	fs.StringVar(&f.dnsServer, "dns-server", "", "DNS server (host:port) used to find POP addresses (default: /etc/resolv.conf)")
	fs.StringVar(&f.edgesFile, "edges", "", "edges file (YAML or JSON) naming your own edges and their addresses")
	fs.BoolVar(&f.allowPrivate, "allow-private-edges", false, "allow edge addresses in private and loopback ranges")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of extra CA certificates to trust when fetching over HTTPS")
	fs.IntVar(&f.concurrency, "concurrency", d.Concurrency, "most fetches in flight per agent; each POP gets what keeps it busy, up to this")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", d.ConnectTimeout, "TCP connect and TLS handshake timeout, per attempt")
	fs.DurationVar(&f.headerTimeout, "header-timeout", d.HeaderTimeout, "how long an attempt waits for the edge's response headers (an edge that never answers fails then)")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", d.IdleTimeout, "how long a body may go without a byte before the attempt fails")
	fs.DurationVar(&f.taskTimeout, "task-timeout", d.TaskTimeout, "longest time one task (URL × POP, all attempts) may take")
}

// apply sets the node's fetch settings.
func (f *fetchFlags) apply(c *node.Config) {
	c.DNSServer, c.EdgesFile, c.AllowPrivateEdges, c.CAFile = f.dnsServer, f.edgesFile, f.allowPrivate, f.caFile
	c.Concurrency, c.ConnectTimeout, c.TaskTimeout = f.concurrency, f.connectTimeout, f.taskTimeout
	c.HeaderTimeout, c.IdleTimeout = f.headerTimeout, f.idleTimeout
	c.UserAgent = "prewarm/" + version()
}

// fleetFlags are the flags of every process that runs agents on a shared
// database.
type fleetFlags struct {
	database     string
	agentTimeout time.Duration
}

func (f *fleetFlags) register(fs *pflag.FlagSet, databaseHelp string) {
	fs.StringVar(&f.database, "database", "", databaseHelp)
	fs.DurationVar(&f.agentTimeout, "agent-timeout", node.DefaultConfig().AgentTimeout,
		"an agent silent this long is dead: its work returns to the queue and a standby takes its place")
}

func (f *fleetFlags) apply(c *node.Config) {
	c.Database, c.AgentTimeout = f.database, f.agentTimeout
}
