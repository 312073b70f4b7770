// Package invalidate removes stale objects from edge caches before a job
// re-warms them (need_invalidate, SPEC §5), so warming never fills an edge
// from a cache that still serves the previous release.
//
// Two mechanisms:
//
//   - CloudFront: the distribution is found by id or by domain (its
//     DomainName or an alternate domain name), then one invalidation
//     carrying every path — query strings included — is created through
//     aws-sdk-go-v2 and the standard credential chain, and waited for until
//     CloudFront reports it Completed.
//   - Purger: for a self-run cache fleet named in an edges file, an HTTP
//     PURGE (or another method) is sent for every URL to every address of
//     every edge, exactly like a viewer request to that edge: the address is
//     dialled, the URL's host is the Host header and the TLS SNI.
//
// Either one returns an error an operator can act on (which distribution,
// which edge, which AWS error code) because the caller fails the job with
// it.
package invalidate
