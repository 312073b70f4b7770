// Package web serves the operator's dashboard: one HTML shell and a few
// static assets (a stylesheet, a hand-written ES2020 script, an icon), all
// embedded in the binary. The page is a client of the JSON API mounted
// beside it: the script signs in with an API key kept in sessionStorage,
// polls the API and renders every view (jobs, a job, a new job, the fleet)
// in the browser, so the server side stays a file server with strict
// headers and there is no JavaScript build step.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Options configures the dashboard.
type Options struct {
	// Version is shown in the page footer, so an operator can tell which
	// build answered.
	Version string
}

// Routes returns the mux patterns the handler must be mounted on: the shell
// at exactly "/" and the assets under "/ui/". Views are hash routes
// (#/jobs/ID) inside the shell, so no other server path is needed.
func Routes() []string {
	return []string{"GET /{$}", "GET /ui/"}
}

//go:embed ui/index.html
var shellSource string

//go:embed ui/assets
var assetFS embed.FS

// contentSecurityPolicy allows nothing but this origin: the script, the
// stylesheet and the API calls are all same-origin, and the report CSV is a
// navigation (a download), which connect-src does not govern.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentType is explicit rather than taken from the mime package, whose
// answers depend on the host's mime tables.
func contentType(ext string) string {
	switch ext {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	return ""
}

type asset struct {
	body        []byte
	contentType string
	hash        string // short content hash: the cache-busting query and the ETag
}

// column is a table heading the "table" partial writes.
type column struct{ Label, Class string }

type handler struct {
	shell     []byte
	shellETag string
	assets    map[string]asset // by name under /ui/
}

// Handler serves the dashboard. Mount it at "/" for exact-path GETs of the
// pages and "/ui/" for assets; Routes returns both patterns.
func Handler(opts Options) http.Handler {
	h, err := newHandler(opts)
	if err != nil {
		// The shell and assets are embedded and checked by the tests, so a
		// failure here is a broken build, not a runtime condition.
		panic(fmt.Sprintf("web: %v", err))
	}
	return h
}

func newHandler(opts Options) (*handler, error) {
	h := &handler{assets: map[string]asset{}}
	err := fs.WalkDir(assetFS, "ui/assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		ct := contentType(path.Ext(p))
		if ct == "" {
			return fmt.Errorf("asset %s: no content type for its extension", p)
		}
		sum := sha256.Sum256(body)
		h.assets[strings.TrimPrefix(p, "ui/assets/")] = asset{body: body, contentType: ct, hash: hex.EncodeToString(sum[:6])}
		return nil
	})
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("index.html").Funcs(h.shellFuncs()).Parse(shellSource)
	if err != nil {
		return nil, err
	}
	version := strings.TrimSpace(opts.Version)
	if version == "" {
		version = "dev"
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct{ Version string }{version}); err != nil {
		return nil, err
	}
	h.shell = buf.Bytes()
	sum := sha256.Sum256(h.shell)
	h.shellETag = `"` + hex.EncodeToString(sum[:8]) + `"`
	return h, nil
}

// shellFuncs are the functions the page's template calls.
func (h *handler) shellFuncs() template.FuncMap {
	return template.FuncMap{
		// asset links carry the content hash, so a new build is fetched at
		// once while an unchanged asset is cached for good.
		"asset": func(name string) (string, error) {
			a, ok := h.assets[name]
			if !ok {
				return "", fmt.Errorf("no asset %q", name)
			}
			return "/ui/" + name + "?v=" + a.hash, nil
		},
		// args and list hand the page's partials ({{define}}) more than
		// one value: args "id" "x" "title" "X" is a map, list a slice.
		"args": func(pairs ...any) (map[string]any, error) {
			if len(pairs)%2 != 0 {
				return nil, fmt.Errorf("args: %d values, not name-value pairs", len(pairs))
			}
			m := make(map[string]any, len(pairs)/2)
			for i := 0; i < len(pairs); i += 2 {
				name, ok := pairs[i].(string)
				if !ok {
					return nil, fmt.Errorf("args: name %v is not a string", pairs[i])
				}
				m[name] = pairs[i+1]
			}
			return m, nil
		},
		"list": func(v ...any) []any { return v },
		// cols names a table's columns for the "table" partial: label and
		// class by turns, an empty class for none.
		"cols": func(pairs ...string) ([]column, error) {
			if len(pairs)%2 != 0 {
				return nil, fmt.Errorf("cols: %d values, not label-class pairs", len(pairs))
			}
			cs := make([]column, 0, len(pairs)/2)
			for i := 0; i < len(pairs); i += 2 {
				cs = append(cs, column{Label: pairs[i], Class: pairs[i+1]})
			}
			return cs, nil
		},
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch {
	case r.URL.Path == "/":
		h.serveShell(w, r)
	case strings.HasPrefix(r.URL.Path, "/ui/"):
		h.serveAsset(w, r, strings.TrimPrefix(r.URL.Path, "/ui/"))
	default:
		http.NotFound(w, r)
	}
}

func (h *handler) serveShell(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	// The shell names the current asset hashes, so it must be revalidated
	// on every load; the ETag keeps that cheap.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", h.shellETag)
	// No modification time: the ETag alone decides, so a rebuilt binary is
	// never mistaken for the one before it.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.shell))
}

func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := h.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("ETag", `"`+a.hash+`"`)
	if r.URL.Query().Get("v") == a.hash {
		// The link names this exact content, so it can never go stale.
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
