package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/store/pgtest"
)

// A schedule on a fleet of two serve nodes (PostgreSQL): every 2 s a run
// starts, once per slot — never twice for one slot, whichever nodes saw it
// due; each run is an ordinary job linked to its schedule; paused, it
// starts nothing; deleted, it is gone and its jobs stay.
func TestScheduleOnTwoNodes(t *testing.T) {
	t.Parallel()
	cdn := onePOP(t, "SCH1-P1")
	db := pgtest.Shared(t).DatabaseT(t)
	// Runs seconds apart, which an operator allows with --schedule-min-gap.
	one := serveOn(t, cdn, "--database", db, "--schedule-min-gap", "1s")
	two := serveOn(t, cdn, "--database", db, "--agents", "0", "--schedule-min-gap", "1s")
	sc, err := one.c.CreateSchedule(t.Context(), client.ScheduleRequest{Name: "every 2 s", Cron: "*/2 * * * * *",
		Timezone: "Europe/Paris", Job: jobAt(cdn, urlsOf(cdn, "/sched/", 2), "SCH1-P1")})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runs := func(schedule string) []client.JobSummary {
		t.Helper()
		jobs, err := two.c.Jobs(t.Context(), client.JobFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var out []client.JobSummary
		for _, j := range jobs {
			if j.ScheduleID == schedule {
				out = append(out, j)
			}
		}
		return out
	}
	eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		if n := len(runs(sc.ID)); n < 4 {
			return fmt.Errorf("%d runs of a 2 s schedule", n)
		}
		return nil
	})
	paused, err := two.c.PauseSchedule(t.Context(), sc.ID, true)
	if err != nil || !paused.Paused || paused.NextRun != "" {
		t.Fatalf("pause: %+v %v", paused, err)
	}
	took := time.Since(start)
	got := runs(sc.ID)
	if n, max := len(got), int(took/(2*time.Second))+1; n > max {
		t.Fatalf("%d runs in %v of a 2 s schedule on two nodes, at most %d: a slot ran twice", n, took, max)
	}
	list, err := one.c.Schedules(t.Context())
	if err != nil || len(list) != 1 || list[0].Runs != len(got) || list[0].LastJob == "" || list[0].Timezone != "Europe/Paris" {
		t.Fatalf("schedules %+v (%d jobs), %v", list, len(got), err)
	}
	for _, j := range got {
		if p := one.wait(j.RequestID, time.Minute); p.Status != client.StatusFinished || p.TotalCount != 2 {
			t.Fatalf("scheduled run %+v", p)
		}
	}
	// Another schedule on the same slots, created after the pause: once it
	// has run, a slot of the paused one has come and a node looked for due
	// schedules at it.
	other, err := one.c.CreateSchedule(t.Context(), client.ScheduleRequest{Name: "same slots", Cron: "*/2 * * * * *",
		Job: jobAt(cdn, urlsOf(cdn, "/sched-other/", 1), "SCH1-P1")})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		if len(runs(other.ID)) == 0 {
			return errors.New("no run of a 2 s schedule")
		}
		return nil
	})
	if n := len(runs(sc.ID)); n != len(got) {
		t.Fatalf("%d runs while paused, were %d", n, len(got))
	}
	for _, id := range []string{other.ID, sc.ID} {
		if err := one.c.DeleteSchedule(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if list, err := two.c.Schedules(t.Context()); err != nil || len(list) != 0 {
		t.Fatalf("after delete: %+v %v", list, err)
	}
	if n := len(runs(sc.ID)); n != len(got) {
		t.Fatalf("the schedule's %d jobs, %d after delete", len(got), n)
	}
	_, err = one.c.CreateSchedule(t.Context(), client.ScheduleRequest{Cron: "every day", Job: client.JobRequest{URLs: []string{cdn.URL("/x")}}})
	if statusOf(err) != 400 || !strings.Contains(err.Error(), "cron") {
		t.Fatalf("a bad cron: %v", err)
	}
	_, err = one.c.CreateSchedule(t.Context(), client.ScheduleRequest{Cron: "@daily", Job: client.JobRequest{URLs: []string{"nope"}}})
	if statusOf(err) != 400 {
		t.Fatalf("a bad job: %v", err)
	}
}

// The CLI: schedule add prints the id; list shows its runs; pause, resume
// and rm say what they did.
func TestScheduleCLI(t *testing.T) {
	t.Parallel()
	cdn := onePOP(t, "SCH2-P1")
	srv := serveOn(t, cdn, "--schedule-min-gap", "1s")
	env := []string{"PREWARM_SERVER=" + srv.URL, "PREWARM_API_KEY=" + apiKey}
	out, errOut, code := prewarmCmd(t, strings.Join(urlsOf(cdn, "/cli-sched/", 2), "\n"), env, "schedule", "add", "-",
		"--cron", "@every 1s", "--cf-domain", cdn.CFDomain, "--pops", "SCH2-P1", "--name", "each second")
	id := strings.TrimSpace(out)
	if code != 0 || id == "" || !strings.Contains(errOut, "first run") {
		t.Fatalf("schedule add: exit %d, %q\n%s", code, out, errOut)
	}
	eventually(t, 20*time.Second, 200*time.Millisecond, func() error {
		if out, _, _ := prewarmCmd(t, "", env, "schedule", "list"); !strings.Contains(out, id) || strings.Contains(out, "  0  ") {
			return fmt.Errorf("no run listed:\n%s", out)
		}
		return nil
	})
	for _, step := range [][2]string{{"pause", "paused"}, {"resume", "resumed: next run"}, {"rm", "removed"}} {
		act, want := step[0], step[1]
		if out, errOut, code := prewarmCmd(t, "", env, "schedule", act, id); code != 0 || !strings.Contains(out, want) {
			t.Fatalf("schedule %s: exit %d %q %s", act, code, out, errOut)
		}
	}
	if out, _, _ := prewarmCmd(t, "", env, "schedule", "list"); !strings.Contains(out, "no schedules") {
		t.Fatalf("after rm:\n%s", out)
	}
}

// A schedule's problems name their field: the schedule's own, or the
// nested job's as job.<field>.
func TestScheduleBadInput(t *testing.T) {
	t.Parallel()
	srv := startServe(t, "", "--dns-server", "127.0.0.1:1")
	for body, want := range map[string]string{
		`{"cron": "0 3 * * *"}`: "job: is required",
		`{"cron": "often", "job": {"url_list": ["https://a.test/"], "cf_domain": "d1.cloudfront.net"}}`:                   "cron:",
		`{"cron": "@daily", "timezone": "Mars/Olympus", "job": {"url_list": ["https://a.test/"]}}`:                        "timezone:",
		`{"cron": "@daily", "job": {"url_list": ["https://a.test/"], "timeout": -1, "cf_domain": "d1.cloudfront.net"}}`:   "job.timeout:",
		`{"cron": "@daily", "job": {"url_list": ["https://a.test/"], "time_out": 5}}`:                                     `job.time_out: is not a field of this request; did you mean "timeout"?`,
		`{"cron": "@daily", "job": {"url_list": ["https://a.test/"], "cf_domain": "d1.cloudfront.net", "dry_run": true}}`: "job.dry_run",
		`{"cron": "@daily", "cron_tz": "UTC", "job": {"url_list": ["https://a.test/"]}}`:                                  "cron_tz: is not a field",
		`{"cron": "@daily", "job": ["https://a.test/"]}`:                                                                  "job: is required",
	} {
		code, out := srv.rawJSON("POST", "/schedules", body)
		if msg, _ := out["message"].(string); code != 400 || !strings.Contains(msg, want) {
			t.Errorf("%s: %d %v, want 400 with %q", body, code, out, want)
		}
	}
}
