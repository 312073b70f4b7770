package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

const (
	testKey       = "right-key-0123456789"
	seededRunner  = "9a1c4e77-2b3d-4f5a-8e6b-7c8d9e0f1a2b" // the fake's frozen IN_PROGRESS job
	seededStep    = "6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e" // frozen while it invalidates, before warming
	seededTimeout = "c7d8e9f0-1a2b-4c3d-9e4f-5a6b7c8d9e0f" // timed out, with an unreachable POP
	seededStopped = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e" // stopped; did not verify its warms
	seededFailing = "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b" // finished with 379 of 600 tasks failed
)

// chromium finds Debian's chromium (or PREWARM_CHROMIUM). Without one the
// test is skipped, except under CI=true, where a missing browser is a
// broken machine, not a reason to pass.
func chromium(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("PREWARM_CHROMIUM"), "/usr/bin/chromium"}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			candidates = append(candidates, p)
		}
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c
		}
	}
	msg := "browser test needs chromium (apt-get install chromium, or set PREWARM_CHROMIUM)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// artifacts is where screenshots go: $PREWARM_ARTIFACTS, or a directory of
// the test's own.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PREWARM_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", dir)
	return dir
}

// tab drives one browser tab, failing the test with a screenshot when a
// step does not happen in time.
type tab struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	shot int
}

const stepTimeout = 20 * time.Second

func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// wait polls a JavaScript condition until it holds.
func (b *tab) wait(what, expr string, timeout time.Duration) {
	b.t.Helper()
	if ok, last := b.holds(expr, timeout); !ok {
		b.fail("timed out waiting for %s (%s); last error: %v", what, expr, last)
	}
}

// holds polls a JavaScript condition until it holds or timeout passes,
// and says which, with the last evaluation's error.
func (b *tab) holds(expr string, timeout time.Duration) (bool, error) {
	return poll(timeout, func() (bool, error) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
		return err == nil && ok, err
	})
}

// poll checks cond until it holds or timeout passes, and says which, with
// cond's last error.
func poll(timeout time.Duration, cond func() (bool, error)) (bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if ok || time.Now().After(deadline) {
			return ok, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settled holds once the page's fonts are in and its finite animations
// (the bars' transitions) are done; endless ones (a live dot) never end.
const settled = `document.fonts.status === 'loaded' && document.getAnimations().every(a =>
	a.playState !== 'running' || a.effect.getComputedTiming().endTime === Infinity)`

// cutOff lists what a reader of the page cannot see without scrolling
// sideways: the page or a box in it that scrolls sideways, and visible
// elements past the viewport's sides. What a box clips on purpose (a long
// URL that ends in an ellipsis) is not listed.
const cutOff = `(() => {
	const W = document.documentElement.clientWidth;
	const name = (e) => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '');
	const out = [];
	if (document.documentElement.scrollWidth > W) out.push('the page is ' + document.documentElement.scrollWidth + ' px wide');
	for (const e of document.querySelectorAll('main *')) {
		if (!e.checkVisibility()) continue;
		const ox = getComputedStyle(e).overflowX;
		if ((ox === 'auto' || ox === 'scroll') && e.scrollWidth > e.clientWidth + 1) {
			out.push(name(e) + ' scrolls sideways (' + e.scrollWidth + ' px in ' + e.clientWidth + ')');
		}
		const r = e.getBoundingClientRect();
		if (r.width === 0 || (r.left >= -0.5 && r.right <= W + 0.5)) continue;
		let a = e.parentElement;
		while (a && a !== document.body && getComputedStyle(a).overflowX === 'visible') a = a.parentElement;
		if (!a || a === document.body) out.push(name(e) + ' spans ' + Math.round(r.left) + '..' + Math.round(r.right) + ' px of ' + W);
	}
	return out;
})()`

// fits fails the test where what the page shows is cut off at the sides.
func (b *tab) fits(what string) {
	b.t.Helper()
	if cut := eval[[]string](b, cutOff); len(cut) > 0 {
		b.t.Errorf("%s is cut off at the sides: %q", what, cut)
	}
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	return eval[string](b, `(document.querySelector(`+js(sel)+`)?.textContent ?? '').trim()`)
}

// open follows a hash route, as a link would, then takes the steps given.
func (b *tab) open(what, hash string, then ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.do("open "+what, append([]chromedp.Action[chromedp.Void]{chromedp.Evaluate[chromedp.Void](`location.hash = ` + js(hash))}, then...)...)
}

// jobShown holds when the job page shows a job in status with as many
// POP rows.
func jobShown(status string, pops int) string {
	return fmt.Sprintf(`document.querySelector('[data-ref=status]')?.dataset.status === %s && document.querySelectorAll('.pops-table tbody tr').length === %d`, js(status), pops)
}

// textIs checks an element's trimmed text.
func (b *tab) textIs(what, sel, want string) {
	b.t.Helper()
	if got := b.text(sel); got != want {
		b.t.Errorf("%s %q, want %q", what, got, want)
	}
}

func (b *tab) visible(sel string) bool {
	b.t.Helper()
	return eval[bool](b, `(() => { const e = document.querySelector(`+js(sel)+`); return !!e && e.checkVisibility(); })()`)
}

func (b *tab) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// set replaces a field's value as typing would, input event included.
// (chromedp.SetValue cannot set an empty value.)
func (b *tab) set(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector(` + js(sel) + `); e.value = ` + js(value) +
		`; e.dispatchEvent(new Event('input', {bubbles: true})); })()`)
}

func (b *tab) screenshot(name string) {
	b.t.Helper()
	// At rest, as far as a few seconds allow; a page that never settles
	// is captured as it is.
	b.holds(settled, 5*time.Second)
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	// From the top: a full-page capture of a scrolled page would draw the
	// sticky top bar where the viewport happened to be.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)); err != nil {
		b.t.Errorf("screenshot %s: scroll to the top: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	b.shot++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shot, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
	}
}

func (b *tab) fail(format string, args ...any) {
	b.t.Helper()
	b.screenshot("FAILED")
	b.t.Fatalf(format, args...)
}

func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// console collects what the page logs, to catch exceptions and CSP
// violations that would otherwise pass unseen.
type console struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func (c *console) problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
			out = append(out, m.String())
		}
	}
	return out
}

func TestDashboardInBrowser(t *testing.T) {
	exe := chromium(t)
	if testing.Short() {
		t.Skip("browser test: skipped in -short mode")
	}
	dir := artifacts(t)

	api := newFakeAPI(t, testKey)
	mux := http.NewServeMux()
	api.mount(mux)
	ui := Handler(Options{Version: "v0.9.0-test"})
	for _, p := range Routes() {
		mux.Handle(p, ui)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.String(), testKey) {
			t.Errorf("the API key is in a URL: %s", r.URL)
		}
		mux.ServeHTTP(w, r)
	}))
	defer srv.Close()

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, 900),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // starts the browser, without a deadline
		t.Fatalf("start chromium: %v", err)
	}
	b := &tab{t: t, ctx: ctx, dir: dir}

	var logs console
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			logs.mu.Lock()
			logs.msgs = append(logs.msgs, m)
			logs.mu.Unlock()
		}
	}()

	// Sign-in: a wrong key is refused with the API's message and not kept.
	b.do("open the dashboard", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#signin-key")))
	if title := eval[string](b, `document.title`); !strings.Contains(title, "prewarm") {
		t.Errorf("title %q", title)
	}
	b.screenshot("signin")
	b.do("type a wrong key", chromedp.SendKeys(chromedp.CSS("#signin-key"), "wrong-key"))
	b.click(".signin button[type=submit]")
	b.wait("the wrong-key message", `document.querySelector('.signin [data-ref=error]')?.textContent.includes('invalid API key')`, 10*time.Second)
	if got := eval[string](b, `sessionStorage.getItem('prewarm.apiKey') ?? ''`); got != "" {
		t.Errorf("a refused key was kept: %q", got)
	}
	b.screenshot("signin-wrong-key")

	// The right key opens the jobs list, kept in sessionStorage only.
	b.do("type the right key", b.set("#signin-key", ""), chromedp.SendKeys(chromedp.CSS("#signin-key"), testKey))
	b.click(".signin button[type=submit]")
	b.wait("the jobs list", `document.querySelectorAll('.jobs-table tbody tr').length === 8`, 10*time.Second)
	if got := eval[string](b, `sessionStorage.getItem('prewarm.apiKey')`); got != testKey {
		t.Errorf("sessionStorage key = %q", got)
	}
	if n := eval[int](b, `localStorage.length + document.cookie.length`); n != 0 {
		t.Errorf("the key leaked into localStorage or a cookie")
	}
	statuses := eval[[]string](b, `[...document.querySelectorAll('.jobs-table .badge')].map(e => e.dataset.status)`)
	for _, s := range []string{"CREATED", "IN_PROGRESS", "FINISHED", "TIMEOUT", "STOPPED", "FAILED"} {
		if !slices.Contains(statuses, s) {
			t.Errorf("jobs list has no %s badge: %v", s, statuses)
		}
	}
	// Each status has its own colour.
	colours := eval[[]string](b, `[...document.querySelectorAll('.jobs-table .badge')].map(e => getComputedStyle(e).color)`)
	if slices.Sort(colours); len(slices.Compact(colours)) != 6 {
		t.Errorf("badge colours are not distinct: %v", colours)
	}
	// A job that finished with failed tasks does not wear the clean
	// finish's badge: it says how many failed, in amber.
	finished := eval[[]string](b, `['5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9', '`+seededFailing+`'].map(id => document.querySelector('tr[data-href="#/jobs/' + id + '"] .badge'))
		.map(e => e.textContent + '|' + getComputedStyle(e).color)`)
	timedOut := eval[string](b, `getComputedStyle(document.querySelector('tr[data-href="#/jobs/`+seededTimeout+`"] .badge')).color`)
	if clean, failing, ok := strings.Cut(finished[0], "|"); !ok || clean != "Finished" || !strings.HasPrefix(finished[1], "Finished · 379 failed|") ||
		strings.HasSuffix(finished[1], "|"+failing) || !strings.HasSuffix(finished[1], "|"+timedOut) {
		t.Errorf("finished badges (clean, with failures) %q, want the second amber as a timeout's (%s)", finished, timedOut)
	}
	// A job is listed by its domain, with a short id and what it targets;
	// a job in a step before warming says so.
	runner := eval[[]string](b, `(() => { const r = document.querySelector('tr[data-href="#/jobs/`+seededRunner+`"]');
		return ['[data-f=link]', '[data-f=id]', '[data-f=scope]'].map(s => r.querySelector(s).textContent); })()`)
	if !slices.Equal(runner, []string{"d3kx9premiere.cloudfront.net", "9a1c4e77", "120 URLs × 6 POPs"}) {
		t.Errorf("running job's row says %q", runner)
	}
	// A job with a name is listed by it, with its domain beside what it
	// targets; one without shows no domain twice.
	named := eval[[]string](b, `['`+seededFailing+`', '`+seededRunner+`'].map(id => document.querySelector('tr[data-href="#/jobs/' + id + '"]'))
		.map(r => ['link', 'id', 'domain', 'scope'].map(s => r.querySelector('[data-f=' + s + ']')).map(e => e.checkVisibility() ? e.textContent : '-').join('|'))`)
	if want := []string{"Season 2 trailers|f1e2d3c4|d6trailers.cloudfront.net|100 URLs × 6 POPs", "d3kx9premiere.cloudfront.net|9a1c4e77|-|120 URLs × 6 POPs"}; !slices.Equal(named, want) {
		t.Errorf("rows of a named job and of one without a name\n got %q\nwant %q", named, want)
	}
	if got := eval[string](b, `document.querySelector('tr[data-href="#/jobs/`+seededStep+`"] [data-f=message][data-step]')?.textContent ?? ''`); got != "Invalidating 64 URLs at 5 POPs before warming" {
		t.Errorf("invalidating job's row step %q", got)
	}
	// Its bar tells verified (green) from fetched-but-not-cached (amber).
	if w := eval[string](b, `document.querySelector('tr[data-href="#/jobs/`+seededTimeout+`"] .bar-warn').style.getPropertyValue('--w')`); w == "" || w == "0.00%" {
		t.Errorf("timed-out job's amber bar segment is %q", w)
	}
	b.wait("the fleet pill", `document.querySelector('[data-ref=fleet-text]')?.textContent.includes('2 agents active')`, 10*time.Second)
	b.wait("the live indicator", `['live','idle'].includes(document.getElementById('live').dataset.state)`, 10*time.Second)
	b.screenshot("jobs")

	// Filter by status.
	b.click(`a.chip[data-status=FINISHED]`)
	b.wait("the FINISHED filter", `location.hash === '#/jobs?status=FINISHED' && document.querySelectorAll('.jobs-table tbody tr').length === 2`, 10*time.Second)
	b.click(`a.chip[data-status=STOPPED]`)
	b.wait("the STOPPED filter", `document.querySelectorAll('.jobs-table tbody tr[data-status=STOPPED]').length === 1 && document.querySelectorAll('.jobs-table tbody tr').length === 1`, 10*time.Second)

	// Submit: invalid URLs come back listed, inline.
	b.click(`a[data-nav=new]`)
	b.do("open the form", chromedp.WaitVisible(chromedp.CSS("#f-urls")))
	if !eval[bool](b, `document.querySelector('input[name=verify]').checked && !document.querySelector('input[name=need_invalidate]').checked`) {
		t.Error("the form does not start with verify on and invalidate off")
	}
	if b.visible("#f-dist") {
		t.Error("distribution id shown before Invalidate first is checked")
	}
	// No domain: the form sends none, and the server's refusal, naming
	// cf_domain for a CloudFront POP, marks that field.
	b.do("fill the form without a domain", b.set("#f-urls", "https://cdn.example.com/patch/1.5.0/base.pak"))
	b.click(`.form button[type=submit]`)
	b.wait("cf_domain marked", `document.querySelector('#f-domain').getAttribute('aria-invalid') === 'true'`, 10*time.Second)
	if msg := b.text(".form [data-ref=error-text]"); !strings.Contains(msg, "cf_domain: is required to reach CloudFront POPs") {
		t.Errorf("no-domain message %q", msg)
	}
	b.do("fill the form with a bad URL", b.set("#f-urls", ""),
		chromedp.SendKeys(chromedp.CSS("#f-urls"), "https://cdn.example.com/patch/1.5.0/base.pak\nftp://cdn.example.com/patch/1.5.0/bad.pak"),
		chromedp.SendKeys(chromedp.CSS("#f-domain"), "d111111abcdef8.cloudfront.net"),
	)
	b.click(`input[name=verify]`) // off: the one option sent when unset
	b.click(`.form button[type=submit]`)
	b.wait("the invalid URL list", `document.querySelector('[data-ref=error-urls] li')?.textContent === 'ftp://cdn.example.com/patch/1.5.0/bad.pak'`, 10*time.Second)
	if msg := b.text(".form [data-ref=error-text]"); !strings.Contains(msg, "Invalid URLs") {
		t.Errorf("invalid URL message %q", msg)
	}
	b.screenshot("new-job-invalid-urls")

	// The job's budget is checked in the browser, naming the field.
	b.do("fill the form for a dry run",
		b.set("#f-urls", "https://cdn.example.com/patch/1.5.0/base.pak\nhttps://cdn.example.com/patch/1.5.0/maps.pak\nhttps://cdn.example.com/patch/1.5.0/missing.pak"),
		b.set("#f-pops", "IAD89-P1 JFK50-P2, FRA60-P1 XYZ1-P1"),
		b.set("#f-max-concurrency", "0"),
	)
	b.click(`[data-ref=dry-run]`)
	b.wait("the max in flight message", `document.querySelector('.form [data-ref=error-text]')?.textContent.startsWith('Max in flight is a whole number') &&
		document.activeElement.id === 'f-max-concurrency' && document.activeElement.getAttribute('aria-invalid') === 'true'`, 5*time.Second)
	b.do("set a budget with a bad rate", b.set("#f-max-concurrency", "3"), b.set("#f-max-rps", "-2"))
	b.click(`[data-ref=dry-run]`)
	b.wait("the max rate message", `document.querySelector('.form [data-ref=error-text]')?.textContent.startsWith('Max rate is a number') &&
		document.activeElement.id === 'f-max-rps' && document.activeElement.getAttribute('aria-invalid') === 'true'`, 5*time.Second)

	// A name is limited in bytes, as the server counts them, not in the
	// characters the browser counts.
	b.do("name the job past 200 bytes", b.set("#f-max-rps", "20"), b.set("#f-name", strings.Repeat("é", 101)))
	b.click(`[data-ref=dry-run]`)
	b.wait("the name's length message", `document.querySelector('.form [data-ref=error-text]')?.textContent === 'The name is 202 bytes long; the limit is 200.' &&
		document.activeElement.id === 'f-name' && document.activeElement.getAttribute('aria-invalid') === 'true'`, 5*time.Second)
	b.do("clear the name", b.set("#f-name", ""))

	// Keep warm, the refresh header and discover are checked as the API
	// checks them, naming the field.
	formError := func(what, field, prefix string) {
		b.t.Helper()
		b.click(`[data-ref=dry-run]`)
		b.wait(what, `document.querySelector('.form [data-ref=error-text]')?.textContent.startsWith(`+js(prefix)+`) &&
			document.activeElement.id === `+js(field)+` && document.activeElement.getAttribute('aria-invalid') === 'true'`, 5*time.Second)
	}
	b.do("keep warm for a while", b.set("#f-keep-warm", "a while"))
	formError("the keep-warm message", "f-keep-warm", "“a while” is neither a duration (90m, 2h, 48h) nor an RFC 3339 time")
	b.do("keep warm too long", b.set("#f-keep-warm", "200h"))
	formError("the keep-warm limit", "f-keep-warm", "200h is more than 168h; use a schedule for longer")
	b.do("keep warm until the past", b.set("#f-keep-warm", "2020-01-01T00:00:00Z"))
	formError("the keep-warm past", "f-keep-warm", "2020-01-01T00:00:00Z is not in the future")
	b.do("a refresh header alone", b.set("#f-keep-warm", ""), b.set("#f-refresh-header", "X-Prewarm-Refresh: 1"))
	formError("the refresh header message", "f-refresh-header", "The refresh header applies to re-warms: set Keep warm too.")
	b.do("discover by DNS with POPs", b.set("#f-refresh-header", ""), b.set("#f-discover", "ecs"))
	formError("the discover message", "f-discover", "“ecs” finds edges by country")
	b.do("no discover", b.set("#f-discover", ""))

	// A dry run posts the same body with "dry_run": true and shows the
	// plan below the form: POPs in tiers, totals, failing URLs, notes.
	b.do("set a rate", b.set("#f-max-rps", "20"))
	b.click(`[data-ref=dry-run]`)
	b.wait("the plan", `document.querySelector('[data-ref=plan]')?.checkVisibility() && document.querySelectorAll('[data-ref=plan-rows] tr').length === 4 &&
		document.activeElement.id === 'plan-title'`, 10*time.Second)
	if b.visible(".form [data-ref=error]") {
		t.Errorf("the form still shows an error: %q", b.text(".form [data-ref=error-text]"))
	}
	totals := eval[[]string](b, `['p-urls', 'p-pops', 'p-tasks', 'p-bytes', 'p-origin'].map(r => document.querySelector('[data-ref=' + r + ']').textContent)`)
	if want := []string{"3", "3 of 4", "9", "222 MiB", "4"}; !slices.Equal(totals, want) {
		t.Errorf("plan totals (URLs, usable POPs, tasks, bytes, origin fetches) %q, want %q", totals, want)
	}
	planPOPs := eval[[]string](b, `[...document.querySelectorAll('[data-ref=plan-rows] tr')].map(r => ['code', 'tier', 'error'].map(f => r.querySelector('[data-f=' + f + ']').textContent).join('|'))`)
	if want := []string{"IAD89-P1|Top tier|", "JFK50-P2|after IAD89-P1|", "FRA60-P1|Top tier|", "XYZ1-P1|—|does not resolve"}; !slices.Equal(planPOPs, want) {
		t.Errorf("plan POPs %q, want %q", planPOPs, want)
	}
	b.textIs("plan's failing URL", "[data-ref=plan-failed] li", "https://cdn.example.com/patch/1.5.0/missing.pak")
	b.textIs("plan notes", "[data-ref=plan-notes]", "1 of 4 POPs cannot be used; the totals leave them out")
	b.screenshot("new-job-dry-run")
	// Nothing was created, and the page stays on the form.
	api.mu.Lock()
	jobs, submits, dryRuns := len(api.order), len(api.submits), slices.Clone(api.dryRuns)
	api.mu.Unlock()
	if jobs != 8 || submits != 2 || len(dryRuns) != 1 {
		t.Fatalf("after a dry run: %d jobs, %d submissions, %d dry runs; want 8, 2, 1", jobs, submits, len(dryRuns))
	}
	if hash := eval[string](b, `location.hash`); hash != "#/new" {
		t.Errorf("a dry run left the form for %s", hash)
	}
	wantDry := map[string]any{
		"url_list":        []any{"https://cdn.example.com/patch/1.5.0/base.pak", "https://cdn.example.com/patch/1.5.0/maps.pak", "https://cdn.example.com/patch/1.5.0/missing.pak"},
		"cf_domain":       "d111111abcdef8.cloudfront.net",
		"target_type":     "pop",
		"pops":            []any{"IAD89-P1", "JFK50-P2", "FRA60-P1", "XYZ1-P1"},
		"timeout":         float64(30),
		"verify":          false,
		"max_concurrency": float64(3),
		"max_rps":         float64(20),
		"dry_run":         true,
	}
	if got := normJSON(t, dryRuns[0]); got != mustJSON(t, wantDry) {
		t.Errorf("dry run body\n got %s\nwant %s", got, mustJSON(t, wantDry))
	}

	// Changing the form marks the plan as stale; tier first off is sent
	// as such, and plans no tiers.
	b.click(`input[name=tier_first]`)
	b.wait("the stale plan", `document.querySelector('[data-ref=plan]').hasAttribute('data-stale') && document.querySelector('[data-ref=plan-stale]').checkVisibility()`, 5*time.Second)
	b.click(`[data-ref=dry-run]`)
	b.wait("the plan without tiers", `!document.querySelector('[data-ref=plan]').hasAttribute('data-stale') && document.querySelector('[data-ref=p-origin]').textContent === '6' &&
		!document.querySelector('[data-ref=plan-table] th.col-tier').checkVisibility()`, 10*time.Second)
	api.mu.Lock()
	if n := len(api.dryRuns); n != 2 || !strings.Contains(string(api.dryRuns[1]), `"tier_first":false`) {
		t.Errorf("second dry run (%d in all) body %s, want tier_first false", n, api.dryRuns[n-1])
	}
	api.mu.Unlock()
	b.click(`input[name=tier_first]`) // back on: the default, so not sent

	urls := []string{
		"https://cdn.example.com/patch/1.5.0/base.pak",
		"https://cdn.example.com/patch/1.5.0/maps.pak",
		"https://cdn.example.com/patch/1.5.0/audio.pak",
		"https://cdn.example.com/patch/1.5.0/manifest.json",
	}
	b.do("fill the form",
		b.set("#f-urls", ""),
		chromedp.SendKeys(chromedp.CSS("#f-urls"), strings.Join(urls, "\n")),
		b.set("#f-pops", ""),
		chromedp.SendKeys(chromedp.CSS("#f-pops"), "IAD89-P1, FRA60-P1 NRT57-P3,LHR61-P3"),
		b.set("#f-timeout", "45"),
		chromedp.SendKeys(chromedp.CSS("#f-headers"), "Accept-Encoding: gzip\nX-Warm: launch-1.5"),
		chromedp.SendKeys(chromedp.CSS("#f-encodings"), "br, gzip"),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "  Patch 1.5.0 for Europe "),
		b.set("#f-keep-warm", "6h"),
		b.set("#f-refresh-header", "X-Prewarm-Refresh: 1"),
		b.set("#f-vantage", "agents"),
	)
	b.click(`input[name=priority][value=high]`)
	b.click(`input[name=verify]`) // back on: the default, so not sent
	b.click(`input[name=expand][value=hls]`)
	b.click(`input[name=need_invalidate]`)
	b.wait("the distribution id field", `document.getElementById('f-dist').checkVisibility()`, 5*time.Second)
	b.do("fill the distribution id", chromedp.SendKeys(chromedp.CSS("#f-dist"), "E2QWRUHAPOMQZL"))
	b.wait("the URL count", `document.querySelector('[data-ref=url-count]').textContent === '4 URLs.'`, 5*time.Second)
	b.screenshot("new-job")
	b.click(`.form button[type=submit]`)
	b.wait("the new job's page", `location.hash.startsWith('#/jobs/d4e5f6a7-')`, 10*time.Second)

	api.mu.Lock()
	if len(api.submits) != 3 {
		t.Fatalf("fake API got %d submissions, want 3", len(api.submits))
	}
	var noDomain, first, sent map[string]any
	for i, v := range []*map[string]any{&noDomain, &first, &sent} {
		if err := json.Unmarshal(api.submits[i], v); err != nil {
			t.Fatal(err)
		}
	}
	api.mu.Unlock()
	// An empty domain is left out, for the server to judge.
	wantNoDomain := map[string]any{
		"url_list":    []any{"https://cdn.example.com/patch/1.5.0/base.pak"},
		"target_type": "pop",
		"pops":        []any{},
		"timeout":     float64(30),
	}
	if got, _ := json.Marshal(noDomain); string(got) != mustJSON(t, wantNoDomain) {
		t.Errorf("POST /prewarm body without a domain\n got %s\nwant %s", got, mustJSON(t, wantNoDomain))
	}
	// Options go out only when set: the first try turned verify off and
	// touched nothing else.
	wantFirst := map[string]any{
		"url_list":    []any{"https://cdn.example.com/patch/1.5.0/base.pak", "ftp://cdn.example.com/patch/1.5.0/bad.pak"},
		"cf_domain":   "d111111abcdef8.cloudfront.net",
		"target_type": "pop",
		"pops":        []any{},
		"timeout":     float64(30),
		"verify":      false,
	}
	if got, _ := json.Marshal(first); string(got) != mustJSON(t, wantFirst) {
		t.Errorf("first POST /prewarm body\n got %s\nwant %s", got, mustJSON(t, wantFirst))
	}
	want := map[string]any{
		"url_list":        []any{urls[0], urls[1], urls[2], urls[3]},
		"cf_domain":       "d111111abcdef8.cloudfront.net",
		"target_type":     "pop",
		"pops":            []any{"IAD89-P1", "FRA60-P1", "NRT57-P3", "LHR61-P3"},
		"timeout":         float64(45),
		"header":          []any{"Accept-Encoding: gzip", "X-Warm: launch-1.5"},
		"need_invalidate": true,
		"distribution_id": "E2QWRUHAPOMQZL",
		"encodings":       []any{"br", "gzip"},
		"expand":          []any{"hls"},
		"max_concurrency": float64(3),
		"max_rps":         float64(20),
		"name":            "Patch 1.5.0 for Europe",
		"priority":        "high",
		"keep_warm_for":   "6h",
		"refresh_header":  "X-Prewarm-Refresh: 1",
		"vantage":         "agents",
	}
	if got, _ := json.Marshal(sent); string(got) != mustJSON(t, want) {
		t.Errorf("POST /prewarm body\n got %s\nwant %s", got, mustJSON(t, want))
	}

	// It expands and invalidates before it warms: the page shows the step
	// it is in, in place of the progress it does not make yet.
	b.wait("the current step", `document.querySelector('[data-ref=step]')?.checkVisibility() && /^(Expanding 4 URLs \(hls\)|Invalidating 4 URLs at 4 POPs before warming)$/.test(document.querySelector('[data-ref=step-text]').textContent)`, 10*time.Second)

	// The job page follows the job to FINISHED on its own.
	b.wait("the job running, held to its budget", `document.querySelector('[data-ref=status]')?.dataset.status === 'IN_PROGRESS' && +document.querySelector('[data-ref=pct]').textContent > 0 &&
		document.querySelector('[data-ref=waiting-text]').textContent === "The job: this agent's share of its budget is in use (3 in flight here; the budget: at most 3 in flight)"`, 10*time.Second)
	if !b.visible("[data-ref=stop]") {
		t.Error("no stop button while the job runs")
	}
	// Once a few polls are in, the page shows a rate and an estimate (the
	// job may also have finished by then on a slow machine).
	b.wait("the rate", `!document.querySelector('[data-ref=rate]').hidden || document.querySelector('[data-ref=status]').dataset.status === 'FINISHED'`, 15*time.Second)
	b.screenshot("job-running")
	b.wait("the job to finish", `document.querySelector('[data-ref=status]')?.dataset.status === 'FINISHED'`, 30*time.Second)
	b.wait("the failed URL in the summary", `document.querySelector('[data-ref=furls] li')?.textContent === `+js(urls[3]), 10*time.Second)
	if b.visible("[data-ref=stop]") {
		t.Error("stop button shown for a finished job")
	}
	b.textIs("finished job's percentage", "[data-ref=pct]", "100")
	b.textIs("failed count", "[data-ref=s-failed]", "1")
	// 4 URLs × 2 encodings × 4 POPs: one failed, two fetched but not
	// cached (the third URL at IAD89-P1, in both encodings).
	stats := eval[[]string](b, `['s-total', 's-ok', 's-verified', 's-notcached'].map(r => document.querySelector('[data-ref=' + r + ']').textContent)`)
	if !slices.Equal(stats, []string{"32", "31", "29", "2"}) {
		t.Errorf("total, OK, verified, not cached = %v, want [32 31 29 2]", stats)
	}
	if b.visible("[data-ref=step]") {
		t.Error("the step is still shown after the job warmed")
	}
	if msg := b.text("[data-ref=message]"); !strings.Contains(msg, "on distribution E2QWRUHAPOMQZL completed") {
		t.Errorf("job message %q", msg)
	}
	if got := []string{b.text("[data-ref=title]"), b.text("[data-ref=domain]")}; !slices.Equal(got, []string{"Patch 1.5.0 for Europe", "d111111abcdef8.cloudfront.net"}) {
		t.Errorf("new job's title and domain %q", got)
	}
	b.textIs("request line", "[data-ref=request]", "Timeout 45 min · Headers Accept-Encoding, X-Warm · Invalidated first · Encodings br, gzip · Expand hls · Max 3 in flight · Max 20/s · Priority high · Verify on")
	if b.visible("[data-ref=waiting]") {
		t.Error("a finished job still says what it waits for")
	}
	if got := eval[string](b, `[...document.querySelectorAll('.pop-row')].find(r => r.querySelector('.pop-code').textContent === 'LHR61-P3')?.querySelector('[data-f=tier]').textContent`); got != "after FRA60-P1" {
		t.Errorf("LHR61-P3's tier %q, want after FRA60-P1", got)
	}
	legend := eval[[]string](b, `[...document.querySelectorAll('[data-ref=legend] li')].filter(e => e.checkVisibility()).map(e => e.textContent.trim())`)
	if !slices.Equal(legend, []string{"Verified cached", "Fetched, not proven cached", "Failed"}) {
		t.Errorf("bar legend %q", legend)
	}
	b.wait("the not-cached card", `document.querySelector('[data-ref=notcached]')?.checkVisibility() && document.querySelector('[data-ref=ncurls] li')?.textContent === `+js(urls[2]), 10*time.Second)
	if href := eval[string](b, `document.querySelector('[data-ref=notcached-csv]').href`); !strings.Contains(href, "tasks=all") {
		t.Errorf("not-cached card links %q, want the all-tasks CSV", href)
	}
	if w := b.text("[data-ref=warnings-list]"); !strings.HasPrefix(w, "Responses vary on Accept-Language") || !b.visible("[data-ref=warnings]") {
		t.Errorf("warnings %q", w)
	}

	// The per-POP table: folds and unfolds, one row per POP, the failing
	// POP marked.
	b.click(".pops summary")
	b.wait("the POP table folded", `!document.querySelector('[data-ref=pops-details]').open`, 5*time.Second)
	if b.visible(".pops-table") {
		t.Error("POP table visible while folded")
	}
	b.click(".pops summary")
	b.wait("the POP table open", `document.querySelector('[data-ref=pops-details]').open && document.querySelectorAll('.pops-table tbody tr').length === 4`, 5*time.Second)
	failing := eval[[]string](b, `[...document.querySelectorAll('.pop-row[data-state=failed] .pop-code')].map(e => e.textContent)`)
	if !slices.Equal(failing, []string{"LHR61-P3"}) {
		t.Errorf("failing POP rows %v, want [LHR61-P3]", failing)
	}
	warm := eval[int](b, `document.querySelectorAll('.pop-row[data-state=ok]').length`)
	if warm != 2 {
		t.Errorf("%d warm POPs, want 2", warm)
	}
	partial := eval[[]string](b, `[...document.querySelectorAll('.pop-row[data-state=partial]')].map(e => [e.querySelector('.pop-code').textContent,
		e.querySelector('[data-f=state]').textContent, e.querySelector('[data-f=verified]').textContent, e.querySelector('[data-f=notcached][data-caution]')?.textContent]).flat()`)
	if !slices.Equal(partial, []string{"IAD89-P1", "Partly cached", "6", "2"}) {
		t.Errorf("partly cached POP row %q, want IAD89-P1 with 6 verified and 2 (amber) not cached", partial)
	}
	b.screenshot("job-finished")

	// Download CSV: a real download of the signed link, without the key.
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads, EventsEnabled: new(true),
	}); err != nil {
		t.Fatalf("set download behavior: %v", err)
	}
	dctx, dcancel := context.WithTimeout(ctx, 20*time.Second)
	progress := chromedp.BrowserEvents(dctx, browser.DownloadProgress)
	b.click("a[data-ref=csv]")
	for ev, err := range progress {
		if err != nil {
			b.fail("no finished download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			b.fail("download canceled")
		}
	}
	dcancel()
	files, _ := filepath.Glob(filepath.Join(downloads, "*.csv"))
	if len(files) != 1 {
		t.Fatalf("downloaded files %v, want one CSV", files)
	}
	csv, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(csv), "pop,url,status_code") || !strings.Contains(string(csv), "LHR61-P3,"+urls[3]) {
		t.Errorf("downloaded CSV:\n%s", csv)
	}
	api.mu.Lock()
	if len(api.reports) != 1 || !strings.HasPrefix(api.reports[0], "/reports/d4e5f6a7-") {
		t.Errorf("report requests %v", api.reports)
	}
	api.mu.Unlock()

	// A job in its invalidation step, frozen there.
	b.open("an invalidating job", "#/jobs/"+seededStep)
	b.wait("the invalidation step", `document.querySelector('[data-ref=step-text]')?.textContent === 'Invalidating 64 URLs at 5 POPs before warming' && document.querySelectorAll('.pops-table tbody tr').length === 5`, 10*time.Second)
	trail := eval[[]string](b, `[...document.querySelectorAll('[data-ref=step-trail] li')].map(e => e.textContent + ':' + e.dataset.state)`)
	if !slices.Equal(trail, []string{"Expand:done", "Invalidate:current", "Warm:todo"}) {
		t.Errorf("step trail %q", trail)
	}
	if b.visible("[data-ref=message]") {
		t.Error("the step's message is shown twice")
	}
	b.textIs("request line", "[data-ref=request]", "Timeout 1 h · Invalidate first · Encodings br, gzip · Expand hls · Verify on")
	b.screenshot("job-invalidating")

	// Stop: a running job, confirmed in the page's own dialog.
	b.open("a running job", "#/jobs/"+seededRunner)
	b.wait("the running job", jobShown("IN_PROGRESS", 6), 10*time.Second)
	b.wait("the countdown", `document.querySelector('[data-ref=clock]').textContent.startsWith('Times out in')`, 5*time.Second)
	// It is held to a budget and waits for a host that asked it to pause:
	// the request line says the budget, and the page what it waits for.
	b.textIs("request line", "[data-ref=request]", "Timeout 30 min · Headers Accept-Language · Max 48 in flight · Max 20/s · Verify on")
	if got := b.text("[data-ref=waiting-text]"); !strings.HasPrefix(got, "Host video.example.com: paused until ") || !b.visible("[data-ref=waiting]") {
		t.Errorf("waiting %q, visible %v", got, b.visible("[data-ref=waiting]"))
	}
	b.wait("the host's pause among the warnings", `[...document.querySelectorAll('[data-ref=warnings-list] li')].some(e => e.textContent === 'video.example.com answered 429: paused 2s')`, 10*time.Second)
	// It warms tier first: each POP after the first of its region.
	tiers := eval[[]string](b, `[...document.querySelectorAll('.pop-row')].map(r => r.querySelector('.pop-code').textContent + ': ' + r.querySelector('[data-f=tier]').textContent)`)
	if want := []string{"IAD89-P1: Top tier", "JFK50-P2: after IAD89-P1", "LAX50-P1: after IAD89-P1", "LHR61-P3: Top tier",
		"FRA60-P1: after LHR61-P3", "NRT57-P3: Top tier"}; !slices.Equal(tiers, want) || !b.visible(".pops-table th.col-tier") {
		t.Errorf("POP tiers %q (column shown: %v), want %q", tiers, b.visible(".pops-table th.col-tier"), want)
	}
	// Its tasks in running batches are told apart from fetches in flight.
	if got := eval[[]string](b, `[...document.querySelectorAll('[data-ref=s-running-box] dt, [data-ref=lg-running-item]')].map(e => e.textContent.trim())`); !slices.Equal(got, []string{"In running batches", "In batches"}) ||
		!strings.Contains(eval[string](b, `document.querySelector('[data-ref=s-running-box]').title`), "fetches in flight") {
		t.Errorf("the running tasks are labelled %q", got)
	}
	b.screenshot("job-running-seeded")
	b.click("[data-ref=stop]")
	b.wait("the confirm dialog", `document.getElementById('confirm-dialog').open`, 5*time.Second)
	b.screenshot("job-stop-confirm")
	b.click("#confirm-ok")
	b.wait("the job stopped", `document.querySelector('[data-ref=status]')?.dataset.status === 'STOPPED' && document.querySelector('[data-ref=stop]').hidden`, 10*time.Second)
	api.mu.Lock()
	if !slices.Equal(api.stops, []string{seededRunner}) {
		t.Errorf("stop requests %v", api.stops)
	}
	api.mu.Unlock()
	if msg := b.text("[data-ref=message]"); msg != "Stopped by request" {
		t.Errorf("job message %q", msg)
	}
	if b.visible("[data-ref=waiting]") {
		t.Error("a stopped job still says what it waits for")
	}

	// Ended jobs with trouble: a timeout with a failing POP, and a job whose
	// POPs never resolved.
	b.open("a timed-out job", "#/jobs/"+seededTimeout)
	b.wait("the timed-out job", jobShown("TIMEOUT", 12)+` && document.querySelector('[data-ref=furls] li') && document.querySelector('[data-ref=ncurls] li')`, 10*time.Second)
	if msg := b.text("[data-ref=message]"); !strings.HasPrefix(msg, "Timed out after 30m0s") {
		t.Errorf("timed-out job message %q", msg)
	}
	// It warmed every POP at once: no tiers to show.
	b.textIs("request line", "[data-ref=request]", "Timeout 30 min · Headers User-Agent · Tier first off · Priority high · Verify on")
	if b.visible(".pops-table th.col-tier") {
		t.Error("the tier column is shown for a job that does not warm in tiers")
	}
	unreachable := eval[[]string](b, `[...document.querySelectorAll('.pop-row')].filter(r => r.querySelector('[data-f=state]').textContent === 'Unreachable').map(r => r.querySelector('.pop-code').textContent + ': ' + r.querySelector('[data-f=error]').textContent)`)
	if !slices.Equal(unreachable, []string{"MNL50-P1: dial tcp 18.64.66.44:443: i/o timeout"}) {
		t.Errorf("unreachable POP rows %q", unreachable)
	}
	if n, more := eval[int](b, `document.querySelectorAll('[data-ref=ncurls] li').length`), b.text("[data-ref=ncurls-more]"); n != 8 || !strings.HasPrefix(more, "and 6 more") {
		t.Errorf("not-cached card shows %d URLs and %q, want 8 and 6 more", n, more)
	}
	// Why they were not cached: reason by reason, most frequent first,
	// each with a count and one task as an example.
	reasons := eval[[]string](b, `[...document.querySelectorAll('[data-ref=reasons] li')].map(e => ['reason', 'count', 'url', 'pop'].map(f => e.querySelector('[data-f=' + f + ']').textContent).join('|'))`)
	if want := []string{
		"Cache-Control: no-store|77 tasks|https://cdn.example.com/launch/2.0.0/chunk-000.pak|SIN2-P1",
		"MISS when asked again after the warm|33 tasks|https://cdn.example.com/launch/2.0.0/chunk-015.pak|SIN2-P1",
		"The response sets a cookie (Set-Cookie)|33 tasks|https://cdn.example.com/launch/2.0.0/chunk-010.pak|SIN2-P1",
	}; !slices.Equal(reasons, want) {
		t.Errorf("not-cached reasons\n got %q\nwant %q", reasons, want)
	}
	b.textIs("not-cached card head", "[data-ref=notcached-summary]", "14 URLs · 3 reasons")
	// The POPs' line says what is true of them, each POP in every line
	// that holds for it.
	b.textIs("timed-out job's POPs summary", "[data-ref=pops-summary]", "12 POPs · 569 of 960 tasks verified · 11 with tasks not cached · 1 with failed tasks · 1 unreachable · 11 not finished")
	if n := eval[int](b, `document.querySelectorAll('[data-ref=warnings-list] li').length`); n != 2 {
		t.Errorf("%d warnings, want 2", n)
	}
	b.wait("the stop toast to go", `!document.querySelector('.toast')`, 10*time.Second)
	b.screenshot("job-timeout")
	b.click("[data-ref=pop-problems]")
	b.wait("only POPs with problems", `[...document.querySelectorAll('.pops-table tbody tr')].filter(r => !r.hidden).length === 12 - document.querySelectorAll('.pop-row[data-state=ok]').length`, 5*time.Second)
	// A job that finished with most of its tasks failed says so in its
	// badge, as in the list.
	b.open("a failure-heavy job", "#/jobs/"+seededFailing)
	b.wait("the failure-heavy job", jobShown("FINISHED", 6)+` && document.querySelector('[data-ref=furls] li')`, 10*time.Second)
	if got := eval[[]string](b, `(e => [e.textContent, e.dataset.tone ?? '', getComputedStyle(e).color])(document.querySelector('[data-ref=status]'))`); !slices.Equal(got, []string{"Finished · 379 failed", "failures", timedOut}) {
		t.Errorf("failure-heavy job's badge %q, want it amber (%s)", got, timedOut)
	}
	// Its name is the page's title, with the domain under it.
	if got := []string{b.text("[data-ref=title]"), b.text("[data-ref=domain]"), eval[string](b, `document.title`)}; !slices.Equal(got,
		[]string{"Season 2 trailers", "d6trailers.cloudfront.net", "Finished · 379 failed · Season 2 trailers — prewarm"}) {
		t.Errorf("named job's title, domain and document title %q", got)
	}
	// Most of its failures are URLs that answered 404 to the size probe,
	// so failed at every POP: not the POPs' fault, and not told as such.
	// Only SIN2-P1 has a failure of its own.
	popRows := eval[[]string](b, `[...document.querySelectorAll('.pop-row')].map(r => [r.querySelector('.pop-code').textContent, r.querySelector('[data-f=state]').textContent,
		r.querySelector('[data-f=error]').textContent, r.querySelector('[data-f=error]').hasAttribute('data-url'), r.querySelector('[data-f=failed]').hasAttribute('data-nonzero')].join('|'))`)
	urlsOnly := "63 URLs failed the size probe (HTTP 404), at every POP|true|false"
	if want := []string{"IAD89-P1|Warm|" + urlsOnly, "JFK50-P2|Warm|" + urlsOnly, "FRA60-P1|Warm|" + urlsOnly, "LHR61-P3|Warm|" + urlsOnly,
		"SIN2-P1|Failures|HTTP 404|false|true", "NRT57-P3|Partly cached|" + urlsOnly}; !slices.Equal(popRows, want) {
		t.Errorf("failure-heavy job's POPs (code|state|error|the URLs'|failed in red)\n got %q\nwant %q", popRows, want)
	}
	// The server's own words stay at hand, on hover.
	if title := eval[string](b, `document.querySelector('.pop-row [data-f=error][data-url]').title`); !strings.HasSuffix(title, "The most recent: size probe through IAD89-P1: HTTP 404") {
		t.Errorf("a POP's URL failures are explained as %q", title)
	}
	b.textIs("failure-heavy job's POPs summary", "[data-ref=pops-summary]", "6 POPs · 220 of 600 tasks verified · 4 warm · 1 with tasks not cached · 1 with failed tasks")
	// All of it fits: the POPs table, with its tier and error columns, is
	// no wider than its card.
	b.fits("the failure-heavy job's page")
	b.screenshot("job-finished-failures")
	// A job that did not verify: its OK is the green, and nothing is amber.
	b.open("a stopped job", "#/jobs/"+seededStopped)
	b.wait("the stopped job", jobShown("STOPPED", 2), 10*time.Second)
	b.textIs("request line", "[data-ref=request]", "Timeout 30 min · Verify off")
	if got := []string{b.text("[data-ref=lg-ok]"), b.text("[data-ref=s-verified]"), fmt.Sprint(b.visible("[data-ref=lg-warn-item]"))}; !slices.Equal(got, []string{"OK (not verified)", "—", "false"}) {
		t.Errorf("unverified job's legend and verified stat %q", got)
	}
	// It was stopped at 30 %: no failures, but not every task succeeded.
	b.textIs("stopped job's failures card", "[data-ref=no-failures-text]", "No failures among the 6 tasks done; the job was stopped with 14 not done.")
	if b.visible("[data-ref=no-failures] .icon") || !eval[bool](b, `document.querySelector('[data-ref=no-failures]').hasAttribute('data-partial')`) {
		t.Error("the stopped job's failures card wears the green tick of a job that did every task")
	}
	b.textIs("stopped job's POPs summary", "[data-ref=pops-summary]", "2 POPs · 6 of 20 tasks OK · 2 not finished")
	b.screenshot("job-stopped")
	b.open("a failed job", "#/jobs/e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b")
	b.wait("the failed job", `document.querySelector('[data-ref=status]')?.dataset.status === 'FAILED' && document.querySelectorAll('[data-ref=fpops] li').length === 2`, 10*time.Second)
	b.screenshot("job-failed")

	// An unknown job says so.
	b.open("an unknown job", "#/jobs/no-such-job")
	b.wait("the not-found state", `document.querySelector('[data-ref=missing]')?.checkVisibility() && document.querySelector('[data-ref=missing-text]').textContent.includes('no-such-job not found')`, 10*time.Second)

	// Fleet: agents and the desired capacity.
	b.click("a[data-nav=fleet]")
	b.wait("the agents", `document.querySelectorAll('.agents-table tbody tr').length === 3 && document.getElementById('f-capacity').value === '2'`, 10*time.Second)
	b.screenshot("fleet")
	b.click("[data-ref=inc]")
	b.click("[data-ref=apply]")
	b.wait("the new capacity", `document.querySelector('[data-ref=active]').textContent === '3'`, 10*time.Second)
	api.mu.Lock()
	if len(api.capacity) != 1 || string(api.capacity[0]) != `{"DesiredCapacity":3}` {
		t.Errorf("POST /instances bodies %s", api.capacity)
	}
	api.mu.Unlock()

	// The API goes away: a banner, then recovery on its own.
	api.setDown(true)
	b.wait("the unreachable banner", `!document.getElementById('banner').hidden && document.getElementById('live').dataset.state === 'error'`, 10*time.Second)
	b.screenshot("api-unreachable")
	api.setDown(false)
	b.wait("recovery", `document.getElementById('banner').hidden && document.getElementById('live').dataset.state === 'live'`, 15*time.Second)

	// Dark mode.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	}); err != nil {
		t.Fatalf("emulate dark mode: %v", err)
	}
	b.open("the jobs list", "#/jobs")
	b.wait("the jobs list", `document.querySelectorAll('.jobs-table tbody tr').length === 9`, 10*time.Second)
	if bg := eval[string](b, `getComputedStyle(document.body).backgroundColor`); bg == "rgb(244, 245, 247)" {
		t.Errorf("dark mode did not change the background (%s)", bg)
	}
	b.screenshot("dark-jobs")
	b.click(".jobs-table tbody tr:first-child a.job-link")
	b.wait("the finished job", jobShown("FINISHED", 4)+` && document.querySelector('[data-ref=furls] li')`, 10*time.Second)
	b.screenshot("dark-job")
	b.open("the form", "#/new", chromedp.WaitVisible(chromedp.CSS("#f-urls")))
	b.screenshot("dark-new-job")
	b.open("the fleet", "#/fleet")
	b.wait("the agents", `document.querySelectorAll('.agents-table tbody tr').length === 3`, 10*time.Second)
	b.screenshot("dark-fleet")
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatal(err)
	}

	// A narrow screen, 420 px: the filter chips wrap, the jobs table keeps
	// what says how each job is doing (its status moves into the job's
	// cell), and nothing is cut off at the sides.
	b.do("use a 420 px wide viewport", chromedp.EmulateViewport(420, 900))
	b.open("the jobs list", "#/jobs")
	b.wait("the jobs list", `document.querySelectorAll('.jobs-table tbody tr').length === 9 && document.querySelector('.job-badge')?.checkVisibility()`, 10*time.Second)
	b.fits("the jobs list at 420 px")
	if n := eval[int](b, `[...document.querySelectorAll('.chips .chip')].filter(e => e.checkVisibility()).length`); n != 7 {
		t.Errorf("%d filter chips shown at 420 px, want 7", n)
	}
	cols := eval[[]string](b, `[...document.querySelectorAll('.jobs-table thead th')].filter(e => e.checkVisibility()).map(e => e.textContent)`)
	badge := eval[string](b, `document.querySelector('tr[data-href="#/jobs/`+seededFailing+`"] .job-badge').textContent`)
	if !slices.Equal(cols, []string{"Job", "Progress"}) || badge != "Finished · 379 failed" {
		t.Errorf("at 420 px the jobs table shows columns %q, and the failure-heavy job's badge %q", cols, badge)
	}
	b.screenshot("narrow-jobs")
	b.open("the failure-heavy job", "#/jobs/"+seededFailing)
	b.wait("the failure-heavy job", `document.querySelector('[data-ref=title]')?.textContent === 'Season 2 trailers' && document.querySelectorAll('.pops-table tbody tr').length === 6`, 10*time.Second)
	b.fits("the job page at 420 px")
	// The error column goes; each POP's error is under its code.
	if got := eval[string](b, `[...document.querySelectorAll('.pop-row')].find(r => r.querySelector('.pop-code').textContent === 'SIN2-P1').querySelector('[data-f=error-sm]').textContent`); got != "HTTP 404" || b.visible(".pops-table th.col-error") {
		t.Errorf("at 420 px SIN2-P1's error reads %q (error column shown: %v)", got, b.visible(".pops-table th.col-error"))
	}
	b.screenshot("narrow-job")

	// A phone-sized screen.
	b.do("use a phone-sized viewport", chromedp.EmulateViewport(390, 844))
	b.open("the jobs list", "#/jobs")
	b.wait("the jobs list", `document.querySelectorAll('.jobs-table tbody tr').length === 9`, 10*time.Second)
	b.fits("the jobs list on a phone")
	b.screenshot("phone-jobs")
	b.click(".jobs-table tbody tr:first-child a.job-link")
	b.wait("the finished job", `document.querySelector('[data-ref=status]')?.dataset.status === 'FINISHED' && document.querySelector('[data-ref=furls] li')`, 10*time.Second)
	b.fits("a job on a phone")
	b.screenshot("phone-job")
	b.open("the form", "#/new", chromedp.WaitVisible(chromedp.CSS("#f-urls")))
	b.do("fill the form", b.set("#f-urls", strings.Join(urls, "\n")), b.set("#f-domain", "d111111abcdef8.cloudfront.net"),
		b.set("#f-pops", "IAD89-P1 JFK50-P2 FRA60-P1 LHR61-P3 XYZ1-P1"))
	b.click(`[data-ref=dry-run]`)
	b.wait("the plan", `document.querySelectorAll('[data-ref=plan-rows] tr').length === 5`, 10*time.Second)
	b.fits("a dry run on a phone")
	b.screenshot("phone-dry-run")
	b.do("reset the viewport", chromedp.EmulateReset())

	// Sign out forgets the key.
	b.click("#signout")
	b.wait("the sign-in form", `document.getElementById('signin-key') && sessionStorage.getItem('prewarm.apiKey') === null`, 5*time.Second)

	// A key the API stops accepting drops back to sign-in with a message.
	b.do("use a stale key",
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('prewarm.apiKey', 'revoked-key'); history.replaceState(null, '', '#/jobs')`),
		chromedp.Reload())
	b.wait("the rejected-key message", `document.querySelector('.signin [data-ref=error]')?.textContent.includes('was not accepted')`, 10*time.Second)
	if got := eval[string](b, `sessionStorage.getItem('prewarm.apiKey') ?? ''`); got != "" {
		t.Errorf("a rejected key was kept: %q", got)
	}

	if p := logs.problems(); len(p) > 0 {
		t.Errorf("the page logged problems:\n%s", strings.Join(p, "\n"))
	}
	// The CSP is enforced (an injected inline script does not run), and a
	// violation would have been seen by the check above.
	b.do("inject an inline script", chromedp.Evaluate[chromedp.Void](
		`const s = document.createElement('script'); s.textContent = 'window.inlineRan = true'; document.body.append(s)`))
	if eval[bool](b, `window.inlineRan === true`) {
		t.Error("an inline script ran despite the CSP")
	}
	if reported, _ := poll(5*time.Second, func() (bool, error) { return len(logs.problems()) > 0, nil }); !reported {
		t.Error("a CSP violation was not reported on the console, so the console check above sees nothing")
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	t.Logf("%d screenshots in %s", len(names), dir)
}

// normJSON is a JSON body with its keys in mustJSON's order.
func normJSON(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return mustJSON(t, v)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
