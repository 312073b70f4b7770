package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mounted is the handler as the lead mounts it: on Routes() beside an API
// that owns every other path.
func mounted(t *testing.T) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	h := Handler(Options{Version: "v1.2.3-test"})
	for _, p := range Routes() {
		mux.Handle(p, h)
	}
	mux.HandleFunc("GET /jobs", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"jobs":[]}`) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "api 404", http.StatusNotFound) })
	return mux
}

func TestShell(t *testing.T) {
	h := mounted(t)
	res := serve(t, h, "GET", "/", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d", res.StatusCode)
	}
	html := body(t, res)
	for _, want := range []string{"<title>prewarm</title>", "v1.2.3-test", `id="tpl-jobs"`, `id="tpl-job"`, `id="tpl-new"`, `id="tpl-fleet"`} {
		if !strings.Contains(html, want) {
			t.Errorf("shell lacks %q", want)
		}
	}
	if got := res.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-cache",
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// The CSP forbids inline script, so the shell must not have any: every
	// <script> names a src.
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(tag, "src=") {
			t.Errorf("inline script in shell: %s", tag)
		}
	}
	if regexp.MustCompile(`\son[a-z]+=`).MatchString(html) {
		t.Error("shell has an inline event handler attribute")
	}

	etag := res.Header.Get("ETag")
	res = serve(t, h, "GET", "/", map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("GET / with its ETag = %d, want 304", res.StatusCode)
	}
	if res = serve(t, h, "HEAD", "/", nil); res.StatusCode != http.StatusOK {
		t.Errorf("HEAD / = %d", res.StatusCode)
	}
}

func TestAssets(t *testing.T) {
	h := mounted(t)
	html := body(t, serve(t, h, "GET", "/", nil))
	links := regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"`).FindAllStringSubmatch(html, -1)
	if len(links) < 3 {
		t.Fatalf("shell links %d assets, want the script, the stylesheet and the icon", len(links))
	}
	types := map[string]string{
		".js":  "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8",
		".svg": "image/svg+xml",
	}
	for _, m := range links {
		link := strings.ReplaceAll(m[1], "&amp;", "&")
		res := serve(t, h, "GET", link, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", link, res.StatusCode)
			continue
		}
		name, _, _ := strings.Cut(link, "?")
		ext := name[strings.LastIndex(name, "."):]
		if got := res.Header.Get("Content-Type"); got != types[ext] {
			t.Errorf("GET %s: Content-Type %q, want %q", link, got, types[ext])
		}
		if got := res.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
			t.Errorf("GET %s (hashed link): Cache-Control %q, want immutable", link, got)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", link)
		}
		// Without the hash, or with a stale one, the asset must be
		// revalidated rather than cached for a year.
		res = serve(t, h, "GET", name+"?v=stale", nil)
		if got := res.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s?v=stale: Cache-Control %q, want no-cache", name, got)
		}
		etag := res.Header.Get("ETag")
		if res = serve(t, h, "GET", name, map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag = %d, want 304", name, res.StatusCode)
		}
	}
}

func TestNotFound(t *testing.T) {
	h := mounted(t)
	for _, p := range []string{"/ui/", "/ui/nope.js", "/ui/app.js/x", "/ui/index.html", "/ui/assets/app.js"} {
		if res := serve(t, h, "GET", p, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
	// Paths the handler is not mounted on stay the API's.
	if res := serve(t, h, "GET", "/jobs", nil); body(t, res) != `{"jobs":[]}` {
		t.Error("GET /jobs did not reach the API")
	}
	if res := serve(t, h, "GET", "/index.html", nil); res.StatusCode != http.StatusNotFound || body(t, res) != "api 404\n" {
		t.Error("GET /index.html did not reach the API's 404")
	}
	// Used directly, without a mux, the handler still answers only its own
	// paths and methods.
	direct := Handler(Options{})
	if res := serve(t, direct, "GET", "/elsewhere", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("direct GET /elsewhere = %d", res.StatusCode)
	}
	if res := serve(t, direct, "GET", "/ui/../web.go", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("direct GET /ui/../web.go = %d", res.StatusCode)
	}
	if res := serve(t, direct, "POST", "/", nil); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("direct POST / = %d", res.StatusCode)
	}
}

// TestScriptRules checks the rules the script promises in its header
// comment, so that a later edit cannot quietly break them.
func TestScriptRules(t *testing.T) {
	src, err := assetFS.ReadFile("ui/assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	js := string(src)
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "localStorage", "document.cookie"} {
		if strings.Contains(js, banned) {
			t.Errorf("app.js uses %s", banned)
		}
	}
	if !strings.Contains(js, "sessionStorage") || !strings.Contains(js, "'x-api-key'") {
		t.Error("app.js no longer keeps the key in sessionStorage and sends it as x-api-key")
	}
}

func TestRoutesMountBesideAPI(t *testing.T) {
	// The API's own patterns; mounting must not panic with a conflict.
	mux := http.NewServeMux()
	for _, p := range []string{"GET /healthz", "POST /prewarm", "GET /prewarm", "GET /jobs", "GET /jobs/{id}",
		"POST /jobs/{id}/stop", "GET /reports/{file}", "/prewarm", "/jobs", "/"} {
		mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	h := Handler(Options{})
	for _, p := range Routes() {
		mux.Handle(p, h)
	}
	for _, p := range []string{"/", "/ui/app.js"} {
		req := httptest.NewRequest("GET", p, nil)
		if _, pattern := mux.Handler(req); !strings.HasPrefix(pattern, "GET /") || pattern == "GET /jobs" {
			t.Errorf("%s routed to %q", p, pattern)
		}
	}
}
