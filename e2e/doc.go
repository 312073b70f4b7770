// Package e2e drives real prewarm processes — built from cmd/prewarm — over
// their HTTP API against the mini CDN of real nginx and varnish caches, the
// way a user's scripts would.
package e2e
