package node

import (
	"context"

	"prewarm/internal/edge"
	"prewarm/internal/expand"
	"prewarm/internal/fetch"
	"prewarm/internal/warm"
)

// edges is how a node reaches edges: the POP catalog (with the edges
// file), the resolver of POP addresses and the one fetch client its agents,
// probes, expansion and purges share.
type edges struct {
	catalog  *edge.Catalog
	resolver *edge.Resolver
	client   *fetch.Client
}

func newEdges(cfg Config) (*edges, error) {
	cat, err := edge.LoadCatalog(cfg.EdgesFile)
	if err != nil {
		return nil, err
	}
	res, err := edge.NewResolver(cat, edge.ResolverConfig{DNSServer: cfg.DNSServer, AllowPrivate: cfg.AllowPrivateEdges})
	if err != nil {
		return nil, err
	}
	roots, err := fetch.LoadRoots(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	fc := fetch.DefaultConfig()
	fc.RootCAs = roots
	fc.ConnectTimeout = cfg.ConnectTimeout
	fc.HeaderTimeout, fc.IdleTimeout = cfg.HeaderTimeout, cfg.IdleTimeout
	fc.TaskTimeout = cfg.TaskTimeout
	fc.UserAgent = cfg.UserAgent
	// Every fetcher of every agent (and the probes) can keep a connection
	// to an edge address.
	fc.ConnsPerAddr = cfg.Concurrency * (max(cfg.Agents, 1) + 1)
	fc.Places = cat
	return &edges{catalog: cat, resolver: res, client: fetch.New(fc)}, nil
}

// expander reads a job's documents through a POP for the expand package.
type expander struct{ client *fetch.Client }

func (e expander) Expand(ctx context.Context, job *warm.Job, via warm.POPState, urls []string, limit int) ([]string, error) {
	get := func(ctx context.Context, u string) ([]byte, error) {
		return e.client.Document(ctx, warm.FetchRequest{URL: u, Addresses: via.Addresses, Headers: job.Headers}, expand.MaxDocumentSize)
	}
	return expand.ExpandChanged(ctx, job.Expand, urls, get, limit, job.ChangedSince)
}
