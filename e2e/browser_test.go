package e2e

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is a tab of Debian's chromium, for the dashboard tests.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser starts chromium, headless, until the test ends. Without
// chromium the test is skipped, or fails under CI=true.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true: the dashboard test needs chromium (apt-get install chromium)")
		}
		t.Skip("the dashboard test needs chromium (apt-get install chromium)")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1360, 900))
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // start the browser, outside any step's deadline
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx}
}

// signIn opens srv's dashboard in a new browser and signs in.
func signIn(t *testing.T, srv *server) *browser {
	t.Helper()
	b := newBrowser(t)
	b.run("sign in", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#signin-key")),
		chromedp.SendKeys(chromedp.CSS("#signin-key"), apiKey), chromedp.Click(chromedp.CSS(".signin button[type=submit]")))
	b.until("the jobs page", `document.querySelector('a[data-nav=schedules]')?.checkVisibility()`)
	return b
}

// run does actions as one step, failing the test after 30 s.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	c, done := context.WithTimeout(b.ctx, 30*time.Second)
	defer done()
	if err := chromedp.Do(c, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// until waits for the JavaScript expression cond to hold on the page,
// failing the test after 30 s.
func (b *browser) until(what, cond string) {
	b.t.Helper()
	b.t.Logf("waiting for %s", what)
	waitFor(b.t, 30*time.Second, func() bool {
		c, done := context.WithTimeout(b.ctx, 5*time.Second)
		defer done()
		ok, err := chromedp.Run(c, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		return err == nil && ok
	})
}
