package minicdn

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// varnishVCL renders the VCL of a varnish POP. Only the additions are
// written; everything else falls through to varnish's builtin VCL, which is
// what decides cacheability (Set-Cookie, no-store, private → hit-for-miss)
// and normalises Accept-Encoding to "gzip" or nothing.
func (c *CDN) varnishVCL() string {
	host, port, _ := net.SplitHostPort(c.Origin.Addr)
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("vcl 4.1;")
	p("")
	p("backend origin {")
	p(`    .host = "%s";`, host)
	p(`    .port = "%s";`, port)
	p("}")
	p("")
	p("acl purgers {")
	p(`    "127.0.0.0"/8;`)
	p("}")
	p("")
	if c.refresh != "" { // varnish refuses an acl it does not use
		p("acl warmers {")
		p(`    "%s";`, warmerIP)
		p("}")
		p("")
	}
	p("sub vcl_recv {")
	p(`    if (req.url == "%s") {`, healthPath)
	p("        return (synth(204));")
	p("    }")
	p(`    if (req.method == "PURGE") {`)
	p("        if (client.ip !~ purgers) {")
	p(`            return (synth(405, "PURGE not allowed"));`)
	p("        }")
	// return(purge) answers "200 Purged" from the builtin vcl_purge.
	p("        return (purge);")
	p("    }")
	if c.refresh != "" {
		// From a warmer: fetch from the backend and store, replacing the
		// cached copy. From anyone else the header is dropped.
		p("    if (req.http.%s && client.ip ~ warmers) {", c.refresh)
		p("        set req.hash_always_miss = true;")
		p("    }")
		p("    unset req.http.%s;", c.refresh)
	}
	p("}")
	p("")
	p("sub vcl_deliver {")
	p("    if (obj.hits > 0) {")
	p(`        set resp.http.X-Cache = "HIT";`)
	p("    } else {")
	p(`        set resp.http.X-Cache = "MISS";`)
	p("    }")
	p("    set resp.http.X-Cache-Hits = obj.hits;")
	p("}")
	return b.String()
}

// startVarnish starts one varnishd in the foreground (-F) for pop.
//
// Flags that matter:
//   - -j none: as root varnishd otherwise wants to drop to the "varnish" /
//     "vcache" users, which cannot enter our 0700 temp dir; "none" keeps it
//     running as whoever we are, root or not.
//   - -n DIR: a private working directory, so parallel instances do not
//     share the default /var/lib/varnish/<hostname>.
//   - -T none: no management CLI port to collide with or leave open.
//   - vsl_space 1M and a small thread pool: the defaults (80 MiB of shared
//     log, 2×100 threads) are sized for production and slow down test start
//     when several instances run at once.
func (c *CDN) startVarnish(pop *POP) (*process, error) {
	bin, err := findBinary("varnishd")
	if err != nil {
		return nil, err
	}
	name := "varnish-" + pop.index
	work := filepath.Join(c.Dir, name)
	// A retry must start from a clean working directory.
	_ = os.RemoveAll(work)
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, fmt.Errorf("varnish workdir: %w", err)
	}
	vcl := filepath.Join(c.Dir, name+".vcl")
	if err := os.WriteFile(vcl, []byte(c.varnishVCL()), 0o644); err != nil {
		return nil, fmt.Errorf("write VCL: %w", err)
	}
	out := filepath.Join(c.Dir, name+".out")
	_ = os.Remove(out)
	return c.spawner.start(name, out, bin,
		"-F",
		"-a", net.JoinHostPort(pop.cacheIP, strconv.Itoa(c.HTTPPort)),
		"-n", work,
		"-f", vcl,
		"-s", "malloc,256m",
		"-j", "none",
		"-T", "none",
		"-p", "vsl_space=1M",
		"-p", "thread_pools=1",
		"-p", "thread_pool_min=10",
	)
}
