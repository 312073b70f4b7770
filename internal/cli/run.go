package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"prewarm/internal/api"
	"prewarm/internal/node"
	"prewarm/internal/warm"
)

func newRun() *cobra.Command {
	return command(&cobra.Command{
		Use:   "run [FILE|-]",
		Short: "Warm a list of URLs now, from this machine, with no server",
		Long: `Warm the URLs of FILE (one per line; - or piped input for standard input)
through the POPs you choose, from this machine, and wait for the end: a live
progress bar on a terminal (plain lines otherwise), then a table per POP of
tasks, successes, failures, bytes and how many were proven cached.

Exit status: 0 when every task was fetched (and, unless --no-verify, proven
cached at its POP); 1 when tasks failed or the job did not finish (timeout,
no usable POP, Ctrl-C); 2 when everything was fetched but some objects did
not stay in the cache; 130 when Ctrl-C left a --data-dir job to resume.

State lives in a temporary database, removed at the end, and Ctrl-C stops
the job. With --data-dir the job's state is kept there: Ctrl-C (or a lost
terminal, a crash) leaves the job unfinished, and the same command run again
with the same --data-dir resumes it where it was, until its timeout.`,
		Example: `  prewarm run urls.txt --cf-domain d111111abcdef8.cloudfront.net --pops IAD89-P1,FRA60-P1,NRT57-P3
  curl -s https://example.com/patch/1.5/files.txt | prewarm run - --cf-domain cdn.example.com --regions eu,us
  prewarm run master.m3u8.txt --cf-domain cdn.example.com --countries JP --expand hls --encodings br,gzip
  prewarm run urls.txt --edges edges.yaml --cf-domain cdn.example.com --pops fra-1,ams-1 --output json`,
		Args: cobra.MaximumNArgs(1),
	}, &runFlags{})
}

type runFlags struct {
	logFlags
	fetchFlags
	jobFlags
	dataDir string
	output  string
	maxURLs int
}

func (f *runFlags) register(fs *pflag.FlagSet) {
	f.jobFlags.register(fs)
	f.fetchFlags.register(fs)
	fs.StringVar(&f.dataDir, "data-dir", "", "keep the job's database here, to resume an interrupted run (default: a temporary one, removed at the end)")
	fs.StringVarP(&f.output, "output", "o", "text", "text, or json for the final progress, POPs and summary")
	fs.IntVar(&f.maxURLs, "max-urls", node.DefaultConfig().MaxURLs, "most URLs the job may hold (after --expand)")
	f.logFlags.register(fs, "warn")
}

// runOutcome is what --output json prints: the job's final progress, its
// POPs and its summary, each exactly as the API answers them (GET /prewarm,
// GET /jobs/{id}'s pops, GET /summary without the report link). It is a
// stable contract for scripts.
type runOutcome struct {
	Progress api.ProgressResponse `json:"progress"`
	POPs     []api.POPJSON        `json:"pops"`
	Summary  api.SummaryResponse  `json:"summary"`
}

func (f *runFlags) run(cmd *cobra.Command, args []string) error {
	spec, cfg, err := f.prepare(cmd, args)
	if err != nil {
		return err
	}
	if cfg.DataDir = f.dataDir; cfg.DataDir == "" {
		if cfg.DataDir, err = os.MkdirTemp("", "prewarm-run-"); err != nil {
			return err
		}
		defer os.RemoveAll(cfg.DataDir)
	}
	// A Ctrl-C stops the job and the command reports what was done, or,
	// with a data directory, leaves the job there to resume.
	sig, stop := untilStopped(cmd.Context())
	defer stop()
	ctx := context.WithoutCancel(sig)
	n, err := node.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer n.Close()
	if f.dryRun {
		return f.printDryRun(ctx, cmd.OutOrStdout(), n.Service, spec)
	}
	stderr := cmd.ErrOrStderr()
	id, keep, err := f.start(ctx, n.Service, spec, stderr)
	if err != nil {
		return err
	}
	p, err := follow(sig, ctx, n.Service, id, keep == nil, NewProgressView(stderr, isTerminal(stderr)))
	if errors.Is(err, errLeftUnfinished) {
		return &exitError{msg: fmt.Sprintf("interrupted with %d of %d tasks done; job %s stays in %s: run the same command again to resume it",
			p.Done, p.Total, id, f.dataDir), code: 130}
	}
	if err != nil {
		return err
	}
	if err := f.report(ctx, cmd.OutOrStdout(), n.Service, p); err != nil {
		return err
	}
	return runExit(p)
}

// prepare checks the flags and reads the URLs: the job to run, and the
// node to run it on (without its data directory).
func (f *runFlags) prepare(cmd *cobra.Command, args []string) (spec warm.JobSpec, cfg node.Config, err error) {
	if f.output != "text" && f.output != "json" {
		return spec, cfg, fmt.Errorf("--output %q: use text or json", f.output)
	}
	log, err := f.logFlags.logger(cmd.ErrOrStderr())
	if err != nil {
		return spec, cfg, err
	}
	req, err := f.jobFlags.request()
	if err != nil {
		return spec, cfg, err
	}
	if req.NotifyURL != "" {
		return spec, cfg, errors.New("--notify-url is for submit: run reports the end of its job itself, on standard output and in its exit status")
	}
	urls, err := f.urls(cmd, args)
	if err != nil {
		return spec, cfg, err
	}
	cfg = node.DefaultConfig()
	f.fetchFlags.apply(&cfg)
	cfg.MaxURLs, cfg.Log = f.maxURLs, log
	if err := cfg.Validate(); err != nil {
		return spec, cfg, err
	}
	return req.spec(urls), cfg, nil
}

// start submits the job, or, with --data-dir, takes up the one an
// interrupted run left there. keep is nil without --data-dir.
func (f *runFlags) start(ctx context.Context, svc *warm.Service, spec warm.JobSpec, stderr io.Writer) (id string, keep *keptRun, err error) {
	if f.dataDir != "" {
		keep = &keptRun{dir: f.dataDir, spec: specDigest(spec)}
	}
	if id, err = keep.resumable(ctx, svc, stderr); err != nil || id != "" {
		return id, keep, err
	}
	job, err := svc.Submit(ctx, spec)
	if err != nil {
		var bad *warm.InvalidURLsError
		if errors.As(err, &bad) {
			for _, u := range bad.URLs {
				fmt.Fprintln(stderr, "  invalid URL: "+u)
			}
		}
		return "", keep, err
	}
	if keep != nil {
		if err := keep.save(job.ID); err != nil {
			return "", keep, err
		}
	}
	return job.ID, keep, nil
}

// runExit is the exit status of a job that ended: 1 when it did not
// finish or tasks failed, 2 when everything was fetched but some objects
// did not stay in the cache.
func runExit(p *warm.Progress) error {
	switch {
	case p.Status != warm.StatusFinished:
		return &exitError{msg: fmt.Sprintf("the job ended %s with %d of %d tasks done", p.Status, p.Done, p.Total), code: 1}
	case p.Failed > 0:
		return &exitError{msg: fmt.Sprintf("%d of %d tasks failed", p.Failed, p.Total), code: 1}
	case p.NotCached > 0:
		return &exitError{msg: fmt.Sprintf("fetched but not cached: %d of %d tasks (see why above)", p.NotCached, p.Total), code: 2}
	}
	return nil
}

// printDryRun prints the job's plan as a server would answer it.
func (f *runFlags) printDryRun(ctx context.Context, out io.Writer, svc *warm.Service, spec warm.JobSpec) error {
	plan, err := svc.DryRun(ctx, spec)
	if err != nil {
		return err
	}
	ans := api.DryRunJSON(plan, time.Now())
	if f.output == "json" {
		return writeJSON(out, ans)
	}
	return writeDryRun(out, &ans)
}

// urls reads the URL list from the file argument or standard input.
func (f *runFlags) urls(cmd *cobra.Command, args []string) ([]string, error) {
	src := "-"
	if len(args) == 1 {
		src = args[0]
	}
	if len(args) == 0 && isTerminal(cmd.InOrStdin()) {
		return nil, errors.New("no URLs: give a FILE of URLs, one per line, or pipe them in (prewarm run - < urls.txt)")
	}
	return readURLs(cmd.InOrStdin(), src)
}

// report prints the ended job: a table per POP and what went wrong, or the
// API's JSON.
func (f *runFlags) report(ctx context.Context, out io.Writer, svc *warm.Service, p *warm.Progress) error {
	_, pops, err := svc.JobDetail(ctx, p.ID)
	if err != nil {
		return err
	}
	sum, err := svc.Summary(ctx, p.ID)
	if err != nil {
		return err
	}
	if f.output == "json" {
		now := time.Now()
		return writeJSON(out, runOutcome{Progress: api.Progress(p, now), POPs: api.POPs(pops), Summary: api.Summary(sum, "", now)})
	}
	return writeRunReport(out, p, pops, sum)
}

// errLeftUnfinished: a signal ended the wait and the job was left to be
// resumed.
var errLeftUnfinished = errors.New("left unfinished")

// follow updates the view until the job ends. A signal stops the job, or,
// when stopOnSignal is false, ends the wait at once with the last progress
// and errLeftUnfinished.
func follow(sig, ctx context.Context, svc *warm.Service, id string, stopOnSignal bool, view *ProgressView) (*warm.Progress, error) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	stopped := false
	for {
		p, err := svc.Progress(ctx, id)
		if err != nil {
			return nil, err
		}
		jp := JobProgress{Status: string(p.Status), Done: p.Done, Total: p.Total, OK: p.OK, Failed: p.Failed,
			Bytes: p.DownloadSize, Message: withWaiting(p.Message, p.Waiting)}
		if p.Status.Terminal() {
			view.Finish(jp)
			return p, nil
		}
		view.Update(jp)
		select {
		case <-sig.Done():
			if !stopOnSignal {
				view.breakLine()
				return p, errLeftUnfinished
			}
			if !stopped {
				stopped = true
				if _, err := svc.Stop(ctx, id); err != nil && !errors.Is(err, warm.ErrConflict) {
					return nil, err
				}
			}
		case <-tick.C:
		}
	}
}

// spec turns the flags' request into the domain's job spec.
func (r *submitRequest) spec(urls []string) warm.JobSpec {
	return warm.JobSpec{
		URLs: urls, CFDomain: r.CFDomain, TargetType: r.TargetType, POPs: r.POPs, Countries: r.Countries,
		Regions: r.Regions, TimeoutMinutes: r.Timeout, Headers: r.Header, InstanceCount: r.InstanceCount,
		NeedInvalidate: r.NeedInvalidate, DistributionID: r.DistributionID, Verify: r.Verify,
		Encodings: r.Encodings, Expand: r.Expand, MaxConcurrency: r.MaxConcurrency, MaxRPS: r.MaxRPS,
		TierFirst: r.TierFirst, Priority: r.Priority, Name: r.Name, ChangedSince: r.ChangedSince, Discover: r.Discover,
		KeepWarmUntil: r.KeepWarmUntil, KeepWarmFor: r.KeepWarmFor, RefreshHeader: r.RefreshHeader,
	}
}

// writeRunReport prints the per-POP table and what went wrong.
func writeRunReport(w io.Writer, p *warm.Progress, pops []warm.POPState, sum *warm.Summary) error {
	rows := make([]POPRow, 0, len(pops))
	for _, pop := range pops {
		row := POPRow{POP: pop.Code, Tasks: pop.Done, OK: pop.OK, Failed: pop.Failed, Bytes: pop.Bytes, Error: pop.Error}
		switch {
		case pop.Skipped:
			row.Error = "skipped: does not resolve"
		case pop.Unreachable():
			row.Error = "unreachable: " + pop.LastError
		}
		if p.Verify && pop.OK > 0 {
			row.Hit = fmt.Sprintf("%d%%", 100*pop.Verified/pop.OK)
		}
		rows = append(rows, row)
	}
	if err := WritePOPTable(w, rows); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s: %d of %d tasks done, %d ok, %d failed, %s fetched", p.Status, p.Done, p.Total, p.OK, p.Failed, humanBytes(p.DownloadSize))
	if p.Verify {
		fmt.Fprintf(w, ", %d proven cached, %d not cached", p.Verified, p.NotCached)
	}
	fmt.Fprintln(w)
	if p.Message != "" {
		fmt.Fprintln(w, p.Message)
	}
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s (%d):\n", title, len(items))
		for i, it := range items {
			if i == 10 {
				fmt.Fprintf(w, "  … and %d more\n", len(items)-10)
				break
			}
			fmt.Fprintln(w, "  "+it)
		}
	}
	list("Failed URLs", sum.FailureURLs)
	list("Failed POPs", sum.FailurePOPs)
	list("Fetched but not cached", sum.NotCachedURLs)
	answer := api.Summary(sum, "", time.Now())
	list("Why not cached", reasonLines(answer.NotCachedReasons))
	list("Not done when the job ended", notDoneLines(answer.TasksNotDone))
	list("Not kept warm", notKeptLines(answer.NotKeptURLs))
	list("Warnings", sum.Warnings)
	return nil
}
