package cli

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"prewarm/client"
)

func newSchedule() *cobra.Command {
	sc := &cobra.Command{Use: "schedule", Short: "Start a warm again and again on a cron expression"}
	sc.AddCommand(
		command(&cobra.Command{
			Use:   "add [FILE|-]",
			Short: "Create a schedule: the job the flags describe, started at every slot of --cron",
			Long: `Create a schedule on a prewarm server (POST /schedules): the job that submit's
flags describe, with the URLs of FILE, started at every slot of --cron in
--timezone. Each run is an ordinary job; one node of a fleet starts each slot;
a slot missed while no server ran runs once on start. With --expand sitemap and
--changed-since last_run, each run warms what the sitemaps changed since the
previous run. Prints the schedule's id.` + clientFlagsHelp,
			Example: `  prewarm schedule add urls.txt --cron "0 3 * * *" --timezone Europe/Paris --cf-domain cdn.example.com --regions eu
  prewarm schedule add - --cron @hourly --expand sitemap --changed-since last_run --pops IAD89-P1 <<< https://www.example.com/sitemap.xml`,
			Args: cobra.MaximumNArgs(1),
		}, &scheduleAddFlags{}),
		command(&cobra.Command{Use: "list", Short: "List the schedules", Args: cobra.NoArgs}, &scheduleListFlags{}),
		command(&cobra.Command{Use: "pause ID", Short: "Pause a schedule", Args: cobra.ExactArgs(1)}, &scheduleActFlags{act: "pause"}),
		command(&cobra.Command{Use: "resume ID", Short: "Resume a schedule from its next slot", Args: cobra.ExactArgs(1)}, &scheduleActFlags{act: "resume"}),
		command(&cobra.Command{Use: "rm ID", Short: "Remove a schedule; the jobs it started stay", Args: cobra.ExactArgs(1)}, &scheduleActFlags{act: "rm"}),
	)
	return sc
}

type scheduleAddFlags struct {
	jobRequestFlags
	cron, timezone string
}

func (f *scheduleAddFlags) register(fs *pflag.FlagSet) {
	f.jobRequestFlags.register(fs)
	fs.StringVar(&f.cron, "cron", "", `when to run: five fields (minute to weekday), six with seconds first, or @hourly, @daily, "@every 15m" (required)`)
	fs.StringVar(&f.timezone, "timezone", "UTC", "the time zone of --cron, an IANA name such as Europe/Paris")
}

func (f *scheduleAddFlags) run(cmd *cobra.Command, args []string) error {
	if f.cron == "" {
		return errors.New("--cron is required")
	}
	if f.dryRun {
		return errors.New("--dry-run: a schedule starts real runs; try the job with submit --dry-run first")
	}
	c, req, err := f.clientAndRequest(cmd, args)
	if err != nil {
		return err
	}
	sc, err := c.CreateSchedule(cmd.Context(), client.ScheduleRequest{Name: req.Name, Cron: f.cron, Timezone: f.timezone,
		Job: client.JobRequest(*req)})
	if err != nil {
		return c.explain(err)
	}
	if f.jsonOutput() {
		return c.writeAnswer(cmd.OutOrStdout())
	}
	fmt.Fprintln(cmd.OutOrStdout(), sc.ID)
	fmt.Fprintf(cmd.ErrOrStderr(), "schedule %s created: %s (%s), first run %s\n", sc.ID, sc.Cron, sc.Timezone, showTime(sc.NextRun))
	return nil
}

type scheduleListFlags struct{ clientFlags }

func (f *scheduleListFlags) run(cmd *cobra.Command, _ []string) error {
	return query(&f.clientFlags, cmd, (*apiClient).Schedules, writeSchedules)
}

func writeSchedules(w io.Writer, list []client.Schedule) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no schedules")
		return err
	}
	t := newTextTable(w, "ID", "NAME", "CRON", "TIMEZONE", "NEXT RUN", "RUNS", "LAST JOB", "LAST ERROR")
	for _, s := range list {
		next := showTime(s.NextRun)
		if s.Paused {
			next = "paused"
		}
		t.row(s.ID, s.Name, s.Cron, s.Timezone, next, strconv.Itoa(s.Runs), s.LastJob, s.LastError)
	}
	return t.flush()
}

type scheduleActFlags struct {
	clientFlags
	act string
}

func (f *scheduleActFlags) run(cmd *cobra.Command, args []string) error {
	c, err := f.client()
	if err != nil {
		return err
	}
	id := args[0]
	var msg string
	switch f.act {
	case "rm":
		err, msg = c.DeleteSchedule(cmd.Context(), id), "schedule "+id+" removed; the jobs it started stay"
	default:
		var sc *client.Schedule
		sc, err = c.PauseSchedule(cmd.Context(), id, f.act == "pause")
		if err == nil {
			msg = "schedule " + id + " paused"
			if !sc.Paused {
				msg = "schedule " + id + " resumed: next run " + showTime(sc.NextRun)
			}
		}
	}
	return show(&f.clientFlags, cmd.OutOrStdout(), c, msg, err, writeLine)
}
