package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/time/rate"
)

// Scope is what an API key may do; each scope includes the ones before it.
type Scope int

const (
	// ScopeRead: progress, summaries, reports, job listings, the fleet,
	// metrics.
	ScopeRead Scope = iota + 1
	// ScopeSubmit: also start jobs and stop them.
	ScopeSubmit
	// ScopeAdmin: also set the fleet's desired capacity.
	ScopeAdmin
)

var scopeNames = map[Scope]string{ScopeRead: "read", ScopeSubmit: "submit", ScopeAdmin: "admin"}

func (s Scope) String() string { return scopeNames[s] }

// ParseScope reads read, submit or admin.
func ParseScope(name string) (Scope, error) {
	for s, n := range scopeNames {
		if strings.EqualFold(strings.TrimSpace(name), n) {
			return s, nil
		}
	}
	return 0, fmt.Errorf("scope %q: want read, submit or admin", name)
}

// Key is an API key as the server holds it: a name and the SHA-256 of the
// key, never the key itself, so a key file can be read by more people
// than the keys.
type Key struct {
	Name   string
	Digest [32]byte
	Scope  Scope
	// RPS bounds the key's requests per second (a second's worth may come
	// at once); Daily its requests per UTC day. 0: no bound.
	RPS   float64
	Daily int
}

// Digest is the SHA-256 of a key, as a key file holds it.
func Digest(key string) string {
	d := sha256.Sum256([]byte(key))
	return hex.EncodeToString(d[:])
}

// AdminKeys are the keys given on the command line: admins, named key-1,
// key-2, … in logs and on jobs.
func AdminKeys(keys []string) []Key {
	out := make([]Key, len(keys))
	for i, k := range keys {
		out[i] = Key{Name: fmt.Sprintf("key-%d", i+1), Digest: sha256.Sum256([]byte(k)), Scope: ScopeAdmin}
	}
	return out
}

// keysFile is the YAML of --api-keys-file.
type keysFile struct {
	Keys []struct {
		Name   string  `yaml:"name"`
		SHA256 string  `yaml:"sha256"`
		Scope  string  `yaml:"scope"`
		RPS    float64 `yaml:"rps"`
		Daily  int     `yaml:"daily"`
	} `yaml:"keys"`
}

var keyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckKeyName says why a key name cannot be used: names go into the keys
// file unquoted, into logs and onto jobs, so they keep to a safe set.
func CheckKeyName(name string) error {
	if !keyName.MatchString(name) {
		return fmt.Errorf("name %q: want letters, digits, '.', '_' or '-' (starting with a letter or digit), up to 64", name)
	}
	return nil
}

// keysFileShape is what a keys file holds, for errors about its shape.
const keysFileShape = "the file holds a top-level `keys:` line and a list of entries " +
	"(`- name: …`, `sha256: …`, `scope: …`) as `prewarm key new` prints them"

// LoadKeysFile reads named keys from a YAML file:
//
//	keys:
//	  - name: deploy-pipeline
//	    sha256: 9f86d0…      # prewarm key new prints it
//	    scope: submit        # read, submit or admin
//	    rps: 10              # optional
//	    daily: 1000          # optional
//
// Every problem names the entry and the field.
func LoadKeysFile(path string) ([]Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f keysFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w; %s", path, err, keysFileShape)
	}
	var out []Key
	names, digests := map[string]bool{}, map[[32]byte]bool{}
	for i, k := range f.Keys {
		at := fmt.Sprintf("%s: keys[%d]", path, i)
		if err := CheckKeyName(k.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		at = fmt.Sprintf("%s (%s)", at, k.Name)
		raw, err := hex.DecodeString(strings.TrimSpace(k.SHA256))
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("%s: sha256: want the 64 hex digits `prewarm key new` prints, not the key", at)
		}
		scope, err := ParseScope(k.Scope)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		if k.RPS < 0 || math.IsNaN(k.RPS) || k.Daily < 0 {
			return nil, fmt.Errorf("%s: rps and daily must be 0 (no bound) or more", at)
		}
		key := Key{Name: k.Name, Digest: [32]byte(raw), Scope: scope, RPS: k.RPS, Daily: k.Daily}
		if names[key.Name] || digests[key.Digest] {
			return nil, fmt.Errorf("%s: the name or the key is listed twice", at)
		}
		names[key.Name], digests[key.Digest] = true, true
		out = append(out, key)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no keys: %s", path, keysFileShape)
	}
	return out, nil
}

// Keyring holds the keys the API accepts and what each has used of its
// limits; Set swaps the keys while serving (on SIGHUP). With no keys the
// API is open.
type Keyring struct {
	now  func() time.Time
	keys atomic.Pointer[[]*keyState]
}

type keyState struct {
	Key
	limiter *rate.Limiter // nil: no rate bound
	mu      sync.Mutex
	day     string // UTC date of count
	count   int
}

// NewKeyring returns a keyring holding keys.
func NewKeyring(keys []Key, now func() time.Time) *Keyring {
	if now == nil {
		now = time.Now
	}
	k := &Keyring{now: now}
	k.Set(keys)
	return k
}

// Set replaces the keys. A key kept (same name and digest) keeps what it
// used of its limits.
func (k *Keyring) Set(keys []Key) {
	old := map[string]*keyState{}
	if prev := k.keys.Load(); prev != nil {
		for _, ks := range *prev {
			old[ks.Name+"\x00"+string(ks.Digest[:])] = ks
		}
	}
	next := make([]*keyState, 0, len(keys))
	for _, key := range keys {
		ks := &keyState{Key: key}
		if prev := old[key.Name+"\x00"+string(key.Digest[:])]; prev != nil {
			prev.mu.Lock()
			ks.day, ks.count = prev.day, prev.count
			prev.mu.Unlock()
			if prev.limiter != nil && prev.RPS == key.RPS {
				ks.limiter = prev.limiter
			}
		}
		if ks.limiter == nil && key.RPS > 0 {
			ks.limiter = rate.NewLimiter(rate.Limit(key.RPS), max(int(math.Ceil(key.RPS)), 1))
		}
		next = append(next, ks)
	}
	k.keys.Store(&next)
}

// keyCtx carries the name of the request's key.
type keyCtx struct{}

// keyOf is the key a request came with.
type keyOf struct {
	name  string
	scope Scope
}

// KeyName is the name of the key a request came with ("" on an open API).
func KeyName(ctx context.Context) string {
	k, _ := ctx.Value(keyCtx{}).(keyOf)
	return k.name
}

// mayChange admits a request changing what key owner submitted (stopping
// a job, pausing or deleting a schedule): its own key may, an admin key
// may, and anyone may on an open API or for what predates named keys.
// Another team's submit key may not.
func mayChange(ctx context.Context, what, owner string) error {
	k, ok := ctx.Value(keyCtx{}).(keyOf)
	if !ok || owner == "" || k.name == owner || k.scope >= ScopeAdmin {
		return nil
	}
	return &httpError{status: http.StatusForbidden,
		msg: fmt.Sprintf("key %s may change only what it submitted: %s belongs to key %s (an admin key may change it)", k.name, what, owner)}
}

// check admits a request that needs scope: its key (x-api-key, or a
// bearer token as scrapers send) must be one of the keyring's, with that
// scope and room in its limits. It returns the request with the key's
// name in its context.
func (k *Keyring) check(r *http.Request, need Scope) (*http.Request, error) {
	keys := *k.keys.Load()
	if len(keys) == 0 {
		return r, nil
	}
	key := r.Header.Get("x-api-key")
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); key == "" && ok {
		key = strings.TrimSpace(bearer)
	}
	if key == "" {
		return nil, &httpError{status: http.StatusUnauthorized, msg: "missing x-api-key header"}
	}
	// Compared as digests, in constant time and against every key: neither
	// a key's contents nor which one matched leak through timing.
	got := sha256.Sum256([]byte(key))
	var found *keyState
	for _, ks := range keys {
		if subtle.ConstantTimeCompare(got[:], ks.Digest[:]) == 1 {
			found = ks
		}
	}
	if found == nil {
		return nil, &httpError{status: http.StatusForbidden, msg: "invalid API key"}
	}
	if found.Scope < need {
		return nil, &httpError{status: http.StatusForbidden, msg: fmt.Sprintf("key %s has the %s scope; %s %s needs %s",
			found.Name, found.Scope, r.Method, r.URL.Path, need)}
	}
	if err := found.spend(k.now()); err != nil {
		return nil, err
	}
	return r.WithContext(context.WithValue(r.Context(), keyCtx{}, keyOf{name: found.Name, scope: found.Scope})), nil
}

// spend takes one request from the key's limits, or says when to retry.
func (ks *keyState) spend(now time.Time) error {
	if ks.Daily > 0 {
		ks.mu.Lock()
		day := now.UTC().Format(time.DateOnly)
		if ks.day != day {
			ks.day, ks.count = day, 0
		}
		if ks.count >= ks.Daily {
			ks.mu.Unlock()
			midnight := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
			return &httpError{status: http.StatusTooManyRequests, retryAfter: midnight.Sub(now),
				msg: fmt.Sprintf("key %s has used its %d requests of %s (UTC)", ks.Name, ks.Daily, day)}
		}
		ks.count++
		ks.mu.Unlock()
	}
	if ks.limiter != nil {
		res := ks.limiter.ReserveN(now, 1)
		if d := res.DelayFrom(now); d > 0 {
			res.CancelAt(now)
			if ks.Daily > 0 { // a refused request does not count
				ks.mu.Lock()
				ks.count--
				ks.mu.Unlock()
			}
			return &httpError{status: http.StatusTooManyRequests, retryAfter: d,
				msg: fmt.Sprintf("key %s is limited to %g requests a second", ks.Name, ks.RPS)}
		}
	}
	return nil
}

// retrySeconds is a Retry-After value: whole seconds, at least one.
func retrySeconds(d time.Duration) string {
	return fmt.Sprint(max(int64(math.Ceil(d.Seconds())), 1))
}
