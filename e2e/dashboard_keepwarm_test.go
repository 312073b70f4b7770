package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"prewarm/client"
)

// The dashboard shows a keep-warm job's next re-warm, and lists the
// schedules with pause, resume and delete working against the real server.
func TestDashboardKeepWarmAndSchedules(t *testing.T) {
	t.Parallel()
	cdn := keepWarmCDN(t)
	srv := serveOn(t, cdn)
	id := srv.submit(client.JobRequest{URLs: []string{cdn.URL("/maxage/30/ui"), cdn.URL("/nostore/ui")}, CFDomain: cdn.CFDomain, POPs: []string{"NGX1-P1"},
		KeepWarmUntil: time.Now().Add(5 * time.Minute).UTC().Format(time.RFC3339), RefreshHeader: "X-Prewarm-Refresh: 1"})
	srv.waitUntil(id, 20*time.Second, func(p *client.ProgressResponse) bool { return p.KeepWarm != nil && p.KeepWarm.State == "keeping" })
	sc, err := srv.c.CreateSchedule(t.Context(), client.ScheduleRequest{Name: "nightly", Cron: "0 3 * * *", Timezone: "Europe/Paris",
		Job: client.JobRequest{URLs: []string{cdn.URL("/nightly")}, CFDomain: cdn.CFDomain, POPs: []string{"NGX1-P1"}}})
	if err != nil {
		t.Fatal(err)
	}

	b := signIn(t, srv)
	b.run("open the job", chromedp.Evaluate[chromedp.Void](`location.hash = '#/jobs/`+id+`'`))
	b.until("the keep-warm card", `document.querySelector('[data-ref=keepwarm]')?.checkVisibility() &&
		/^Next re-warm in \S+ · before expiry, with X-Prewarm-Refresh: 1$/.test(document.querySelector('[data-ref=keepwarm-text]').textContent) &&
		document.querySelector('[data-ref=keepwarm-counts]').textContent.startsWith('1 kept')`)
	// The URL that cannot be kept is listed, with why and where; the clock
	// counts down to the end of the keeping, not to the first warm's
	// timeout, which the request line names as such.
	b.until("the URLs not kept", `document.querySelector('[data-ref=notkept]')?.checkVisibility() &&
		document.querySelectorAll('[data-ref=notkept-list] li').length === 1 &&
		document.querySelector('[data-ref=notkept-list] .reason-text').textContent === `+"'"+cdn.URL("/nostore/ui")+"'"+` &&
		document.querySelector('[data-ref=notkept-list] .reason-count').textContent === 'at 1 POP' &&
		document.querySelector('[data-ref=notkept-list] .reason-example').textContent.includes('no-store')`)
	b.until("the keeping's end", `/^Kept warm until .+ \(in 4m \d\ds\)$/.test(document.querySelector('[data-ref=clock]').textContent) &&
		document.querySelector('[data-ref=request]').textContent.startsWith('First warm timeout 30 min')`)

	b.run("open the schedules", chromedp.Click(chromedp.CSS("a[data-nav=schedules]")))
	b.until("the schedule's row", `document.querySelector('.schedule-row [data-f=name]')?.textContent === 'nightly' &&
		document.querySelector('.schedule-row [data-f=state]').textContent === 'Active'`)
	// The buttons sit in a flex box inside their cell, level with the row.
	b.until("the actions laid out", `(() => {
		const td = document.querySelector('.schedule-row td.cell-actions');
		const box = td?.querySelector(':scope > .actions');
		return box && getComputedStyle(td).display === 'table-cell' && getComputedStyle(box).display === 'flex' &&
			box.querySelectorAll('button').length === 2;
	})()`)
	b.run("pause it", chromedp.Click(chromedp.CSS(".schedule-row [data-f=toggle]")))
	b.until("it paused", `document.querySelector('.schedule-row [data-f=state]')?.textContent === 'Paused' &&
		document.querySelector('.schedule-row [data-f=toggle]').textContent === 'Resume'`)
	if got, err := srv.c.Schedules(t.Context()); err != nil || len(got) != 1 || !got[0].Paused {
		t.Fatalf("after Pause: %+v %v", got, err)
	}
	b.run("resume it", chromedp.Click(chromedp.CSS(".schedule-row [data-f=toggle]")))
	b.until("it resumed", `document.querySelector('.schedule-row [data-f=state]')?.textContent === 'Active'`)
	b.run("delete it", chromedp.Click(chromedp.CSS(".schedule-row [data-f=delete]")))
	b.until("the confirmation", `document.querySelector('#confirm-dialog').open &&
		document.querySelector('#confirm-title').textContent === 'Delete nightly?'`)
	b.run("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	b.until("no schedules", `document.querySelector('[data-ref=empty]')?.checkVisibility()`)
	if got, err := srv.c.Schedules(t.Context()); err != nil || len(got) != 0 {
		t.Fatalf("after Delete: %+v %v (schedule %s)", got, err, sc.ID)
	}
	// The stop dialog still says what it did before.
	b.run("back to the job", chromedp.Evaluate[chromedp.Void](`location.hash = '#/jobs/`+id+`'`))
	b.until("the stop button", `document.querySelector('[data-ref=stop]')?.checkVisibility()`)
	b.run("stop", chromedp.Click(chromedp.CSS("[data-ref=stop]")))
	b.until("the stop dialog", `document.querySelector('#confirm-title').textContent === 'Stop this job?'`)
}
