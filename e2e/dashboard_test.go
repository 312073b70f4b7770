package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The dashboard against the real server and real caches, in Debian's
// chromium: sign in, submit a job through the form, watch it reach FINISHED
// on its page, and download its CSV. Screenshots go to $PREWARM_ARTIFACTS.
func TestDashboardAgainstTheRealServer(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	srv := serveOn(t, cdn)
	dir := os.Getenv("PREWARM_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)

	b := signIn(t, srv)
	shot := func(name string) {
		t.Helper()
		// The page is drawn once its fonts are in and its bars have
		// finished moving (endless animations, a live dot, never finish).
		b.until("the page to settle", `document.fonts.status === 'loaded' && document.getAnimations().every(a =>
			a.playState !== 'running' || a.effect.getComputedTiming().endTime === Infinity)`)
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Errorf("screenshot %s: %v", name, err)
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "real-"+name+".png"), png, 0o644); err != nil {
			t.Error(err)
		}
	}

	b.until("the jobs page", `document.querySelector('a[data-nav=new]')?.checkVisibility()`)
	b.run("open the form", chromedp.Click(chromedp.CSS("a[data-nav=new]")), chromedp.WaitVisible(chromedp.CSS("#f-urls")))
	urls := append(urlsOf(cdn, "/ui/", 5), cdn.URL("/status/404"))
	b.run("fill the form",
		chromedp.SendKeys(chromedp.CSS("#f-urls"), strings.Join(urls, "\n")),
		chromedp.SendKeys(chromedp.CSS("#f-domain"), cdn.CFDomain),
		chromedp.SendKeys(chromedp.CSS("#f-pops"), "AAA1-P1, BBB1-P1"))
	shot("new-job")
	b.run("submit", chromedp.Click(chromedp.CSS(".form button[type=submit]")))
	b.until("the job page", `location.hash.startsWith('#/jobs/')`)
	b.until("the job to finish on its page", `document.querySelector('[data-ref=status]')?.dataset.status === 'FINISHED'`)
	b.until("the failed URL", `document.querySelector('[data-ref=furls] li')?.textContent === `+fmt.Sprintf("%q", cdn.URL("/status/404")))
	if pct, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('[data-ref=pct]').textContent`)); pct != "100" {
		t.Errorf("finished job at %s%%", pct)
	}
	shot("job-finished")

	// The CSV link is signed (no key in it) and serves the failed tasks.
	href, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('[data-ref=csv]').href`))
	if err != nil || !strings.Contains(href, "token=") || strings.Contains(href, apiKey) {
		t.Fatalf("CSV link %q: %v", href, err)
	}
	c, done := context.WithTimeout(b.ctx, 10*time.Second)
	defer done()
	body, err := chromedp.Run(c, chromedp.Evaluate[string](`fetch(document.querySelector('[data-ref=csv]').href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.HasPrefix(body, "pop,url,status_code") || strings.Count(body, "/status/404") != 2 {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	b.run("open the fleet", chromedp.Evaluate[chromedp.Void](`location.hash = '#/fleet'`))
	b.until("the agent", `document.querySelector('[data-ref=active]')?.textContent === '1'`)
	shot("fleet")
}
