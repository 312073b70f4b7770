package minicdn

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// healthPath is answered by every POP itself (never forwarded), so that
// readiness polling does not show up in the origin's counters.
const healthPath = "/__minicdn/health"

// nginxConf renders the single nginx.conf serving every live nginx POP of c.
func (c *CDN) nginxConf(pops []*POP) string {
	var b strings.Builder
	d := c.Dir
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	if os.Geteuid() == 0 {
		// Workers default to "nobody", which cannot write the root-owned
		// 0700 temp dir holding the caches.
		p("user root;")
	}
	p("worker_processes 2;")
	p("pid %s;", filepath.Join(d, "nginx.pid"))
	p("error_log %s warn;", filepath.Join(d, "error.log"))
	p("events { worker_connections 4096; }")
	p("http {")
	p("    access_log off;")
	p("    default_type application/octet-stream;")
	// Every temp path is private: the compiled-in defaults under
	// /var/lib/nginx would be shared by parallel CDNs and need the package's
	// directories to exist.
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		p("    %s_temp_path %s;", t, filepath.Join(d, "tmp", t))
	}
	p("    sendfile on;")
	p("    tcp_nopush on;")
	p("    keepalive_timeout 65s;")
	// Benchmarks push many requests down one viewer connection.
	p("    keepalive_requests 100000;")
	p("    ssl_session_cache shared:minicdn_ssl:10m;")
	p("    ssl_session_timeout 10m;")
	p("    upstream minicdn_origin {")
	p("        server %s;", c.Origin.Addr)
	p("        keepalive 64;")
	p("    }")
	// CloudFront's X-Cache vocabulary from nginx's cache status. The key
	// includes $status because CloudFront labels error responses "Error"
	// whether or not they came from cache. Regexes are tried in order.
	p(`    map "$upstream_cache_status:$status" $minicdn_cf_x_cache {`)
	p(`        ~^[^:]*:[45]              "Error from cloudfront";`)
	p(`        ~^(HIT|STALE|UPDATING):   "Hit from cloudfront";`)
	p(`        ~^REVALIDATED:            "RefreshHit from cloudfront";`)
	p(`        default                   "Miss from cloudfront";`)
	p("    }")
	for _, pop := range pops {
		zone := "pop" + pop.index
		p("    proxy_cache_path %s levels=1:2 keys_zone=%s:10m max_size=4g inactive=1d use_temp_path=off;",
			filepath.Join(d, "cache", zone), zone)
	}
	for _, pop := range pops {
		zone := "pop" + pop.index
		p("    # POP %s", pop.Code)
		p("    server {")
		p("        listen %s:%d;", pop.IP, c.HTTPPort)
		p("        listen %s:%d ssl http2;", pop.IP, c.HTTPSPort)
		p("        server_name _;")
		p("        ssl_certificate %s;", c.certs.certFile)
		p("        ssl_certificate_key %s;", c.certs.keyFile)
		p("        location = %s { return 204; }", healthPath)
		p("        location / {")
		p("            proxy_pass http://minicdn_origin;")
		p("            proxy_http_version 1.1;")
		p(`            proxy_set_header Connection "";`)
		p("            proxy_set_header Host $host;")
		p("            proxy_buffering on;")
		p("            proxy_cache %s;", zone)
		p("            proxy_cache_key $scheme$host$request_uri;")
		// Only used when the origin sends no caching headers; origin
		// Cache-Control (no-store, private, max-age) and Set-Cookie win.
		p("            proxy_cache_valid 200 206 301 302 10m;")
		p("            proxy_cache_lock on;")
		if pop.Spec.CloudFront {
			// No X-Cache-Status here: a real CloudFront edge does not send
			// it, and code under test must not pass by reading it.
			p("            add_header X-Cache $minicdn_cf_x_cache always;")
			p(`            add_header x-amz-cf-pop "%s" always;`, pop.claimedPOP())
			p("            add_header X-Amz-Cf-Id $request_id always;")
			p(`            add_header Via "1.1 %s.cloudfront.net (CloudFront)" always;`, pop.viaID())
		} else {
			p("            add_header X-Cache-Status $upstream_cache_status always;")
		}
		p("        }")
		p("    }")
	}
	p("}")
	return b.String()
}

// startNginx writes the config and starts one nginx master in the
// foreground (daemon off) so that it stays our child and can be stopped
// reliably.
func (c *CDN) startNginx(pops []*POP) (*process, error) {
	bin, err := findBinary("nginx")
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"tmp", "cache"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("nginx dirs: %w", err)
		}
	}
	conf := filepath.Join(c.Dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(c.nginxConf(pops)), 0o644); err != nil {
		return nil, fmt.Errorf("write nginx.conf: %w", err)
	}
	// A retried attempt must not read the previous attempt's bind errors.
	_ = os.Remove(filepath.Join(c.Dir, "error.log"))
	_ = os.Remove(filepath.Join(c.Dir, "nginx.out"))
	proc, err := c.spawner.start("nginx", filepath.Join(c.Dir, "nginx.out"), bin,
		"-p", c.Dir+"/", "-c", conf, "-e", filepath.Join(c.Dir, "error.log"), "-g", "daemon off;")
	if err != nil {
		return nil, err
	}
	proc.logPath = filepath.Join(c.Dir, "error.log")
	return proc, nil
}
