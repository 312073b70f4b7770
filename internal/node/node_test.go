package node

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"prewarm/internal/warm"
)

func TestValidate(t *testing.T) {
	ok := DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"database":          {func(c *Config) { c.Database = "mysql://x" }, "--database"},
		"lone agent":        {func(c *Config) { c.Control = false }, "--database postgres://… is required"},
		"agent sqlite file": {func(c *Config) { c.Control, c.Database = false, "sqlite:/tmp/x.db" }, `--database "sqlite:/tmp/x.db": an agent needs the PostgreSQL database`},
		"agents":            {func(c *Config) { c.Agents = 65 }, "--agents 65"},
		"concurrency":       {func(c *Config) { c.Concurrency = 0 }, "--concurrency 0"},
		"max urls":          {func(c *Config) { c.MaxURLs = 0 }, "--max-urls 0"},
		"timeouts":          {func(c *Config) { c.TaskTimeout = -time.Second }, "--task-timeout"},
		"agent timeout":     {func(c *Config) { c.AgentTimeout = time.Second }, "--agent-timeout 1s"},
		"host limit":        {func(c *Config) { c.HostLimit.Concurrency = -1 }, "--host-concurrency -1"},
		"host rps":          {func(c *Config) { c.HostLimit.RPS = -1 }, "--host-rps -1"},
		"poll":              {func(c *Config) { c.InvalidationPoll = 0 }, "--invalidation-poll"},
		"discover":          {func(c *Config) { c.DefaultDiscover = "anycast" }, `--default-discover "anycast" is not one of ecs, none`},
		"dns port":          {func(c *Config) { c.DNSServer = "127.0.0.1:99999" }, `--dns-server "127.0.0.1:99999": the port`},
		"dns port name":     {func(c *Config) { c.DNSServer = "nonsense:abc" }, `--dns-server "nonsense:abc": the port "abc"`},
		"scaler":            {func(c *Config) { c.Scaler.Spec = "k8s:only-a-namespace" }, "--scaler"},
		"min capacity":      {func(c *Config) { c.Scaler = Scaler{Spec: "aws-asg:g", MinCapacity: -1} }, "--min-capacity"},
		"scale down":        {func(c *Config) { c.Scaler = Scaler{Spec: "aws-asg:g", ScaleDownAfter: -1} }, "--scale-down-after"},
	} {
		c := DefaultConfig()
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", name, err, tc.want)
		}
	}
	for _, spelling := range []string{"ECS", " ecs", "none", "None", ""} {
		c := DefaultConfig()
		c.DefaultDiscover = spelling
		if err := c.Validate(); err != nil {
			t.Errorf("--default-discover %q: %v", spelling, err)
		}
	}
	if _, err := Open(t.Context(), Config{Database: "mysql://x"}); err == nil {
		t.Error("Open accepted a config Validate refuses")
	}
}

// A node on the embedded database, opened in this process, warms a job
// through an edge of its edges file and closes cleanly; opened again on
// the same directory it finds the job.
func TestOpenWarmsAndReopens(t *testing.T) {
	var hits atomic.Int32
	cfg, port := edgeConfig(t, &hits)
	n, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Agents) != 1 || !strings.HasPrefix(n.Describe(), "sqlite:") {
		t.Fatalf("agents %d, database %s", len(n.Agents), n.Describe())
	}
	url := "http://site.test:" + port + "/a"
	job, err := n.Service.Submit(t.Context(), warm.JobSpec{URLs: []string{url}, CFDomain: "site.test", POPs: []string{"local"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := waitEnded(ctx, t, n, job.ID)
	if p.Status != warm.StatusFinished || p.OK != 1 || p.Verified != 1 || hits.Load() == 0 {
		t.Fatalf("progress %+v, edge hits %d", p.Counts, hits.Load())
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n, err = Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if again, err := n.Service.Job(t.Context(), job.ID); err != nil || again.Status != warm.StatusFinished {
		t.Fatalf("reopened: %+v %v", again, err)
	}
}

func waitEnded(ctx context.Context, t *testing.T, n *Node, id string) *warm.Progress {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		p, err := n.Service.Progress(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status.Terminal() {
			return p
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %s not ended: %+v", id, p)
		case <-tick.C:
		}
	}
}

// edgeConfig is the configuration of a node on the embedded database in a
// temporary directory whose edges file names one local edge, an HTTP
// server that answers every request as a cache HIT (counted in hits, when
// given); it returns the edge's port for the jobs' URLs.
func edgeConfig(t *testing.T, hits *atomic.Int32) (Config, string) {
	t.Helper()
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		w.Header().Set("X-Cache-Status", "HIT")
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(edge.Close)
	host, port, _ := net.SplitHostPort(edge.Listener.Addr().String())
	dir := t.TempDir()
	edges := filepath.Join(dir, "edges.yaml")
	if err := os.WriteFile(edges, []byte("edges:\n  - {code: local, addresses: ["+host+"]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.DataDir, cfg.EdgesFile, cfg.AllowPrivateEdges, cfg.DNSServer = filepath.Join(dir, "data"), edges, true, "127.0.0.1:53"
	return cfg, port
}
