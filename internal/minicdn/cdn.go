package minicdn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"prewarm/internal/every"
)

// Kind is the cache software behind a POP.
type Kind string

const (
	// Nginx is an nginx server block with proxy_cache, on http and https.
	Nginx Kind = "nginx"
	// Varnish is a varnishd instance, http only, honouring PURGE.
	Varnish Kind = "varnish"
)

// Site host names the POPs serve and the certificate covers.
const (
	SiteHost   = "www.example.test"
	StaticHost = "static.example.test"
)

// POPSpec describes one POP to start.
type POPSpec struct {
	// Code names the POP, e.g. "TST1-P1" (CloudFront style) or "edge-a".
	// Letters, digits and '-'; unique case-insensitively.
	Code string
	// Kind defaults to Nginx.
	Kind Kind
	// CloudFront (nginx only) makes the POP answer like a CloudFront edge:
	// X-Cache "Hit/Miss/RefreshHit/Error from cloudfront", x-amz-cf-pop,
	// X-Amz-Cf-Id and Via, and no X-Cache-Status.
	CloudFront bool
	// ServedBy (requires CloudFront) is the POP code claimed in x-amz-cf-pop,
	// simulating DNS steering a viewer to another POP than the one targeted.
	ServedBy string
	// Dead POPs resolve to an address where nothing listens.
	Dead bool
	// Unresolvable POPs get NXDOMAIN from the DNS server. Unless also Dead,
	// the cache itself still runs and can be reached by IP.
	Unresolvable bool
	// Parent (nginx only) is the code of another nginx POP this one fills
	// from, over http, instead of the origin: a two-tier fleet (an edge
	// below a regional cache or shield).
	Parent string
	// NoCacheLock (nginx only) turns request collapsing off: concurrent
	// misses of one object all go upstream, as on caches that do not
	// collapse.
	NoCacheLock bool
	// RTT puts the POP that far away: its address is a proxy that delays
	// every byte by half of it each way (and a new connection by all of
	// it). Bandwidth, when set, paces each direction of each connection to
	// that many bytes a second.
	RTT       time.Duration
	Bandwidth int64
}

// remote reports whether the POP sits behind a latency proxy.
func (s POPSpec) remote() bool { return s.RTT > 0 || s.Bandwidth > 0 }

// Options configures Start.
type Options struct {
	POPs []POPSpec
	// Dist is the CloudFront distribution label, default "dtest": POP P is
	// then reached at dtest.<p>.cloudfront.net.
	Dist string
	// AccessLogs makes every nginx POP log the requests it receives, for
	// CDN.Received (off by default: the benchmark measures without them).
	AccessLogs bool
	// RefreshHeader names a request header (e.g. "X-Prewarm-Refresh")
	// that makes every POP fetch from its upstream and store the answer,
	// as an operator sets up for prewarm's keep-warm re-warms: nginx
	// proxy_cache_bypass, Varnish hash_always_miss.
	RefreshHeader string
}

// CDN is a running mini CDN. Fields are read-only after Start.
type CDN struct {
	Origin *Origin
	POPs   []*POP
	// DNSAddr is "127.0.0.1:PORT", serving UDP and TCP.
	DNSAddr string
	// CAFile is the PEM of the CA that signed the POP certificate.
	CAFile string
	// CAPEM is the content of CAFile.
	CAPEM []byte
	// HTTPPort and HTTPSPort are shared by all POPs, each on its own IP.
	// Varnish POPs listen on HTTPPort only.
	HTTPPort  int
	HTTPSPort int
	// Dist is the distribution label, CFDomain "<Dist>.cloudfront.net".
	Dist     string
	CFDomain string
	// CustomDomain is "cdn.example.test", a CNAME chain
	// cdn.example.test → edge.example.test → CFDomain.
	CustomDomain string
	// Dir is the private temp dir holding configs, certificates and caches;
	// removed by Close.
	Dir string
	// StartDuration is how long Start took.
	StartDuration time.Duration

	dns        *DNSServer
	certs      certFiles
	caPool     *x509.CertPool
	spawner    *spawner
	procs      []*process
	proxies    []*latencyProxy
	transports sync.Map // POP IP → *http.Transport, for ViewerDo
	accessLogs bool
	refresh    string // Options.RefreshHeader

	closeOnce sync.Once
	closeErr  error
}

// POP is one started (or deliberately dead) POP.
type POP struct {
	Code string
	Kind Kind
	// IP is the POP's own 127.A.B.N address; for Dead POPs nothing listens
	// there.
	IP string
	// DNSName is "<dist>.<lower-case code>.cloudfront.net".
	DNSName string
	Spec    POPSpec

	index  string // decimal position, names the cache zone and work dirs
	parent *POP
	// cacheIP is where the POP's cache listens: IP, or for a remote POP an
	// address of its own behind the latency proxy that holds IP.
	cacheIP string
}

func (p *POP) claimedPOP() string {
	if p.Spec.ServedBy != "" {
		return p.Spec.ServedBy
	}
	return p.Code
}

// viaID mimics the per-edge hex label CloudFront puts in Via.
func (p *POP) viaID() string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(p.Code))
	return fmt.Sprintf("%016x", h.Sum64())
}

func (p *POP) live() bool { return !p.Spec.Dead }

var labelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// errAddrInUse marks start failures worth retrying on other IPs/ports.
var errAddrInUse = errors.New("address already in use")

// testHookAllocated, when set by a test, runs after each address choice so
// that the test can steal an address and exercise the retry path.
var testHookAllocated func(c *CDN, attempt int)

const (
	maxPOPs       = 250
	startAttempts = 6
)

// Start starts the origin, the DNS server, one nginx for all nginx POPs and
// one varnishd per varnish POP, and returns once every live POP answers.
// ctx bounds only the start-up; the CDN runs until Close.
func Start(ctx context.Context, opts Options) (_ *CDN, err error) {
	t0 := time.Now()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
	}
	dist := opts.Dist
	if dist == "" {
		dist = "dtest"
	}
	if !labelRE.MatchString(dist) {
		return nil, fmt.Errorf("minicdn: bad Dist %q: must be a DNS label", dist)
	}
	dist = strings.ToLower(dist)
	pops, err := buildPOPs(dist, opts.POPs)
	if err != nil {
		return nil, err
	}
	removeStaleDirs()
	dir, err := os.MkdirTemp(workRoot(), tempPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("minicdn: temp dir: %w", err)
	}
	// The owner file lets a later Start recognise this dir as abandoned if
	// this process is killed before Close (caches can hold GiBs).
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(ownerID(os.Getpid())), 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("minicdn: owner file: %w", err)
	}
	c := &CDN{POPs: pops, Dist: dist, CFDomain: dist + ".cloudfront.net", CustomDomain: "cdn.example.test", Dir: dir,
		spawner: newSpawner(), accessLogs: opts.AccessLogs, refresh: opts.RefreshHeader}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()

	if c.certs, err = writeCerts(dir); err != nil {
		return nil, fmt.Errorf("minicdn: %w", err)
	}
	c.CAFile, c.CAPEM = c.certs.caFile, c.certs.caPEM
	c.caPool = x509.NewCertPool()
	c.caPool.AppendCertsFromPEM(c.CAPEM)

	if c.Origin, err = StartOrigin(); err != nil {
		return nil, fmt.Errorf("minicdn: %w", err)
	}
	if c.dns, err = StartDNS(); err != nil {
		return nil, fmt.Errorf("minicdn: %w", err)
	}
	c.DNSAddr = c.dns.Addr

	for attempt := 1; ; attempt++ {
		if err = c.allocate(); err != nil {
			return nil, fmt.Errorf("minicdn: %w", err)
		}
		if testHookAllocated != nil {
			testHookAllocated(c, attempt)
		}
		err = c.startCaches(ctx)
		if err == nil {
			break
		}
		// Another process grabbed an address between our check and the
		// cache's bind: move to other IPs and ports and go again.
		if !errors.Is(err, errAddrInUse) || attempt == startAttempts || ctx.Err() != nil {
			return nil, fmt.Errorf("minicdn: %w", err)
		}
	}
	c.populateDNS()
	c.StartDuration = time.Since(t0)
	return c, nil
}

func buildPOPs(dist string, specs []POPSpec) ([]*POP, error) {
	if len(specs) > maxPOPs {
		return nil, fmt.Errorf("minicdn: %d POPs, at most %d", len(specs), maxPOPs)
	}
	seen := map[string]bool{}
	pops := make([]*POP, 0, len(specs))
	for i, s := range specs {
		if s.Kind == "" {
			s.Kind = Nginx
		}
		switch {
		case !labelRE.MatchString(s.Code):
			return nil, fmt.Errorf("minicdn: POP %d: bad code %q: letters, digits and '-' only", i, s.Code)
		case seen[strings.ToLower(s.Code)]:
			return nil, fmt.Errorf("minicdn: POP code %q used twice", s.Code)
		case s.Kind != Nginx && s.Kind != Varnish:
			return nil, fmt.Errorf("minicdn: POP %s: unknown kind %q", s.Code, s.Kind)
		case s.CloudFront && s.Kind != Nginx:
			return nil, fmt.Errorf("minicdn: POP %s: CloudFront needs kind nginx", s.Code)
		case s.ServedBy != "" && !s.CloudFront:
			return nil, fmt.Errorf("minicdn: POP %s: ServedBy needs CloudFront (it sets x-amz-cf-pop)", s.Code)
		case s.ServedBy != "" && !labelRE.MatchString(s.ServedBy):
			return nil, fmt.Errorf("minicdn: POP %s: bad ServedBy %q", s.Code, s.ServedBy)
		case (s.Parent != "" || s.NoCacheLock) && s.Kind != Nginx:
			return nil, fmt.Errorf("minicdn: POP %s: Parent and NoCacheLock need kind nginx", s.Code)
		case s.RTT < 0 || s.Bandwidth < 0 || (s.remote() && s.Dead):
			return nil, fmt.Errorf("minicdn: POP %s: RTT and Bandwidth are positive, on a live POP", s.Code)
		}
		seen[strings.ToLower(s.Code)] = true
		pops = append(pops, &POP{
			Code:    s.Code,
			Kind:    s.Kind,
			DNSName: dist + "." + strings.ToLower(s.Code) + ".cloudfront.net",
			Spec:    s,
			index:   strconv.Itoa(i),
		})
	}
	return pops, linkParents(pops)
}

// linkParents points each POP with a Parent at it: a live nginx POP of the
// same CDN, never itself or one of its own children.
func linkParents(pops []*POP) error {
	byCode := map[string]*POP{}
	for _, p := range pops {
		byCode[strings.ToLower(p.Code)] = p
	}
	for _, p := range pops {
		if p.Spec.Parent == "" {
			continue
		}
		parent := byCode[strings.ToLower(p.Spec.Parent)]
		if parent == nil || parent.Kind != Nginx || parent.Spec.Dead {
			return fmt.Errorf("minicdn: POP %s: parent %q is not a live nginx POP of this CDN", p.Code, p.Spec.Parent)
		}
		p.parent = parent
	}
	for _, p := range pops {
		seen := map[*POP]bool{}
		for q := p; q != nil; q = q.parent {
			if seen[q] {
				return fmt.Errorf("minicdn: POP %s: its parents form a loop", p.Code)
			}
			seen[q] = true
		}
	}
	return nil
}

// allocate picks a random 127.A.B.0/24 for the POPs and random shared ports,
// and checks in-process that every address is free, so that the caches'
// own bind (slow to fail for nginx, which retries for 2.5 s) rarely does.
func (c *CDN) allocate() error {
	for range 50 {
		a, b := 1+rand.IntN(250), 1+rand.IntN(250)
		httpPort := 20000 + rand.IntN(40000)
		httpsPort := 20000 + rand.IntN(40000)
		if httpsPort == httpPort {
			continue
		}
		free := true
		for i, p := range c.POPs {
			p.IP = fmt.Sprintf("127.%d.%d.%d", a, b, i+2)
			p.cacheIP = p.IP
			if p.Spec.remote() { // its cache in the /24 next door
				p.cacheIP = fmt.Sprintf("127.%d.%d.%d", a, 1+b%250, i+2)
			}
			if !portsFree(p.IP, httpPort, httpsPort) || !portsFree(p.cacheIP, httpPort, httpsPort) {
				free = false
				break
			}
		}
		if free {
			c.HTTPPort, c.HTTPSPort = httpPort, httpsPort
			return nil
		}
	}
	return errors.New("no free loopback addresses/ports found")
}

func portsFree(ip string, ports ...int) bool {
	for _, port := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			return false
		}
		_ = ln.Close()
	}
	return true
}

// readyCheck is a started cache and the health URLs that prove it ready.
type readyCheck struct {
	proc *process
	urls []string
}

// startCaches starts nginx and the varnishds and waits for all to answer.
// On failure everything it started is stopped again.
func (c *CDN) startCaches(ctx context.Context) (err error) {
	checks, err := c.spawnCaches()
	if err == nil {
		err = c.waitCaches(ctx, checks)
	}
	var proxies []*latencyProxy
	if err == nil {
		proxies, err = c.startProxies()
	}
	if err != nil {
		for _, ck := range checks {
			_ = ck.proc.stop(5 * time.Second)
		}
		return err
	}
	for _, ck := range checks {
		c.procs = append(c.procs, ck.proc)
	}
	c.proxies = proxies
	return nil
}

// startProxies puts the remote POPs' latency proxies in front of their
// caches; on failure none is left running.
func (c *CDN) startProxies() ([]*latencyProxy, error) {
	var out []*latencyProxy
	for _, pop := range c.POPs {
		if !pop.Spec.remote() {
			continue
		}
		proxy, err := startLatencyProxy(pop, c.HTTPPort, c.HTTPSPort)
		if err != nil {
			for _, p := range out {
				p.close()
			}
			return nil, err
		}
		out = append(out, proxy)
	}
	return out, nil
}

// spawnCaches starts one nginx for every nginx POP and a varnishd per
// varnish POP; it returns what it started even on failure.
func (c *CDN) spawnCaches() ([]readyCheck, error) {
	var checks []readyCheck
	var nginxPOPs []*POP
	for _, p := range c.POPs {
		if p.live() && p.Kind == Nginx {
			nginxPOPs = append(nginxPOPs, p)
		}
	}
	if len(nginxPOPs) > 0 {
		proc, err := c.startNginx(nginxPOPs)
		if err != nil {
			return checks, err
		}
		ck := readyCheck{proc: proc}
		for _, p := range nginxPOPs {
			ck.urls = append(ck.urls,
				fmt.Sprintf("http://%s:%d%s", p.cacheIP, c.HTTPPort, healthPath),
				fmt.Sprintf("https://%s:%d%s", p.cacheIP, c.HTTPSPort, healthPath))
		}
		checks = append(checks, ck)
	}
	for _, p := range c.POPs {
		if !p.live() || p.Kind != Varnish {
			continue
		}
		proc, err := c.startVarnish(p)
		if err != nil {
			return checks, err
		}
		checks = append(checks, readyCheck{proc: proc, urls: []string{fmt.Sprintf("http://%s:%d%s", p.cacheIP, c.HTTPPort, healthPath)}})
	}
	return checks, nil
}

// waitCaches waits until every started cache answers its health URLs.
func (c *CDN) waitCaches(ctx context.Context, checks []readyCheck) error {
	// Readiness: each POP answers its own health path (never forwarded,
	// so the origin's counters stay at zero). https is checked with
	// verification on, which also proves the certificate setup.
	tr := &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{RootCAs: c.caPool, ServerName: SiteHost},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	// The first failure cancels the other checks: a retry is coming, and
	// waiting for the rest would only add their timeouts to start-up.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(checks))
	for _, ck := range checks {
		go func() {
			err := waitReady(wctx, client, ck.proc, ck.urls)
			if err != nil {
				cancel()
			}
			errc <- err
		}()
	}
	var first error
	for range checks {
		if err := <-errc; err != nil && (first == nil || errors.Is(first, context.Canceled)) {
			first = err
		}
	}
	return first
}

// waitReady polls urls until each has answered 204. A watcher fails it as
// soon as the process exits or logs a bind conflict, without waiting for an
// in-flight poll: a port taken by someone else may accept and never answer.
func waitReady(ctx context.Context, client *http.Client, proc *process, urls []string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go every.Tick(ctx, 10*time.Millisecond, func(context.Context) {
		out := proc.output()
		switch {
		case strings.Contains(out, "Address already in use"):
			cancel(fmt.Errorf("%s: %w: %s", proc.name, errAddrInUse, lastLines(out, 3)))
		case proc.exited():
			cancel(fmt.Errorf("%s exited during start (%v): %s", proc.name, proc.waitErr, lastLines(out, 10)))
		}
	})
	pending := urls
	for {
		var still []string
		for _, u := range pending {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return fmt.Errorf("%s: readiness request: %w", proc.name, err)
			}
			req.Host = SiteHost
			resp, err := client.Do(req)
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusNoContent {
					continue
				}
			}
			still = append(still, u)
		}
		if pending = still; len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if cause := context.Cause(ctx); !errors.Is(cause, ctx.Err()) {
				return cause
			}
			return fmt.Errorf("%s not ready (%v still failing): %w; output: %s", proc.name, pending, ctx.Err(), lastLines(proc.output(), 10))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

const (
	tempPrefix = "minicdn-"
	ownerFile  = "owner.pid"
)

// removeStaleDirs deletes temp dirs left by CDNs whose process died without
// Close (SIGKILL, test timeout). The caches' own processes die with it via
// Pdeathsig, but files stay. Dirs without an owner file are left alone: they
// may belong to a Start that is just creating them; so are dirs from
// another PID namespace (a container sharing /tmp), whose owner we cannot
// see.
// workRoot is where a CDN keeps its configs and caches: in memory
// (/dev/shm) where the machine has it. The POPs of a real CDN each have
// disks of their own; here they would all write to the one disk of the
// machine under test, and a first warm would measure that disk.
func workRoot() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", tempPrefix+"probe-*"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

func removeStaleDirs() {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return
	}
	tmp := workRoot()
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pidStr, ownerNS, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || ownerNS != ns {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); errors.Is(err, os.ErrNotExist) {
			_ = os.RemoveAll(dir)
		}
	}
}

// ownerID is "PID PIDNAMESPACE" for the owner file.
func ownerID(pid int) string {
	ns, _ := os.Readlink("/proc/self/ns/pid")
	return strconv.Itoa(pid) + " " + ns
}

// populateDNS loads the table: one A per resolvable POP, the distribution
// domain, and the custom-domain CNAME chain.
func (c *CDN) populateDNS() {
	defaultIP := "127.0.0.1"
	for _, p := range c.POPs {
		if p.Spec.Unresolvable {
			continue
		}
		c.dns.Set(p.DNSName, p.IP)
		if defaultIP == "127.0.0.1" && !p.Spec.Dead {
			// The bare distribution name goes to the first working POP, as
			// real CloudFront sends a viewer to some nearby edge; this lets
			// the custom domain be fetched end to end.
			defaultIP = p.IP
		}
	}
	c.dns.Set(c.CFDomain, defaultIP)
	c.dns.SetCNAME(c.CustomDomain, "edge.example.test")
	c.dns.SetCNAME("edge.example.test", c.CFDomain)
	// The site's own names are aliases of the distribution, as a real
	// site's are.
	c.dns.SetCNAME(SiteHost, "edge.example.test")
	c.dns.SetCNAME(StaticHost, "edge.example.test")
}

// Close stops every process, the DNS server and the origin, and removes Dir.
// It is safe to call more than once.
func (c *CDN) Close() error {
	c.closeOnce.Do(func() {
		for _, p := range c.proxies {
			p.close()
		}
		var errs []error
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, p := range c.procs {
			wg.Go(func() {
				if err := p.stop(5 * time.Second); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		c.transports.Range(func(_, v any) bool {
			v.(*http.Transport).CloseIdleConnections()
			return true
		})
		if c.dns != nil {
			if err := c.dns.Close(); err != nil {
				errs = append(errs, fmt.Errorf("dns close: %w", err))
			}
		}
		if c.Origin != nil {
			if err := c.Origin.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		c.spawner.close()
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", c.Dir, err))
		}
		if err := errors.Join(errs...); err != nil {
			c.closeErr = fmt.Errorf("minicdn close: %w", err)
		}
	})
	return c.closeErr
}

// DNS returns the DNS server, to change records at runtime.
func (c *CDN) DNS() *DNSServer { return c.dns }

// Resolver returns a net.Resolver that asks only the CDN's DNS server.
func (c *CDN) Resolver() *net.Resolver { return c.dns.Resolver() }

// CertPool returns a pool holding only the CDN's CA.
func (c *CDN) CertPool() *x509.CertPool { return c.caPool.Clone() }

// URL is "http://www.example.test:<HTTPPort>" + path.
func (c *CDN) URL(path string) string {
	return "http://" + SiteHost + ":" + strconv.Itoa(c.HTTPPort) + path
}

// URLTLS is "https://www.example.test:<HTTPSPort>" + path.
func (c *CDN) URLTLS(path string) string {
	return "https://" + SiteHost + ":" + strconv.Itoa(c.HTTPSPort) + path
}

// POP finds a POP by code, case-insensitively; nil if there is none.
func (c *CDN) POP(code string) *POP {
	for _, p := range c.POPs {
		if strings.EqualFold(p.Code, code) {
			return p
		}
	}
	return nil
}

// processGroups lists the process groups of the caches (for tests that
// check Close leaves nothing behind).
func (c *CDN) processGroups() []int {
	var out []int
	for _, p := range c.procs {
		out = append(out, p.pgid)
	}
	return out
}
