package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"prewarm/client"
)

// newClientCommands returns the commands that drive a running server
// through its API: submit, status, summary and instances.
func newClientCommands() []*cobra.Command {
	return []*cobra.Command{newSubmit(), newStatus(), newSummary(), newStop(), newInstances(), newRotateReportSecret()}
}

// exitError ends a command with a message and a chosen exit status; Main
// finds the status through Unwrap.
type exitError struct {
	msg  string
	code exitCode
}

func (e *exitError) Error() string { return e.msg }
func (e *exitError) Unwrap() error { return e.code }

// clientFlagsHelp closes every client command's long help.
const clientFlagsHelp = `

--server (PREWARM_SERVER) is the server's base URL, --api-key (PREWARM_API_KEY)
its key; --output json writes the API's answer as it came, indented.`

// ---- submit

func newSubmit() *cobra.Command {
	return command(&cobra.Command{
		Use:   "submit [FILE|-]",
		Short: "Start a warm job on a running server and print its id",
		Long: `Start a job on a prewarm server (POST /prewarm) with the URLs of FILE, one per
line; blank lines and lines starting with # are skipped. With - (or no FILE
and piped input) the URLs are read from standard input.

Only the job's id is written to standard output, so a script can keep it;
what else there is to say goes to standard error.

The POPs come from one list: --pops (POP ids), --countries or --regions, each
comma-separated, repeated, or both. The target type follows from the list
given; --target-type with no list takes that type's defaults. With no list
at all the server's default POPs are warmed.` + clientFlagsHelp,
		Example: `  prewarm submit urls.txt --cf-domain d111111abcdef8.cloudfront.net --pops IAD89-P1,FRA60-P1 --pops NRT57-P3
  grep '\.ts$' playlist.txt | prewarm submit - --cf-domain cdn.example.com --countries JP,KR --timeout 90
  prewarm submit urls.txt --cf-domain cdn.example.com --regions eu --header 'Authorization: Bearer t0ken' --need-invalidate
  id=$(prewarm submit urls.txt --cf-domain cdn.example.com) && prewarm status "$id" --watch`,
		Args: cobra.MaximumNArgs(1),
	}, &submitFlags{})
}

type submitFlags struct {
	jobRequestFlags
	wait        bool
	minVerified optional[float64]
	interval    time.Duration
}

func (f *submitFlags) register(fs *pflag.FlagSet) {
	f.jobRequestFlags.register(fs)
	fs.BoolVar(&f.wait, "wait", false, "follow the job until it ends; exit 0 only if it finished with no failure")
	fs.Var(&f.minVerified, "min-verified", "with --wait: exit 0 only if at least this percentage of the job's tasks were proven cached (a deploy gate)")
	fs.DurationVar(&f.interval, "interval", 500*time.Millisecond, "how often --wait asks the server")
}

// gate is how a waited-for job ends the command: by --min-verified when
// given (the share of tasks proven cached), else as status --watch does.
func (f *submitFlags) gate(out io.Writer, p *client.ProgressResponse) error {
	if !f.minVerified.set {
		if jobProgress(p).Succeeded() || firstWarmDone(p) && p.FailedCount == 0 {
			return nil
		}
		return &exitError{msg: watchOutcome(p), code: 1}
	}
	share := 0.0
	if p.TotalCount > 0 {
		share = 100 * float64(p.VerifiedCount) / float64(p.TotalCount)
	}
	state := p.Status
	if firstWarmDone(p) {
		state = "first warm"
	}
	verdict := fmt.Sprintf("job %s %s: %s%% of %d tasks proven cached (--min-verified %s)", p.RequestID, state,
		strconv.FormatFloat(share, 'f', -1, 64), p.TotalCount, strconv.FormatFloat(f.minVerified.v, 'f', -1, 64))
	if share < f.minVerified.v {
		return &exitError{msg: verdict + "; see prewarm summary " + p.RequestID, code: 1}
	}
	_, err := fmt.Fprintln(out, verdict)
	return err
}

// jobFlags describe a job; submit sends them to a server, run warms them
// itself.
type jobFlags struct {
	cfDomain       string
	targetType     string
	pops           []string
	countries      []string
	regions        []string
	headers        []string
	timeout        optional[float64]
	instanceCount  optional[int]
	needInvalidate bool
	distributionID string
	encodings      []string
	expand         []string
	noVerify       bool
	maxConcurrency optional[int]
	maxRPS         optional[float64]
	noTierFirst    bool
	dryRun         bool
	priority       string
	name           string
	notifyURL      string
	changedSince   string
	discover       string
	vantage        string
	keepWarmUntil  string
	refreshHeader  string
}

// submitRequest is POST /prewarm's body as the job flags describe it. It is
// the client's JobRequest under a name of this package, so that run, which
// warms the job itself, can turn it into the domain's job spec.
type submitRequest client.JobRequest

func (f *jobFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.cfDomain, "cf-domain", "", "the distribution's domain, or your custom domain pointing at it (needed for CloudFront POPs; not for the edges of an edges file)")
	fs.StringVar(&f.targetType, "target-type", "", "pop, country or region (default: the kind of list given)")
	fs.StringSliceVar(&f.pops, "pops", nil, "POP ids to warm, such as IAD89-P1 (comma-separated or repeated)")
	fs.StringSliceVar(&f.countries, "countries", nil, "countries whose POPs to warm: keys, ISO codes or names (comma-separated or repeated)")
	fs.StringSliceVar(&f.regions, "regions", nil, "regions whose POPs to warm, such as eu or apac (comma-separated or repeated)")
	// A header's value may hold commas (Accept: a, b), so the flag is only
	// ever split by repeating it.
	fs.StringArrayVar(&f.headers, "header", nil, `header sent with every fetch, "Name: value" (repeat for several)`)
	fs.Var(&f.timeout, "timeout", "minutes the job may run (default: the server's, 30)")
	fs.Var(&f.instanceCount, "instance-count", "desired capacity to set with the job (default: unchanged)")
	fs.BoolVar(&f.needInvalidate, "need-invalidate", false, "invalidate the URLs in the cache before warming them")
	fs.StringVar(&f.distributionID, "distribution-id", "", "CloudFront distribution to invalidate (default: found from --cf-domain)")
	fs.StringSliceVar(&f.encodings, "encodings", nil, "warm each of these Accept-Encoding variants, such as br,gzip,identity")
	fs.StringSliceVar(&f.expand, "expand", nil, "expand hls playlists, dash manifests or sitemaps into the URLs they list")
	fs.BoolVar(&f.noVerify, "no-verify", false, "do not prove each warm with a second request that must be a cache HIT")
	fs.Var(&f.maxConcurrency, "max-concurrency", "most of the job's fetches in flight at once, across every agent (default: no bound)")
	fs.Var(&f.maxRPS, "max-rps", "most of the job's fetches started per second, across every agent (default: no bound)")
	fs.BoolVar(&f.noTierFirst, "no-tier-first", false, "warm every POP at once instead of each URL through the top tier first")
	fs.StringVar(&f.priority, "priority", "", "low, normal (the default) or high: how the job shares the agents with others")
	fs.StringVar(&f.name, "name", "", "a label for the job in listings and on the dashboard")
	fs.StringVar(&f.vantage, "vantage", "", "agents: fetch each POP's tasks only from agents located there (agent --location), failing POPs with none; anywhere (default): any agent")
	fs.StringVar(&f.discover, "discover", "", "ecs: find the edges of each of --countries (or --regions) by asking DNS for --cf-domain with a client subnet there; none: use the catalog's POPs even if the server defaults to ecs")
	fs.StringVar(&f.changedSince, "changed-since", "", "with --expand sitemap: only the URLs whose lastmod is after this time or date (2026-11-28)")
	fs.StringVar(&f.keepWarmUntil, "keep-warm-until", "", "after the first warm, re-warm each URL at each POP as its freshness there runs out, until this RFC 3339 time or for this long from the start (90m, 6h; at most a week; a schedule takes only a duration, counted from each run)")
	fs.StringVar(&f.refreshHeader, "refresh-header", "", `with --keep-warm-until: header sent on re-warms that your POPs treat as "fetch from the origin and store", such as "X-Prewarm-Refresh: 1" (see docs/keep-warm.md)`)
	fs.StringVar(&f.notifyURL, "notify-url", "", "URL the server POSTs a signed JSON message to when the job ends")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the job's plan (POPs, tasks, bytes, origin fetches) and send nothing through a POP")
}

// requestWithURLs is the job the flags describe with the URLs of the
// command's FILE argument, or of standard input when it is - or piped.
func (f *jobFlags) requestWithURLs(cmd *cobra.Command, args []string) (*submitRequest, error) {
	req, err := f.request()
	if err != nil {
		return nil, err
	}
	src := "-"
	if len(args) == 1 {
		src = args[0]
	}
	stdin := cmd.InOrStdin()
	if len(args) == 0 && isTerminal(stdin) {
		return nil, fmt.Errorf("no URLs: give a FILE of URLs, one per line, or pipe them in (prewarm %s - < urls.txt)", strings.TrimPrefix(cmd.CommandPath(), "prewarm "))
	}
	if req.URLs, err = readURLs(stdin, src); err != nil {
		return nil, err
	}
	return req, nil
}

// jobRequestFlags are the flags of a command that sends a job to a
// server: submit, and schedule add.
type jobRequestFlags struct {
	clientFlags
	jobFlags
}

func (f *jobRequestFlags) register(fs *pflag.FlagSet) {
	f.clientFlags.register(fs)
	f.jobFlags.register(fs)
}

// clientAndRequest checks the flags: the client to send the job with, and
// the job with its URLs.
func (f *jobRequestFlags) clientAndRequest(cmd *cobra.Command, args []string) (*apiClient, *submitRequest, error) {
	c, err := f.client()
	if err != nil {
		return nil, nil, err
	}
	req, err := f.requestWithURLs(cmd, args)
	if err != nil {
		return nil, nil, err
	}
	return c, req, nil
}

func (f *submitFlags) run(cmd *cobra.Command, args []string) error {
	c, req, err := f.clientAndRequest(cmd, args)
	if err != nil {
		return err
	}
	if f.minVerified.set {
		if f.minVerified.v < 0 || f.minVerified.v > 100 {
			return fmt.Errorf("--min-verified %v: a percentage, 0 to 100", f.minVerified.v)
		}
		if f.noVerify {
			return errors.New("--min-verified counts tasks proven cached: it cannot go with --no-verify")
		}
		f.wait = true
	}
	if f.dryRun {
		plan, err := c.DryRun(cmd.Context(), client.JobRequest(*req))
		return show(&f.clientFlags, cmd.OutOrStdout(), c, plan, err, writeDryRun)
	}
	ans, err := c.Submit(cmd.Context(), client.JobRequest(*req))
	if err != nil {
		var ae *client.Error
		if errors.As(err, &ae) && len(ae.ErrorURLs) > 0 {
			stderr := cmd.ErrOrStderr()
			noun := "URLs"
			if len(ae.ErrorURLs) == 1 {
				noun = "URL"
			}
			fmt.Fprintf(stderr, "the server refused %d %s:\n", len(ae.ErrorURLs), noun)
			for _, u := range ae.ErrorURLs {
				fmt.Fprintln(stderr, "  "+u)
			}
		}
		return c.explain(err)
	}
	if f.jsonOutput() {
		return c.writeAnswer(cmd.OutOrStdout())
	}
	if _, err := fmt.Fprintln(cmd.OutOrStdout(), ans.RequestID); err != nil {
		return fmt.Errorf("writing the job id: %w", err)
	}
	note := fmt.Sprintf("job %s accepted: %d URLs", ans.RequestID, len(req.URLs))
	if ans.TimeoutAt != "" {
		note += ", times out at " + showTime(ans.TimeoutAt)
	}
	if !f.wait {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s\nfollow it with: prewarm status %s --watch\n", note, ans.RequestID)
		return nil
	}
	fmt.Fprintln(cmd.ErrOrStderr(), note)
	// A keep-warm job runs until its keep_warm_until: a pipeline waits
	// for its first warm, which the gate judges.
	p, err := followJob(cmd, c, ans.RequestID, f.interval, firstWarmDone)
	if err != nil {
		return err
	}
	if err := f.gate(cmd.ErrOrStderr(), p); err != nil {
		return err
	}
	if firstWarmDone(p) {
		fmt.Fprintf(cmd.ErrOrStderr(), "job %s: first warm done; it keeps warming until %s (prewarm status %s)\n",
			p.RequestID, showTime(p.KeepWarm.Until), p.RequestID)
	}
	return nil
}

// firstWarmDone reports a keep-warm job whose first warm is done and which
// now keeps its objects warm.
func firstWarmDone(p *client.ProgressResponse) bool {
	return p.KeepWarm != nil && p.KeepWarm.State == "keeping"
}

// request checks the flags and builds the job's body, all but its URLs.
func (f *jobFlags) request() (*submitRequest, error) {
	// Checked here rather than with cobra's required flags, which would not
	// see a value given by PREWARM_CF_DOMAIN.
	// Required for CloudFront POPs only; the server (or run) says so,
	// naming a POP that needs it, when the job has one.
	cf := strings.TrimSpace(f.cfDomain)
	var given []string // the target types whose list was given
	for kind, list := range map[string][]string{"pop": f.pops, "country": f.countries, "region": f.regions} {
		if len(list) > 0 {
			given = append(given, kind)
		}
	}
	if len(given) > 1 {
		return nil, fmt.Errorf("give one of --pops, --countries and --regions, not %d: a job targets one kind of list", len(given))
	}
	tt := strings.ToLower(strings.TrimSpace(f.targetType))
	switch {
	case tt != "" && tt != "pop" && tt != "country" && tt != "region":
		return nil, fmt.Errorf("--target-type %q: use pop, country or region", f.targetType)
	case len(given) == 1 && tt == "":
		tt = given[0]
	case len(given) == 1 && tt != given[0]:
		// The server reads only the list of the target type, so the other
		// list would be dropped without a word.
		return nil, fmt.Errorf("--target-type %s does not match the list given (%s): leave --target-type out, or give its list", tt, listFlag(given[0]))
	}
	until, keepFor, err := keepWarm(f.keepWarmUntil, time.Now())
	if err != nil {
		return nil, err
	}
	var verify, tierFirst *bool
	if f.noVerify {
		verify = new(bool)
	}
	if f.noTierFirst {
		tierFirst = new(bool)
	}
	return &submitRequest{
		CFDomain:       cf,
		TargetType:     tt,
		POPs:           f.pops,
		Countries:      f.countries,
		Regions:        f.regions,
		Timeout:        f.timeout.ptr(),
		Header:         f.headers,
		InstanceCount:  f.instanceCount.ptr(),
		NeedInvalidate: f.needInvalidate,
		DistributionID: strings.TrimSpace(f.distributionID),
		Verify:         verify,
		Encodings:      f.encodings,
		Expand:         f.expand,
		MaxConcurrency: f.maxConcurrency.ptr(),
		MaxRPS:         f.maxRPS.ptr(),
		TierFirst:      tierFirst,
		Priority:       strings.TrimSpace(f.priority),
		Name:           strings.TrimSpace(f.name),
		NotifyURL:      strings.TrimSpace(f.notifyURL),
		ChangedSince:   strings.TrimSpace(f.changedSince),
		Discover:       strings.TrimSpace(f.discover),
		Vantage:        strings.TrimSpace(f.vantage),
		KeepWarmUntil:  until,
		KeepWarmFor:    keepFor,
		RefreshHeader:  strings.TrimSpace(f.refreshHeader),
	}, nil
}

// keepWarm is --keep-warm-until as the API takes it: a duration (90m, 6h)
// goes as keep_warm_for, which the server counts from the job's start (and
// a schedule from each run's); an RFC 3339 time as keep_warm_until (the
// server checks how far ahead it is). The errors name the flag, not the
// API's fields.
func keepWarm(v string, now time.Time) (until, keepFor string, err error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", "", nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d <= 0 {
			return "", "", fmt.Errorf("--keep-warm-until %s: must be in the future (a positive duration like 90m or 6h)", v)
		}
		return "", v, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return "", "", fmt.Errorf("--keep-warm-until %q: use an RFC 3339 time (2026-11-28T20:00:00Z) or a duration like 90m or 6h (days in hours: 72h)", v)
	}
	if !t.After(now) {
		return "", "", fmt.Errorf("--keep-warm-until %s: must be in the future", v)
	}
	return v, "", nil
}

func listFlag(targetType string) string {
	switch targetType {
	case "country":
		return "--countries"
	case "region":
		return "--regions"
	}
	return "--pops"
}

// readURLs reads a URL list: one per line, blank lines and # comments
// skipped. Checking the URLs is left to the server, which names every bad
// one at once.
func readURLs(stdin io.Reader, name string) ([]string, error) {
	r, label := stdin, "standard input"
	if name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("reading URLs: %w", err)
		}
		defer file.Close()
		r, label = file, name
	}
	sc := bufio.NewScanner(r)
	// A signed URL can be long; the scanner's default 64 KiB line is not
	// enough for every one.
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var urls []string
	for first := true; sc.Scan(); first = false {
		line := sc.Text()
		if first {
			line = strings.TrimPrefix(line, "\uFEFF") // a byte order mark left by some editors
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		urls = append(urls, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading URLs from %s: %w", label, err)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("no URLs in %s (one per line; blank lines and # comments are skipped)", label)
	}
	return urls, nil
}

// ---- status

func newStatus() *cobra.Command {
	return command(&cobra.Command{
		Use:   "status ID",
		Short: "Show a job's progress, or follow it to its end with --watch",
		Long: `Show the progress of job ID (GET /prewarm?req_id=ID): its status, finished
tasks, successes and failures, bytes fetched, and when it times out.

With --watch the job is followed until it ends (FINISHED, TIMEOUT, STOPPED or
FAILED): a progress bar on a terminal, or a plain line every few seconds on
standard error when it is not one (a pipe, a CI log); the final status is then
written to standard output.

Exit status: without --watch, 0 whenever the job was found. With --watch, 0
if the job FINISHED with no failed task, and 1 otherwise (some tasks failed,
or the job timed out, was stopped or failed), so a script or a CI step can
gate on the warm; 130 when interrupted (the job keeps running).` + clientFlagsHelp,
		Example: `  prewarm status 6f1c2e9a-4b7d-4e0f-9a51-0c3d2b8e7f11
  prewarm status "$id" --watch && echo "caches are warm"
  prewarm status "$id" --output json | jq .percentage_complete`,
		Args: cobra.ExactArgs(1),
	}, &statusFlags{})
}

type statusFlags struct {
	clientFlags
	watch    bool
	interval time.Duration
}

func (f *statusFlags) register(fs *pflag.FlagSet) {
	f.clientFlags.register(fs)
	fs.BoolVarP(&f.watch, "watch", "w", false, "follow the job until it ends; exit 0 only if it finished with no failure")
	fs.DurationVar(&f.interval, "interval", 500*time.Millisecond, "how often --watch asks the server")
}

// watchGrace is how long --watch keeps polling through a server that fails
// or cannot be reached after having answered, as during a restart.
const watchGrace = 30 * time.Second

func (f *statusFlags) run(cmd *cobra.Command, args []string) error {
	id := strings.TrimSpace(args[0])
	c, err := f.jobClient(id)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if !f.watch {
		p, err := c.Progress(cmd.Context(), id)
		return show(&f.clientFlags, out, c, p, err, writeStatus)
	}
	p, err := followJob(cmd, c, id, f.interval, nil)
	if err != nil {
		return err
	}
	if f.jsonOutput() {
		err = c.writeAnswer(out)
	} else {
		err = writeStatus(out, p)
	}
	if err != nil {
		return err
	}
	if jobProgress(p).Succeeded() {
		return nil
	}
	return &exitError{msg: watchOutcome(p), code: 1}
}

// followJob shows job id's progress on standard error until it ends (or
// until holds, when given), and returns how it ended. Ctrl-C stops
// following, not the job.
func followJob(cmd *cobra.Command, c *apiClient, id string, interval time.Duration, until func(*client.ProgressResponse) bool) (*client.ProgressResponse, error) {
	if interval < 10*time.Millisecond {
		return nil, fmt.Errorf("--interval %s: use at least 10ms", interval)
	}
	ctx, stop := untilStopped(cmd.Context())
	defer stop()
	stderr := cmd.ErrOrStderr()
	view := NewProgressView(stderr, isTerminal(stderr))
	p, err := c.Wait(ctx, id, &client.WaitOptions{Interval: interval, Grace: watchGrace, Until: until,
		OnProgress: func(p *client.ProgressResponse) {
			if jp := jobProgress(p); jp.Terminal() || until != nil && until(p) {
				view.Finish(jp)
			} else {
				view.Update(jp)
			}
		}})
	if err != nil {
		view.breakLine()
		if ctx.Err() != nil && cmd.Context().Err() == nil {
			return nil, &exitError{msg: fmt.Sprintf("stopped watching; job %s keeps running (prewarm status %s)", id, id), code: 130}
		}
		return nil, c.explain(err)
	}
	return p, nil
}

// watchOutcome explains why a watched job did not end as hoped.
func watchOutcome(p *client.ProgressResponse) string {
	hint := fmt.Sprintf("; see prewarm summary %s", p.RequestID)
	switch {
	case p.Status == "FAILED" && p.Message != "":
		return fmt.Sprintf("job %s FAILED: %s", p.RequestID, flattenLine(p.Message))
	case p.Status == "FINISHED":
		return fmt.Sprintf("job %s finished with %d of %d tasks failed%s", p.RequestID, p.FailedCount, p.TotalCount, hint)
	case firstWarmDone(p):
		return fmt.Sprintf("job %s's first warm done with %d of %d tasks failed; it keeps warming until %s%s", p.RequestID,
			p.FailedCount, p.TotalCount, showTime(p.KeepWarm.Until), hint)
	}
	return fmt.Sprintf("job %s ended %s: %d/%d tasks done, %d failed%s", p.RequestID, p.Status, p.DownloadCount,
		p.TotalCount, p.FailedCount, hint)
}

// writeStatus writes a progress answer for people.
func writeStatus(w io.Writer, p *client.ProgressResponse) error {
	kv := newKVWriter(w)
	ended := jobProgress(p).Terminal()
	kv.add("Job", p.RequestID)
	kv.add("Status", p.Status)
	progress := fmt.Sprintf("%d%%  %d/%d tasks done", p.PercentageComplete, p.DownloadCount, p.TotalCount)
	if p.TotalCount == 0 && !ended {
		progress += " (planning)"
	}
	kv.add("Progress", progress)
	kv.add("OK / failed", fmt.Sprintf("%d / %d", p.SuccessCount, p.FailedCount))
	if p.VerifiedCount > 0 || p.NotCachedCount > 0 {
		kv.add("Cached", fmt.Sprintf("%d verified, %d not cached", p.VerifiedCount, p.NotCachedCount))
	}
	fetched := humanBytes(p.DownloadSize)
	if p.TotalSize > 0 {
		fetched += " of about " + humanBytes(p.TotalSize)
	}
	kv.add("Fetched", fetched)
	kv.add("In progress", fmt.Sprintf("%d tasks", p.InProgressTaskCount))
	kv.add("Available", fmt.Sprintf("%d tasks waiting for an agent", p.AvailableTaskCount))
	kv.add("Created", showTime(p.CreatedAt))
	kv.add("Updated", showTime(p.LastUpdateTime))
	if p.TimeoutAt != "" {
		kv.add("Timeout at", timeoutText(p, ended))
	}
	if m := flattenLine(p.Message); m != "" {
		kv.add("Message", m)
	}
	if p.Waiting != "" {
		kv.add("Waiting", p.Waiting)
	}
	if p.Sharing > 0 && !ended {
		kv.add("Sharing", fmt.Sprintf("the agents with %d other running jobs", p.Sharing))
	}
	if p.Share != "" && !ended {
		kv.add("Share", p.Share+" of the agents while other jobs run")
	}
	if p.KeepWarm != nil {
		kv.add("Keep warm", keepWarmText(p.KeepWarm, p.Timestamp, ended))
	}
	if p.Priority != "" && p.Priority != "normal" {
		kv.add("Priority", p.Priority)
	}
	if err := kv.flush(); err != nil {
		return fmt.Errorf("writing the status: %w", err)
	}
	return nil
}

// timeoutText is the job's deadline with the time left; a keep-warm job's
// timeout_at is its first warm's, which no longer applies once that is done.
func timeoutText(p *client.ProgressResponse, ended bool) string {
	at := showTime(p.TimeoutAt)
	switch {
	case p.KeepWarm == nil:
		return at + untilText(p.Timestamp, p.TimeoutAt, ended)
	case p.KeepWarm.State == "keeping":
		return at + " (the first warm's; done)"
	default:
		return at + " (the first warm's)" + untilText(p.Timestamp, p.TimeoutAt, ended)
	}
}

// keepWarmText is a keep-warm job's keeping on one line: "keeping until
// 2026-11-28 23:00:00 (in 1h20m): 240 kept, 2 not kept, 5130 re-warms (0
// failed), next 21:14:03".
func keepWarmText(kw *client.KeepWarm, now string, ended bool) string {
	line := fmt.Sprintf("%s until %s%s: %d kept, %d queued, %d fresh to the end, %d not kept, %d re-warms (%d failed)",
		kw.State, showTime(kw.Until), untilText(now, kw.Until, ended), kw.Kept, kw.Queued, kw.FreshToEnd, kw.NotKept,
		kw.Rewarms, kw.Failed)
	if kw.RefreshHeader != "" {
		line += ", refresh header " + kw.RefreshHeader
	}
	if kw.NextRewarm != "" {
		line += ", next re-warm " + showTime(kw.NextRewarm)
	}
	return line
}

// notKeptLines are the URLs a keep-warm job cannot keep warm, a line
// each: "https://…/a.css: no-store (at 3 POPs)".
func notKeptLines(ns []client.NotKeptURL) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, fmt.Sprintf("%s: %s (at %d POPs)", n.URL, n.Reason, n.POPs))
	}
	return out
}

// untilText is " (in 24m05s)" for a running job's deadline, measured from
// the answer's own timestamp so that the client's clock plays no part.
func untilText(now, at string, ended bool) string {
	n, ok1 := parseAPITime(now)
	t, ok2 := parseAPITime(at)
	if ended || !ok1 || !ok2 {
		return ""
	}
	if t.Before(n) {
		return " (passed)"
	}
	return " (in " + humanDuration(t.Sub(n)) + ")"
}

// ---- summary

func newSummary() *cobra.Command {
	return command(&cobra.Command{
		Use:   "summary ID",
		Short: "Show a job's failures and per-POP counts, or download its CSV report",
		Long: `Show what went wrong in job ID (GET /summary?req_id=ID): the POPs that failed
(did not resolve, or never accepted a connection), the URLs that failed or
were fetched but not cached, warnings, the per-POP counts with the share of
tasks verified cached (GET /jobs/ID), and the link to the CSV report of
failed tasks.

With --csv the report itself is written to standard output. Its link is
signed, so no API key is sent with it; --all-tasks lists every task, not only
the failed ones.` + clientFlagsHelp,
		Example: `  prewarm summary "$id"
  prewarm summary "$id" --csv > failures.csv
  prewarm summary "$id" --csv --all-tasks | grep ',MISS,'
  prewarm summary "$id" --output json | jq -r '.failure_urls[]'`,
		Args: cobra.ExactArgs(1),
	}, &summaryFlags{})
}

type summaryFlags struct {
	clientFlags
	csv      bool
	allTasks bool
	limit    int
}

func (f *summaryFlags) register(fs *pflag.FlagSet) {
	f.clientFlags.register(fs)
	fs.BoolVar(&f.csv, "csv", false, "write the CSV report of failed tasks to standard output")
	fs.BoolVar(&f.allTasks, "all-tasks", false, "with --csv: every task, not only the failed ones")
	fs.IntVar(&f.limit, "limit", 20, "most failure POPs and URLs listed (0: all)")
}

func (f *summaryFlags) run(cmd *cobra.Command, args []string) error {
	id := strings.TrimSpace(args[0])
	c, err := f.jobClient(id)
	if err != nil {
		return err
	}
	if f.allTasks && !f.csv {
		return errors.New("--all-tasks goes with --csv")
	}
	if f.limit < 0 {
		return fmt.Errorf("--limit %d: use 0 (all) or more", f.limit)
	}
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	s, err := c.Summary(ctx, id)
	if err != nil {
		return c.explain(err)
	}
	if f.csv {
		// The link is signed: no API key goes with it, as it may point at
		// another host (a public URL, or the original solution's S3).
		return c.explain(c.DownloadReport(ctx, s.FailurePOPURLsReport, client.ReportOptions{AllTasks: f.allTasks}, out))
	}
	if f.jsonOutput() {
		return c.writeAnswer(out)
	}
	// The per-POP counts are prewarm's own (GET /jobs/ID); the original
	// solution has none, so without them the summary is still shown.
	var rows []POPRow
	if job, err := c.Job(ctx, id); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "no per-POP counts: %v\n", c.explain(err))
	} else {
		rows = popRows(job.POPs)
	}
	return writeSummary(out, s, rows, f.limit)
}

func writeSummary(w io.Writer, s *client.SummaryResponse, rows []POPRow, limit int) error {
	kv := newKVWriter(w)
	kv.add("Job", s.RequestID)
	kv.add("Status", s.Status)
	kv.add("Created", showTime(s.CreatedAt))
	kv.add("Updated", showTime(s.LastUpdateTime))
	if m := flattenLine(s.Message); m != "" {
		kv.add("Message", m)
	}
	if err := kv.flush(); err != nil {
		return fmt.Errorf("writing the summary: %w", err)
	}
	var b strings.Builder
	if len(rows) > 0 {
		b.WriteString("\n")
		if err := WritePOPTable(&b, rows); err != nil {
			return err
		}
	}
	if len(s.Warnings) > 0 {
		writeList(&b, "Warnings", s.Warnings, 0)
	}
	writeList(&b, "Failure POPs", s.FailurePOPs, limit)
	writeList(&b, "Failure URLs", s.FailureURLs, limit)
	if len(s.NotCachedURLs) > 0 {
		writeList(&b, "Fetched but not cached", s.NotCachedURLs, limit)
	}
	if len(s.NotCachedReasons) > 0 {
		writeList(&b, "Why not cached", reasonLines(s.NotCachedReasons), limit)
	}
	if len(s.TasksNotDone) > 0 {
		writeList(&b, "Not done when the job ended", notDoneLines(s.TasksNotDone), limit)
	}
	if len(s.NotKeptURLs) > 0 {
		writeList(&b, "Not kept warm", notKeptLines(s.NotKeptURLs), limit)
	}
	if s.FailurePOPURLsReport != "" {
		fmt.Fprintf(&b, "\nReport: %s\n  (prewarm summary %s --csv > failures.csv)\n", s.FailurePOPURLsReport, s.RequestID)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the summary: %w", err)
	}
	return nil
}

// notDoneLines are the POPs where tasks were left, a line each:
// "HOLE1-P1: 128 tasks (last error: no response headers in 30s …)".
func notDoneLines(ps []client.POPNotDone) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		line := fmt.Sprintf("%s: %d tasks", p.POP, p.Tasks)
		if p.LastError != "" {
			line += " (last error: " + p.LastError + ")"
		}
		out = append(out, line)
	}
	return out
}

// reasonLines are the reasons tasks were not cached, a line each:
// "no-store: 3 tasks (e.g. https://… at FRA60-P1)".
func reasonLines(rs []client.NotCachedReason) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s: %d tasks (e.g. %s at %s)", r.Reason, r.Count, r.ExampleURL, r.ExamplePOP))
	}
	return out
}

// writeList writes a titled list, cut at limit items (0: no limit) so that
// a job whose every URL failed does not flood the terminal.
func writeList(b *strings.Builder, title string, items []string, limit int) {
	if len(items) == 0 {
		fmt.Fprintf(b, "\n%s: none\n", title)
		return
	}
	fmt.Fprintf(b, "\n%s (%d):\n", title, len(items))
	shown := items
	if limit > 0 && len(items) > limit {
		shown = items[:limit]
	}
	for _, it := range shown {
		fmt.Fprintf(b, "  %s\n", it)
	}
	if more := len(items) - len(shown); more > 0 {
		fmt.Fprintf(b, "  … and %d more (--limit 0, --output json or --csv for all)\n", more)
	}
}

// ---- stop

func newStop() *cobra.Command {
	return command(&cobra.Command{
		Use:   "stop ID",
		Short: "Force-stop a job: its queued tasks are dropped, its fetches in flight aborted",
		Long: `Stop job ID at once (POST /jobs/ID/stop): its queued tasks are dropped and its
fetches in flight aborted, on every agent; other jobs go on. A job that already
ended is left as it is (exit status 1, saying how it ended).` + clientFlagsHelp,
		Example: `  prewarm stop 6f1c2e9a-4b7d-4e0f-9a51-0c3d2b8e7f11`,
		Args:    cobra.ExactArgs(1),
	}, &stopFlags{})
}

type stopFlags struct{ clientFlags }

func (f *stopFlags) run(cmd *cobra.Command, args []string) error {
	id := args[0]
	c, err := f.jobClient(id)
	if err != nil {
		return err
	}
	ans, err := c.StopJob(cmd.Context(), id)
	return f.tell(cmd, c, ans, err)
}

// tell prints an action's answer: its message, or with --output json the
// answer as it came.
func (f *clientFlags) tell(cmd *cobra.Command, c *apiClient, ans *client.InstancesResponse, err error) error {
	return show(f, cmd.OutOrStdout(), c, ans, err, writeMessage)
}

// writeMessage writes an action's answer: its message.
func writeMessage(w io.Writer, ans *client.InstancesResponse) error {
	if _, err := fmt.Fprintln(w, ans.Message); err != nil {
		return fmt.Errorf("writing the answer: %w", err)
	}
	return nil
}

// ---- rotate-report-secret

func newRotateReportSecret() *cobra.Command {
	return command(&cobra.Command{
		Use:   "rotate-report-secret",
		Short: "Replace the secret report links are signed with: every link given so far stops opening",
		Long: `Replace the secret that signs report links (POST /report-secret/rotate, with an
admin key), as after a link was shared too widely. Every link given so far stops
opening; GET /summary gives fresh ones. Servers sharing the database follow
within a minute. Links also expire by themselves (serve --report-link-ttl).` + clientFlagsHelp,
		Args: cobra.NoArgs,
	}, &rotateFlags{})
}

type rotateFlags struct{ clientFlags }

func (f *rotateFlags) run(cmd *cobra.Command, _ []string) error {
	return query(&f.clientFlags, cmd, (*apiClient).RotateReportSecret, writeMessage)
}

// ---- instances

func newInstances() *cobra.Command {
	return command(&cobra.Command{
		Use:   "instances",
		Short: "Show the agents and the desired capacity, or set it",
		Long: `Show the desired capacity (how many agents work; the others stand by) and the
live agents with their load and last heartbeat (GET /instances).

--desired N sets the desired capacity (POST /instances; 0 pauses every agent).
With --stop JOB_ID the same request force-stops that job: the original API sets
the capacity and stops a job in one call, so --stop needs --desired.` + clientFlagsHelp,
		Example: `  prewarm instances
  prewarm instances --desired 4
  prewarm instances --desired 0                 # pause all warming
  prewarm instances --desired 2 --stop "$id"    # stop one job, keep two agents working`,
		Args: cobra.NoArgs,
	}, &instancesFlags{})
}

type instancesFlags struct {
	clientFlags
	desired optional[int]
	stop    string
}

func (f *instancesFlags) register(fs *pflag.FlagSet) {
	f.clientFlags.register(fs)
	fs.Var(&f.desired, "desired", "set the desired capacity to `N` agents working (0..300; 0 pauses)")
	fs.StringVar(&f.stop, "stop", "", "with --desired: force-stop the job `JOB_ID`")
}

func (f *instancesFlags) run(cmd *cobra.Command, _ []string) error {
	c, err := f.client()
	if err != nil {
		return err
	}
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	stop := strings.TrimSpace(f.stop)
	if stop != "" && !f.desired.set {
		return errors.New("--stop needs --desired: the API sets the capacity and stops the job in one call")
	}
	if f.desired.set {
		ans, err := c.SetInstances(ctx, client.InstancesRequest{DesiredCapacity: f.desired.v, ReqID: stop, ForceStop: stop != ""})
		return f.tell(cmd, c, ans, err)
	}
	ans, err := c.Instances(ctx)
	return show(&f.clientFlags, out, c, ans, err, writeInstances)
}

func writeInstances(w io.Writer, ans *client.InstancesStatus) error {
	active := 0
	for _, a := range ans.Agents {
		if a.State == "active" {
			active++
		}
	}
	kv := newKVWriter(w)
	kv.add("Desired capacity", fmt.Sprint(ans.DesiredCapacity))
	kv.add("Live agents", fmt.Sprintf("%d (%d active)", len(ans.Agents), active))
	if err := kv.flush(); err != nil {
		return fmt.Errorf("writing the instances: %w", err)
	}
	if len(ans.Agents) == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return fmt.Errorf("writing the instances: %w", err)
	}
	return writeAgentTable(w, ans.Agents, ans.Timestamp)
}

// writeIndented writes a JSON body indented; a body that is not JSON is
// written as it came.
func writeIndented(w io.Writer, data []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(data), "", "  "); err != nil {
		buf.Reset()
		buf.Write(bytes.TrimSpace(data))
	}
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing the answer: %w", err)
	}
	return nil
}

// optional is a numeric flag that remembers whether it was given, so that
// 0 can be sent when asked for and nothing otherwise (the server then
// applies its own default). applyEnv calls Set directly, which pflag's
// Changed does not see; set does.
type optional[T int | float64] struct {
	v   T
	set bool
}

func (o *optional[T]) Set(s string) error {
	var v T
	switch p := any(&v).(type) {
	case *int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		*p = n
	case *float64:
		n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		*p = n
	}
	o.v, o.set = v, true
	return nil
}

func (o *optional[T]) String() string {
	if !o.set {
		return ""
	}
	return fmt.Sprint(o.v)
}

func (o *optional[T]) Type() string {
	if _, ok := any(o.v).(int); ok {
		return "int"
	}
	return "float"
}

func (o *optional[T]) ptr() *T {
	if !o.set {
		return nil
	}
	v := o.v
	return &v
}
