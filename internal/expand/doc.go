// Package expand turns a job's URL list into the full list of what a viewer
// will fetch: HLS playlists into their renditions and segments, DASH
// manifests into their initialization and media segments, sitemaps into
// their pages. Users submit the entry points they know (a master playlist, a
// manifest, a sitemap index) and would otherwise warm only those, leaving
// every segment and page to miss at the edge.
//
// [Expand] reads the documents breadth-first through a [Getter] (the caller
// routes it through an edge, so reading also warms the documents) and
// returns the given URLs followed by everything discovered, de-duplicated, in
// discovery order. Anything that would leave the list incomplete — a document
// that cannot be fetched or parsed, a live DASH manifest, a list past the
// job's limit — is an error rather than a shorter list, because an
// incomplete list is exactly the failure users complain about. A list past
// the limit is a [*LimitError].
//
// Work is bounded whatever the documents say: bodies of at most
// [MaxDocumentSize] (also after gunzip), at most [MaxDocuments] fetches, nested
// documents followed to [MaxDepth], and no manifest may generate more URLs
// than the limit.
package expand
