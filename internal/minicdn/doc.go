// Package minicdn runs a small CDN made of real caches (nginx proxy_cache
// and varnishd) on the loopback interface, for prewarm's end-to-end tests
// and its benchmark command.
//
// Nothing here is mocked on the HTTP path: a request sent through a POP is
// parsed, cached and forwarded by the same software a self-run cache fleet
// uses, so MISS/HIT, Vary, Cache-Control, Range and PURGE behave for real.
//
// # Layout
//
// One Start builds this, all private to the CDN:
//
//	                 DNS 127.0.0.1:D (udp+tcp, miekg/dns)
//	                   dtest.<pop>.cloudfront.net → 127.A.B.N
//	                   cdn.example.test → edge.example.test → dtest.cloudfront.net
//
//	viewer ──► 127.A.B.2:HTTPPort / :HTTPSPort   POP #0  (nginx server block)
//	       ──► 127.A.B.3:HTTPPort / :HTTPSPort   POP #1  (nginx server block)
//	       ──► 127.A.B.4:HTTPPort                POP #2  (varnishd, http only)
//	                          │
//	                          ▼
//	              origin 127.0.0.1:O (Go HTTP server, counts requests)
//
// The pieces:
//
//   - Addresses. Each CDN picks a random 127.A.B.0/24 (A, B in 1..250) and
//     gives POP i (in Options.POPs order) the address 127.A.B.(i+2). Linux
//     routes all of 127/8 to lo, so no setup is needed, and two CDNs started
//     by parallel test packages almost never share a /24; if they do, or a
//     port is taken, Start picks again and retries.
//   - Ports. All POPs share HTTPPort and HTTPSPort (random in 20000-60000):
//     a POP is told apart by its IP, like real edges that all listen on 443.
//     A POP URL is therefore "https://www.example.test:<HTTPSPort>/path" sent
//     to the POP's IP, with Host and TLS SNI www.example.test.
//   - nginx. One nginx master (foreground, own process group) serves every
//     nginx POP: one server block per POP listening on its IP, each with its
//     own proxy_cache zone, so caches are independent. Cache key is
//     $scheme$host$request_uri; origin Cache-Control and Set-Cookie are
//     honoured (no-store, private and cookies are not cached). Plain POPs add
//     X-Cache-Status ($upstream_cache_status); CloudFront POPs instead send
//     X-Cache "Hit|Miss|RefreshHit|Error from cloudfront", x-amz-cf-pop (the
//     code, or ServedBy), X-Amz-Cf-Id and Via.
//   - varnish. One varnishd per varnish POP, http only, with builtin VCL
//     semantics plus X-Cache HIT/MISS and PURGE from 127.0.0.0/8. Varnish
//     normalises Accept-Encoding to "gzip" or nothing before lookup and
//     always asks the origin for gzip, so for /vary-encoding/ it caches one
//     gzip object and gunzips it for other viewers, where nginx POPs cache
//     one variant per distinct Accept-Encoding header. Its storage is malloc 256 MiB: objects near that size do not
//     stay cached; use nginx POPs for huge objects.
//   - TLS. Start makes a throw-away CA and one ECDSA certificate for
//     www.example.test, static.example.test, *.example.test and
//     *.cloudfront.net; CAFile is the CA in PEM, for --ca-file.
//   - Names. <Dist>.<code>.cloudfront.net (code lower-cased, Dist default
//     "dtest") has an A record with the POP's IP; a Dead POP's name points
//     to its address where nothing listens (connection refused); an
//     Unresolvable POP's name is NXDOMAIN (its cache still runs and is
//     reachable by IP). <Dist>.cloudfront.net points at the first working
//     POP, and CustomDomain (cdn.example.test) reaches it through a CNAME
//     chain. AAAA questions for known names get NODATA; unknown names get
//     NXDOMAIN; TTL is 5 s. DNS().Set/SetCNAME/Remove change records live.
//     DNS().SetByCountry makes a name answer by the country of the query's
//     EDNS Client Subnet, as a DNS-steered CDN does (two countries → two
//     edges), with the country data ECS discovery uses.
//     The site hosts (www.example.test, static.example.test) are CNAMEs
//     of the same chain, as a real site's aliases are; tests still point
//     viewers at a POP's IP explicitly.
//   - Origin. Any path answers 200 with a deterministic body of ?size=
//     bytes (default 1024, k/m/g suffixes, streamed, so GiBs are cheap),
//     ETag, Range and HEAD support, and Cache-Control public, max-age=3600.
//     Leading path segments change that and may be stacked: /status/<code>,
//     /nostore/, /private/, /cookie/, /vary-encoding/ (really gzipped for
//     gzip viewers, labelled-only for br), /vary-lang/, /slow/ (?delay=). Origin.Handle adds routes. Requests are counted on
//     arrival by path+query, their arrival times kept (Arrivals), and the
//     most answered at once recorded (PeakInFlight). Throttle makes it
//     answer 429 with a Retry-After for a while. POPs answer their own
//     readiness path /__minicdn/health, so the counters start at zero.
//   - Tiers. An nginx POP with a Parent fills from that POP (in the
//     viewer's scheme, so both cache under one key) instead of the origin,
//     hiding the parent's cache headers; NoCacheLock turns request
//     collapsing off, so concurrent misses all go upstream. With
//     Options.AccessLogs, nginx POPs log what they receive (Received).
//   - Distance. A POP with an RTT (and optionally a Bandwidth) is remote:
//     its address is an in-process proxy that delays every byte by half
//     the round trip each way (a new connection by a whole one), with at
//     most 2 MiB in flight per direction and connection, like a TCP
//     window; its cache listens behind it in the next /24.
//
// # Use
//
// In tests, StartT starts a CDN, skips the test when nginx/varnishd are not
// installed (fails instead under CI=true) and closes it at cleanup:
//
//	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{
//		{Code: "TST1-P1", CloudFront: true},
//		{Code: "edge-v", Kind: minicdn.Varnish},
//	}})
//	r, err := cdn.ViewerGet(ctx, cdn.POP("TST1-P1"), cdn.URLTLS("/app.js"), nil)
//
// Outside tests (the benchmark), call Start and Close.
//
// # Lifetime
//
// Everything lives under one temp dir (CDN.Dir) and is removed by Close,
// which stops nginx and varnishd with SIGTERM, then SIGKILLs whatever is
// left in their process groups. If the owning process dies without Close,
// the caches receive SIGTERM from the kernel (Pdeathsig) and the next Start
// in the same PID namespace deletes the orphaned temp dir. nginx runs as
// "user root" when started by root, and varnishd with "-j none", so both
// can use the private 0700 temp dir.
package minicdn
