// Package edge is prewarm's catalog of edge locations: the places a warming
// job can send requests to so that their caches hold an object before real
// traffic asks for it.
//
// Two kinds of site live in a [Catalog]:
//
//   - CloudFront POPs. The built-in catalog ([Builtin]) is compiled from the
//     reference data embedded from data/ (see data/README.md): the airport
//     codes CloudFront uses as POP prefixes, the POP ids known to have existed,
//     and the two hard-coded target maps of the original AWS solution. POP ids
//     go stale, so the catalog is a vocabulary for choosing targets, not proof
//     that a POP is live; resolving a target is the planner's job.
//   - Sites of an operator's edges file ([LoadEdgesFile], [Catalog.WithEdges]),
//     for people who run their own cache fleet and know the addresses of its
//     nodes.
//
// [Catalog.Select] turns the user's target_type and keys (POP ids, region
// keys, country keys) into an ordered, de-duplicated list of [Target]s and
// reports bad keys as a [*KeyError] so that API layers can answer 400.
//
// [Resolver] then turns targets into addresses: a CloudFront POP P of
// distribution dXXXX.cloudfront.net is reached at the A/AAAA records of
// dXXXX.P.cloudfront.net, asked of a configurable DNS server after following
// cf_domain's CNAME chain to its *.cloudfront.net name; an edges-file site
// uses its own addresses. Private and loopback addresses are refused unless
// the operator allows them.
package edge
