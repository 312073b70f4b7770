package api

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"prewarm/internal/warm"
)

// keyedServer is an API with named keys on a clock the test moves; its
// routes that need no domain (errors, limits) are enough here.
func keyedServer(t *testing.T, keys []Key, now *time.Time) (*Server, *Keyring) {
	t.Helper()
	ring := NewKeyring(keys, func() time.Time { return *now })
	return New(Config{Service: &warm.Service{Limits: warm.DefaultLimits, NewID: func() string { return "j1" }, Now: time.Now}, Keyring: ring, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return *now }}), ring
}

func ask(s *Server, method, path, key string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(`{}`))
	if key != "" {
		r.Header.Set("x-api-key", key)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func named(name, key string, scope Scope, rps float64, daily int) Key {
	k := AdminKeys([]string{key})[0]
	k.Name, k.Scope, k.RPS, k.Daily = name, scope, rps, daily
	return k
}

// Each scope reaches what it should: a read key reads and is told what
// it lacks to write; a submit key may not set capacity; admin may.
func TestKeyScopes(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	s, _ := keyedServer(t, []Key{named("dash", "read-key-1", ScopeRead, 0, 0), named("ci", "submit-key-1", ScopeSubmit, 0, 0),
		named("ops", "admin-key-1", ScopeAdmin, 0, 0)}, &now)
	for _, c := range []struct {
		method, path, key string
		status            int
		want              string
	}{
		{"POST", "/prewarm", "", 401, "missing x-api-key"},
		{"POST", "/prewarm", "nope-nope-nope", 403, "invalid API key"},
		{"POST", "/prewarm", "read-key-1", 403, "key dash has the read scope; POST /prewarm needs submit"},
		{"POST", "/jobs/j1/stop", "read-key-1", 403, "needs submit"},
		{"POST", "/instances", "submit-key-1", 403, "key ci has the submit scope; POST /instances needs admin"},
		{"GET", "/prewarm", "read-key-1", 400, "req_id"},      // past the key check
		{"POST", "/prewarm", "submit-key-1", 400, "url_list"}, // past the key check
		{"POST", "/instances", "admin-key-1", 400, "Desired"}, // past the key check
		{"GET", "/reports/x.csv", "", 401, "missing x-api-key"},
	} {
		w := ask(s, c.method, c.path, c.key)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("%s %s with %q: %d %s, want %d with %q", c.method, c.path, c.key, w.Code, w.Body, c.status, c.want)
		}
	}
}

// A key's limits answer 429 with Retry-After: per second, refilled with
// time; per UTC day, until midnight. A reload that keeps the key keeps
// what it used.
func TestKeyLimits(t *testing.T) {
	now := time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC)
	s, ring := keyedServer(t, []Key{named("ci", "submit-key-1", ScopeSubmit, 2, 5)}, &now)
	get := func() *httptest.ResponseRecorder { return ask(s, "GET", "/prewarm", "submit-key-1") }
	for i := range 2 {
		if w := get(); w.Code != 400 {
			t.Fatalf("request %d within the rate: %d %s", i+1, w.Code, w.Body)
		}
	}
	w := get()
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), "2 requests a second") {
		t.Fatalf("third request in a second: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	now = now.Add(time.Second)
	ring.Set([]Key{named("ci", "submit-key-1", ScopeSubmit, 2, 5)}) // a reload
	for i := range 3 {
		if i == 2 {
			now = now.Add(time.Second)
		}
		if w := get(); w.Code != 400 {
			t.Fatalf("request %d of the day: %d %s", i+3, w.Code, w.Body)
		}
	}
	w = get()
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "3598" || !strings.Contains(w.Body.String(), "its 5 requests of 2026-11-29") {
		t.Fatalf("sixth request of the day: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	now = now.Add(time.Hour)
	if w := get(); w.Code != 400 {
		t.Fatalf("the next day: %d %s", w.Code, w.Body)
	}
}

func TestLoadKeysFile(t *testing.T) {
	dir := t.TempDir()
	write := func(doc string) string {
		p := filepath.Join(dir, "keys.yaml")
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sum := Digest("pw_secret")
	keys, err := LoadKeysFile(write("keys:\n  - {name: ci, sha256: " + sum + ", scope: submit, rps: 10, daily: 1000}\n"))
	if err != nil || len(keys) != 1 || keys[0].Name != "ci" || keys[0].Scope != ScopeSubmit || keys[0].RPS != 10 ||
		keys[0].Daily != 1000 || keys[0].Digest != AdminKeys([]string{"pw_secret"})[0].Digest {
		t.Fatalf("%+v %v", keys, err)
	}
	for doc, want := range map[string]string{
		"keys:\n  - {name: ci, sha256: pw_secret, scope: read}\n":                                                   "keys[0] (ci): sha256: want the 64 hex digits",
		"keys:\n  - {name: ci, sha256: " + sum + ", scope: root}\n":                                                 `scope "root"`,
		"keys:\n  - {name: 'c i', sha256: " + sum + ", scope: read}\n":                                              `name "c i"`,
		"keys:\n  - {name: ci, sha256: " + sum + ", scope: read, rps: -1}\n":                                        "rps and daily",
		"keys:\n  - {name: ci, sha256: " + sum + ", scope: read, limit: 3}\n":                                       "field limit not found",
		"keys:\n  - {name: a, sha256: " + sum + ", scope: read}\n  - {name: b, sha256: " + sum + ", scope: read}\n": "listed twice",
		"keys: []\n": "no keys",
		"":           "no keys: the file holds a top-level `keys:` line",
		"  - {name: ci, sha256: " + sum + ", scope: read}\n": "cannot unmarshal !!seq into api.keysFile; the file holds a top-level `keys:` line and a list of entries",
	} {
		if _, err := LoadKeysFile(write(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
}
