package minicdn

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// healthPath is answered by every POP itself (never forwarded), so that
// readiness polling does not show up in the origin's counters.
const healthPath = "/__minicdn/health"

// confWriter writes nginx configuration lines.
type confWriter struct{ b strings.Builder }

func (w *confWriter) p(format string, args ...any) { fmt.Fprintf(&w.b, format+"\n", args...) }

// nginxConf renders the single nginx.conf serving every live nginx POP of c.
func (c *CDN) nginxConf(pops []*POP) string {
	var w confWriter
	d := c.Dir
	if os.Geteuid() == 0 {
		// Workers default to "nobody", which cannot write the root-owned
		// 0700 temp dir holding the caches.
		w.p("user root;")
	}
	w.p("worker_processes 2;")
	w.p("pid %s;", filepath.Join(d, "nginx.pid"))
	w.p("error_log %s warn;", filepath.Join(d, "error.log"))
	w.p("events { worker_connections 4096; }")
	w.p("http {")
	c.nginxHTTP(&w)
	for _, pop := range pops {
		zone := "pop" + pop.index
		w.p("    proxy_cache_path %s levels=1:2 keys_zone=%s:10m max_size=4g inactive=1d use_temp_path=off;",
			filepath.Join(d, "cache", zone), zone)
	}
	for _, pop := range pops {
		c.nginxServer(&w, pop)
	}
	for _, pop := range pops {
		if pop.parent == nil {
			continue
		}
		// One upstream per scheme: a child asks its parent in the scheme
		// the viewer used, so both cache the object under the same key.
		for i, scheme := range []string{"http", "https"} {
			w.p("    upstream minicdn_parent%s_%s {", pop.index, scheme)
			w.p("        server %s:%d;", pop.parent.cacheIP, []int{c.HTTPPort, c.HTTPSPort}[i])
			w.p("        keepalive 1024;")
			w.p("    }")
		}
	}
	w.p("}")
	return w.b.String()
}

// nginxHTTP writes the settings every POP shares: private temp paths,
// connection reuse, the origin upstream and CloudFront's X-Cache values.
func (c *CDN) nginxHTTP(w *confWriter) {
	if c.accessLogs {
		w.p("    log_format minicdn '$msec $request_method $scheme://$host$request_uri $status $upstream_cache_status';")
	}
	w.p("    access_log off;")
	w.p("    default_type application/octet-stream;")
	// Every temp path is private: the compiled-in defaults under
	// /var/lib/nginx would be shared by parallel CDNs and need the package's
	// directories to exist.
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		w.p("    %s_temp_path %s;", t, filepath.Join(c.Dir, "tmp", t))
	}
	w.p("    sendfile on;")
	w.p("    tcp_nopush on;")
	w.p("    keepalive_timeout 65s;")
	// Benchmarks push many requests down one viewer connection.
	w.p("    keepalive_requests 100000;")
	w.p("    ssl_session_cache shared:minicdn_ssl:10m;")
	w.p("    ssl_session_timeout 10m;")
	w.p("    upstream minicdn_origin {")
	w.p("        server %s;", c.Origin.Addr)
	w.p("        keepalive 1024;")
	w.p("    }")
	// CloudFront's X-Cache vocabulary from nginx's cache status. The key
	// includes $status because CloudFront labels error responses "Error"
	// whether or not they came from cache. Regexes are tried in order.
	w.p(`    map "$upstream_cache_status:$status" $minicdn_cf_x_cache {`)
	w.p(`        ~^[^:]*:[45]              "Error from cloudfront";`)
	w.p(`        ~^(HIT|STALE|UPDATING):   "Hit from cloudfront";`)
	w.p(`        ~^REVALIDATED:            "RefreshHit from cloudfront";`)
	w.p(`        default                   "Miss from cloudfront";`)
	w.p("    }")
	if c.refresh != "" {
		c.nginxRefresh(w)
	}
}

// warmerIP is where the rig's warmers connect from: processes on this
// machine dial the POPs' 127.x addresses from 127.0.0.1.
const warmerIP = "127.0.0.1"

// nginxRefresh sets $minicdn_refresh to 1 for a request that carries the
// refresh header and comes from a warmer, as docs/keep-warm.md tells
// operators to: geo matches addresses (a map of $remote_addr would compare
// strings, and never match a network), and the map joins both.
func (c *CDN) nginxRefresh(w *confWriter) {
	w.p("    geo $minicdn_warmer { default 0; %s/32 1; }", warmerIP)
	w.p(`    map "$minicdn_warmer:$http_%s" $minicdn_refresh { "~^1:." 1; default ""; }`,
		strings.ReplaceAll(strings.ToLower(c.refresh), "-", "_"))
}

// nginxServer writes one POP's server block.
func (c *CDN) nginxServer(w *confWriter, pop *POP) {
	w.p("    # POP %s", pop.Code)
	w.p("    server {")
	w.p("        listen %s:%d;", pop.cacheIP, c.HTTPPort)
	w.p("        listen %s:%d ssl http2;", pop.cacheIP, c.HTTPSPort)
	w.p("        server_name _;")
	w.p("        ssl_certificate %s;", c.certs.certFile)
	w.p("        ssl_certificate_key %s;", c.certs.keyFile)
	w.p("        location = %s { access_log off; return 204; }", healthPath)
	w.p("        location / {")
	if c.accessLogs {
		w.p("            access_log %s minicdn;", pop.accessLog(c.Dir))
	}
	if pop.parent != nil {
		w.p("            set $minicdn_up minicdn_parent%s_$scheme;", pop.index)
		w.p("            proxy_pass $scheme://$minicdn_up;")
		w.p("            proxy_ssl_server_name on;")
		w.p("            proxy_ssl_name $host;")
		// The parent's own cache headers are not the viewer's business.
		for _, h := range []string{"X-Cache-Status", "X-Cache", "x-amz-cf-pop", "X-Amz-Cf-Id", "Via"} {
			w.p("            proxy_hide_header %s;", h)
		}
	} else {
		w.p("            proxy_pass http://minicdn_origin;")
	}
	w.p("            proxy_http_version 1.1;")
	w.p(`            proxy_set_header Connection "";`)
	w.p("            proxy_set_header Host $host;")
	w.p("            proxy_buffering on;")
	w.p("            proxy_cache pop%s;", pop.index)
	w.p("            proxy_cache_key $scheme$host$request_uri;")
	// Only used when the origin sends no caching headers; origin
	// Cache-Control (no-store, private, max-age) and Set-Cookie win.
	w.p("            proxy_cache_valid 200 206 301 302 10m;")
	if c.refresh != "" {
		// Fetch from upstream and store: what keeps an object warm
		// before it expires.
		w.p("            proxy_cache_bypass $minicdn_refresh;")
	}
	if !pop.Spec.NoCacheLock {
		w.p("            proxy_cache_lock on;")
	}
	if pop.Spec.CloudFront {
		// No X-Cache-Status here: a real CloudFront edge does not send
		// it, and code under test must not pass by reading it.
		w.p("            add_header X-Cache $minicdn_cf_x_cache always;")
		w.p(`            add_header x-amz-cf-pop "%s" always;`, pop.claimedPOP())
		w.p("            add_header X-Amz-Cf-Id $request_id always;")
		w.p(`            add_header Via "1.1 %s.cloudfront.net (CloudFront)" always;`, pop.viaID())
	} else {
		w.p("            add_header X-Cache-Status $upstream_cache_status always;")
	}
	w.p("        }")
	w.p("    }")
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

// accessLog is the file an nginx POP logs its requests to (with
// Options.AccessLogs).
func (p *POP) accessLog(dir string) string {
	return filepath.Join(dir, "access-"+p.index+".log")
}

// Received is how many requests the POP has logged (Options.AccessLogs,
// nginx POPs only), its health checks apart. nginx writes a line as each
// request ends.
func (c *CDN) Received(pop *POP) (int, error) {
	if !c.accessLogs || pop.Kind != Nginx {
		return 0, fmt.Errorf("minicdn: POP %s keeps no access log (Options.AccessLogs, nginx only)", pop.Code)
	}
	data, err := os.ReadFile(pop.accessLog(c.Dir))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strings.Count(string(data), "\n"), nil
}

// Logged is one request an nginx POP logged (Options.AccessLogs).
type Logged struct {
	At     time.Time // when the request ended
	Method string
	URL    string // scheme://host/path?query
	Status int
	// Cache is nginx's $upstream_cache_status: HIT, MISS, EXPIRED, BYPASS
	// (the refresh header sent it to the origin), … ("-" when the cache
	// was not consulted).
	Cache string
}

// Log lists the requests the POP has logged (Options.AccessLogs, nginx
// POPs only), in the order they ended.
func (c *CDN) Log(pop *POP) ([]Logged, error) {
	if !c.accessLogs || pop.Kind != Nginx {
		return nil, fmt.Errorf("minicdn: POP %s keeps no access log (Options.AccessLogs, nginx only)", pop.Code)
	}
	data, err := os.ReadFile(pop.accessLog(c.Dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Logged
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) != 5 {
			return nil, fmt.Errorf("minicdn: POP %s: unexpected log line %q", pop.Code, line)
		}
		msec, err1 := strconv.ParseFloat(f[0], 64)
		status, err2 := strconv.Atoi(f[3])
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("minicdn: POP %s: log line %q: %w", pop.Code, line, err)
		}
		out = append(out, Logged{At: time.UnixMilli(int64(msec * 1000)), Method: f[1], URL: f[2], Status: status, Cache: f[4]})
	}
	return out, nil
}
