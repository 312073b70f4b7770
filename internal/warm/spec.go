package warm

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Limits bound what one job may ask for. They are the operator's to set; the
// defaults fit one machine.
type Limits struct {
	MaxURLs int // URLs per job after de-duplication
	// CanNotify: the server signs notifications, so jobs may ask for them.
	CanNotify  bool
	MaxTargets int // POPs per job
	MaxURLLen  int
	// DefaultDiscover is the discover mode of country and region jobs
	// that name none ("" or DiscoverECS).
	DefaultDiscover string
}

// DefaultLimits are used where the operator set nothing.
var DefaultLimits = Limits{MaxURLs: 100_000, MaxTargets: 1000, MaxURLLen: 8192}

// Defaults and bounds of a job's own settings.
const (
	DefaultTimeout   = 30 * time.Minute
	MaxTimeout       = 7 * 24 * time.Hour
	MaxCapacity      = 300
	MaxHeaders       = 64
	targetTypePOP    = "pop"
	targetTypeRegion = "region"
	targetTypeCtry   = "country"
)

// Selector chooses a job's POPs from a target type and the user's keys. The
// POP catalog implements it.
type Selector interface {
	Select(targetType string, keys []string) ([]Target, error)
	// Countries is the ISO codes a country or region job's keys denote,
	// for a job that discovers its edges in those countries.
	Countries(targetType string, keys []string) ([]string, error)
}

// JobSpec is a job request as the user sent it, decoded but not yet checked.
type JobSpec struct {
	URLs           []string
	CFDomain       string
	TargetType     string
	POPs           []string
	Countries      []string
	Regions        []string
	TimeoutMinutes *float64
	Headers        []string
	InstanceCount  *int
	NeedInvalidate bool
	DistributionID string
	Verify         *bool // default true
	Encodings      []string
	Expand         []string
	MaxConcurrency *int
	MaxRPS         *float64
	TierFirst      *bool // default true
	Priority       string
	Name           string
	// Owner is the name of the API key that submitted the job; set by the
	// server, never by the request.
	Owner     string
	NotifyURL string
	// ChangedSince is an RFC 3339 time or a date (YYYY-MM-DD, UTC).
	ChangedSince string
	// ScheduleID links a run to the schedule that started it.
	ScheduleID string
	// Discover is "ecs" to find the edges of each target country by DNS,
	// "none" to not, or "" for the server's default.
	Discover string
	// Vantage is "agents" to fetch each POP's tasks from agents located
	// there, "anywhere" (or "") from any agent.
	Vantage string
	// KeepWarmUntil is an RFC 3339 time; RefreshHeader a "Name: value"
	// header sent on re-warms (see keepwarm.go).
	KeepWarmUntil string
	RefreshHeader string
	// KeepWarmFor is the relative form of KeepWarmUntil (a Go duration,
	// "2h"), counted from the job's creation: what a schedule's job gives,
	// so that each run keeps warm for as long after its own start.
	KeepWarmFor string `json:",omitempty"`
}

// ExpandKinds are the documents a job can expand.
var ExpandKinds = []string{"hls", "dash", "sitemap"}

// NewJob checks a spec and builds the job it asks for, with its de-duplicated
// URL list. Every problem is an *InputError naming the field, or an
// *InvalidURLsError listing the URLs that are not absolute http(s) URLs.
func NewJob(spec JobSpec, sel Selector, lim Limits, id string, now time.Time) (*Job, []string, error) {
	urls, err := cleanURLs(spec.URLs, lim)
	if err != nil {
		return nil, nil, err
	}
	now = now.UTC()
	job := &Job{ID: id, Status: StatusCreated, Owner: spec.Owner, ScheduleID: spec.ScheduleID, NeedInvalidate: spec.NeedInvalidate, Verify: spec.Verify == nil || *spec.Verify,
		TierFirst: spec.TierFirst == nil || *spec.TierFirst, URLCount: len(urls), CreatedAt: now, UpdatedAt: now}
	for _, step := range []func() error{
		func() (err error) { job.TargetType, job.Targets, err = selectTargets(spec, sel, lim); return },
		func() (err error) { job.CFDomain, err = cleanCFDomain(spec.CFDomain, job.Targets); return },
		func() (err error) { job.Timeout, err = jobTimeout(spec.TimeoutMinutes); return },
		func() (err error) { job.Headers, err = cleanHeaders(spec.Headers); return },
		func() error { return checkInstanceCount(spec.InstanceCount) },
		func() (err error) { job.Encodings, err = cleanEncodings(spec.Encodings); return },
		func() (err error) { job.Expand, err = cleanExpand(spec.Expand); return },
		func() (err error) { job.DistributionID, err = cleanDistributionID(spec.DistributionID); return },
		func() (err error) {
			job.MaxConcurrency, job.MaxRPS, err = cleanBudget(spec.MaxConcurrency, spec.MaxRPS)
			return
		},
		func() (err error) { job.Priority, err = cleanPriority(spec.Priority); return },
		func() (err error) { job.Name, err = cleanName(spec.Name); return },
		func() (err error) { job.Notify, err = cleanNotify(spec.NotifyURL, lim); return },
		func() (err error) {
			job.ChangedSince, err = cleanChangedSince(spec.ChangedSince, job.Expand, now)
			return
		},
		func() (err error) { job.Vantage, err = cleanVantage(spec.Vantage); return },
		func() (err error) {
			job.KeepWarmUntil, job.RefreshHeader, err = cleanKeepWarm(spec.KeepWarmUntil, spec.KeepWarmFor, spec.RefreshHeader, now)
			return
		},
	} {
		if err := step(); err != nil {
			return nil, nil, err
		}
	}
	job.TimeoutAt = now.Add(job.Timeout)
	return job, urls, nil
}

// cleanCFDomain checks the domain that chooses the CloudFront POPs'
// addresses: required unless every target is an edge of the edges file.
func cleanCFDomain(raw string, targets []Target) (string, error) {
	cf := strings.TrimSpace(raw)
	if cf == "" {
		for _, t := range targets {
			if t.Discover != "" {
				return "", Invalid("cf_domain", "is required to discover edges: the CDN host name to resolve for clients in %s (such as www.example.com.cdn.example.net)", t.Code)
			}
			if !t.Edge {
				return "", Invalid("cf_domain", "is required to reach CloudFront POPs such as %s (the distribution's domain, e.g. d111111abcdef8.cloudfront.net)", t.Code)
			}
		}
		return "", nil
	}
	if !validHostName(cf) {
		return "", Invalid("cf_domain", "%q is not a host name", cf)
	}
	return strings.ToLower(strings.TrimSuffix(cf, ".")), nil
}

// targetTypeOf is the job's target type: as given, or, when left out, the
// kind of the one list given. A list the target type does not read would
// be dropped without a word: it is refused.
func targetTypeOf(spec JobSpec) (string, error) {
	lists := map[string][]string{targetTypePOP: spec.POPs, targetTypeCtry: spec.Countries, targetTypeRegion: spec.Regions}
	var given []string
	for _, kind := range []string{targetTypePOP, targetTypeCtry, targetTypeRegion} {
		if len(lists[kind]) > 0 {
			given = append(given, kind)
		}
	}
	tt := strings.ToLower(strings.TrimSpace(spec.TargetType))
	switch {
	case len(given) > 1:
		return "", Invalid(listField(given[1]), "give one of pops, countries and regions: a job targets one kind of list (%s and %s given)",
			listField(given[0]), listField(given[1]))
	case len(given) == 1 && tt == "":
		return given[0], nil
	case len(given) == 1 && tt != given[0] && (tt == targetTypePOP || tt == targetTypeCtry || tt == targetTypeRegion):
		return "", Invalid(listField(given[0]), "is given but target_type is %q, which reads %s: leave target_type out or give its list",
			tt, listField(tt))
	}
	return tt, nil
}

// selectTargets picks the job's POPs from its target type and the matching
// list.
func selectTargets(spec JobSpec, sel Selector, lim Limits) (string, []Target, error) {
	targetType, err := targetTypeOf(spec)
	if err != nil {
		return "", nil, err
	}
	discover, err := cleanDiscover(spec.Discover, targetType, lim)
	if err != nil {
		return "", nil, err
	}
	var keys []string
	switch targetType {
	case "", targetTypePOP:
		targetType, keys = targetTypePOP, spec.POPs
	case targetTypeCtry:
		keys = spec.Countries
	case targetTypeRegion:
		keys = spec.Regions
	default:
		return "", nil, Invalid("target_type", "%q is not one of pop, country, region", spec.TargetType)
	}
	var targets []Target
	if discover != "" {
		var countries []string
		if countries, err = sel.Countries(targetType, keys); err == nil {
			targets = discoverTargets(discover, countries)
		}
	} else {
		targets, err = sel.Select(targetType, keys)
	}
	if err != nil {
		return "", nil, err
	}
	if len(targets) == 0 {
		return "", nil, Invalid(listField(targetType), "selects no POP")
	}
	if len(targets) > lim.MaxTargets {
		return "", nil, &InputError{Field: listField(targetType), TooLarge: true,
			Msg: fmt.Sprintf("selects %d POPs; the limit is %d", len(targets), lim.MaxTargets)}
	}
	return targetType, targets, nil
}

func checkInstanceCount(n *int) error {
	if n == nil {
		return nil
	}
	return CheckCapacity("instance_count", *n)
}

// Bounds of a job's own budget.
const (
	MaxJobConcurrency = 100_000
	MaxJobRPS         = 1_000_000
)

// cleanBudget checks a job's max_concurrency and max_rps (absent: no
// limit).
func cleanBudget(concurrency *int, rps *float64) (int, float64, error) {
	var c int
	var r float64
	if concurrency != nil {
		if c = *concurrency; c < 1 || c > MaxJobConcurrency {
			return 0, 0, Invalid("max_concurrency", "%d is outside 1..%d (leave it out for no limit)", c, MaxJobConcurrency)
		}
	}
	if rps != nil {
		if r = *rps; !(r > 0) || r > MaxJobRPS {
			return 0, 0, Invalid("max_rps", "%v is outside (0, %d] (leave it out for no limit)", r, MaxJobRPS)
		}
	}
	return c, r, nil
}

// cleanPriority checks a job's priority; absent is normal.
func cleanPriority(raw string) (Priority, error) {
	switch p := Priority(strings.ToLower(strings.TrimSpace(raw))); p {
	case "":
		return PriorityNormal, nil
	case PriorityLow, PriorityNormal, PriorityHigh:
		return p, nil
	}
	return "", Invalid("priority", "%q is not one of low, normal, high", raw)
}

// MaxNameLen bounds a job's name: it is a label in listings.
const MaxNameLen = 200

// cleanName checks a job's name: one line of printable text.
func cleanName(raw string) (string, error) {
	name := strings.TrimSpace(raw)
	if len(name) > MaxNameLen {
		return "", Invalid("name", "%d bytes; the limit is %d", len(name), MaxNameLen)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return "", Invalid("name", "must be one line of printable text")
		}
	}
	return name, nil
}

func cleanDistributionID(raw string) (string, error) {
	dist := strings.TrimSpace(raw)
	if dist != "" && !validDistributionID(dist) {
		return "", Invalid("distribution_id", "%q is not a CloudFront distribution id (such as E2QWRUHAPOMQZL)", dist)
	}
	return dist, nil
}

// cleanEncodings checks the Accept-Encoding values to warm, one variant
// each: content codings such as br, gzip, zstd, deflate, or identity.
func cleanEncodings(raw []string) ([]string, error) {
	if len(raw) > 8 {
		return nil, Invalid("encodings", "%d values; the limit is 8", len(raw))
	}
	var out []string
	for i, e := range raw {
		e = strings.ToLower(strings.TrimSpace(e))
		if !validCoding(e) {
			return nil, Invalid(fmt.Sprintf("encodings[%d]", i), "%q is not a content coding (such as br, gzip or identity)", raw[i])
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// cleanChangedSince reads changed_since: a time or a date, in the past,
// for a job that expands sitemaps (the only documents that say when their
// URLs changed).
func cleanChangedSince(raw string, expand []string, now time.Time) (time.Time, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		if t, err = time.Parse(time.DateOnly, raw); err != nil {
			return time.Time{}, Invalid("changed_since", "%q is neither an RFC 3339 time (2026-11-28T20:00:00Z) nor a date (2026-11-28)", raw)
		}
	}
	if !slices.Contains(expand, "sitemap") {
		return time.Time{}, Invalid("changed_since", "applies to sitemaps, whose <lastmod> says what changed: add \"expand\": \"sitemap\"")
	}
	if t.After(now) {
		return time.Time{}, Invalid("changed_since", "%s is in the future", raw)
	}
	return t.UTC(), nil
}

// cleanNotify checks a job's notify_url: an absolute http(s) URL without
// credentials, on a server that can sign what it sends.
func cleanNotify(raw string, lim Limits) (Notification, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Notification{}, nil
	}
	if !validURL(raw, 2048) || hasUserinfo(raw) {
		return Notification{}, Invalid("notify_url", "must be an absolute http:// or https:// URL without credentials, up to 2048 characters")
	}
	if !lim.CanNotify {
		return Notification{}, Invalid("notify_url", "this server signs no notifications: start it with --webhook-secret to use notify_url")
	}
	return Notification{URL: raw, State: NotifyPending}, nil
}

// validCoding: a content coding's name, as registered ones are (br,
// x-gzip, aes128gcm, pack200-gzip): a letter, then letters, digits and
// hyphens. Anything else a spreadsheet could read as a formula.
func validCoding(s string) bool {
	if s == "" || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if r != '-' && r != '_' && r != '.' && (r < '0' || r > '9') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}

func cleanExpand(raw []string) ([]string, error) {
	var out []string
	for i, k := range raw {
		k = strings.ToLower(strings.TrimSpace(k))
		if !slices.Contains(ExpandKinds, k) {
			return nil, Invalid(fmt.Sprintf("expand[%d]", i), "%q is not one of hls, dash, sitemap", raw[i])
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// validDistributionID: CloudFront ids are upper-case letters and digits.
func validDistributionID(s string) bool {
	if len(s) < 8 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// CheckCapacity validates a desired instance count.
func CheckCapacity(field string, n int) error {
	if n < 0 || n > MaxCapacity {
		return Invalid(field, "%d is outside 0..%d", n, MaxCapacity)
	}
	return nil
}

func listField(targetType string) string {
	switch targetType {
	case targetTypeCtry:
		return "countries"
	case targetTypeRegion:
		return "regions"
	}
	return "pops"
}

// cleanURLs trims, checks and de-duplicates (keeping order) the URL list.
func cleanURLs(raw []string, lim Limits) ([]string, error) {
	if len(raw) == 0 {
		return nil, Invalid("url_list", "is required and must list at least one URL")
	}
	if len(raw) > lim.MaxURLs {
		return nil, tooManyURLs(len(raw), lim)
	}
	seen := make(map[string]struct{}, len(raw))
	urls := make([]string, 0, len(raw))
	var bad []string
	for i, u := range raw {
		// A fragment is never sent to a server: two URLs that differ only
		// in it are one object.
		u, _, _ = strings.Cut(strings.TrimSpace(u), "#")
		if !validURL(u, lim.MaxURLLen) {
			bad = append(bad, u)
			continue
		}
		if hasUserinfo(u) {
			return nil, Invalid(fmt.Sprintf("url_list[%d]", i), "holds credentials (user:password@): they would be "+
				"stored and shown in reports; send them as a header instead, \"Authorization: Basic …\"")
		}
		if _, dup := seen[u]; dup {
			continue
		}
		seen[u] = struct{}{}
		urls = append(urls, u)
	}
	if len(bad) > 0 {
		return nil, &InvalidURLsError{URLs: bad}
	}
	return urls, nil
}

// tooManyURLs refuses a list longer than a job may be, counting every
// entry (duplicates too): a list is refused before any of it is checked.
func tooManyURLs(n int, lim Limits) error {
	return &InputError{Field: "url_list", TooLarge: true,
		Msg: fmt.Sprintf("%d URLs; the limit is %d per job", n, lim.MaxURLs)}
}

// TooManyURLs is tooManyURLs for a list not yet read: the API refuses a
// body by counting its url_list entries before decoding them.
func (lim Limits) TooManyURLs(n int) error {
	if n > lim.MaxURLs {
		return tooManyURLs(n, lim)
	}
	return nil
}

func hasUserinfo(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.User != nil
}

func validURL(raw string, maxLen int) bool {
	if raw == "" || len(raw) > maxLen || strings.ContainsAny(raw, " \t\r\n") {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "" {
		return false
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return false
		}
	}
	return true
}

// validHostName accepts a DNS name (letters, digits, hyphens, underscores,
// dots) of sane length.
func validHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			ok := r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
			if !ok {
				return false
			}
		}
	}
	return true
}

func jobTimeout(minutes *float64) (time.Duration, error) {
	if minutes == nil {
		return DefaultTimeout, nil
	}
	m := *minutes
	if math.IsNaN(m) || math.IsInf(m, 0) || m <= 0 {
		return 0, Invalid("timeout", "must be a positive number of minutes")
	}
	d := time.Duration(m * float64(time.Minute))
	if d > MaxTimeout || d < time.Second {
		return 0, Invalid("timeout", "%v minutes is outside 1 second .. %d minutes", m, int(MaxTimeout/time.Minute))
	}
	return d, nil
}

// cleanHeaders checks "Name: value" entries. Host is refused: each fetch's
// Host is its URL's host, so that TLS and the CDN's routing agree.
func cleanHeaders(raw []string) ([]string, error) {
	if len(raw) > MaxHeaders {
		return nil, Invalid("header", "%d headers; the limit is %d", len(raw), MaxHeaders)
	}
	out := make([]string, 0, len(raw))
	for i, h := range raw {
		field := fmt.Sprintf("header[%d]", i)
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return nil, Invalid(field, "%q has no colon; write \"Name: value\"", h)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !validToken(name) {
			return nil, Invalid(field, "%q is not a valid header name", name)
		}
		if i := strings.IndexFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }); i >= 0 {
			return nil, Invalid(field, "the value of %s holds a control character (%U at byte %d)", name, value[i], i)
		}
		if strings.EqualFold(name, "Host") {
			return nil, Invalid(field, "Host cannot be set; each fetch uses its URL's host")
		}
		if slices.ContainsFunc(clientHeaders, func(h string) bool { return strings.EqualFold(h, name) }) {
			return nil, Invalid(field, "%s cannot be set; the HTTP client sets it on each fetch", name)
		}
		out = append(out, name+": "+value)
	}
	return out, nil
}

// clientHeaders are the framing and connection headers each fetch's
// HTTP client writes itself: a job's value would be dropped or break the
// request.
var clientHeaders = []string{"Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Proxy-Connection",
	"Upgrade", "TE", "Trailer"}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 126 || r <= 32 || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// ParseHeader splits a checked "Name: value" entry.
func ParseHeader(h string) (name, value string) {
	name, value, _ = strings.Cut(h, ":")
	return strings.TrimSpace(name), strings.TrimSpace(value)
}
