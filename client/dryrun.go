package client

// DryRunResponse answers a dry run (POST /prewarm with "dry_run": true):
// the job's plan, with nothing recorded and nothing sent through a POP.
type DryRunResponse struct {
	Status    string `json:"status"`
	DryRun    bool   `json:"dry_run"`
	Timestamp string `json:"timestamp"`
	URLCount  int    `json:"url_count"`
	// TotalCount is the tasks (URLs × usable POPs × encodings); TotalSize
	// the bytes they fetch, from each URL's HEAD.
	TotalCount int64       `json:"total_count"`
	TotalSize  int64       `json:"total_size"`
	POPs       []DryRunPOP `json:"pops"`
	// SizeUnknown URLs gave no size; FailedURLs answered an error.
	SizeUnknown int      `json:"size_unknown"`
	FailedURLs  []string `json:"failed_urls"`
	// EstimatedOriginFetches: requests that reach the origin if every POP
	// misses once, after tiering; EstimatedEdgeBytes: what the POPs send.
	EstimatedOriginFetches int64    `json:"estimated_origin_fetches"`
	EstimatedEdgeBytes     int64    `json:"estimated_edge_bytes"`
	Notes                  []string `json:"notes"`
}

// DryRunPOP is one POP of a dry run: where it would be reached, why not,
// and the POP warmed before it (tier first).
type DryRunPOP struct {
	Code      string   `json:"code"`
	Addresses []string `json:"addresses"`
	Error     string   `json:"error,omitempty"`
	Skipped   bool     `json:"skipped,omitempty"`
	After     string   `json:"after,omitempty"`
}
