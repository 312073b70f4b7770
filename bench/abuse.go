package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
)

// abuse: what a hostile or careless client costs the server, as a user
// sees it. GET /prewarm latency (2,000 requests in a row) beside the same
// while 8 clients hold a 60,000-task report they read 4 KiB of and stopped
// reading, and whether the agent stayed listed; then the peak RSS a fresh
// serve gains refusing one body of just under 32 MiB (413), then four at
// once.
func (b *bench) abuse() error {
	st, err := b.setUp("a hostile client", "abuse", popSpecs(1, nil))
	if err != nil {
		return err
	}
	defer st.close()
	if err := b.slowReaders(context.Background(), st); err != nil {
		return err
	}
	return b.bigBodies(st.cdn, st.codes)
}

const (
	abuseReaders  = 8
	abuseRequests = 2000
	// abuseURLs makes a report of about 8 MiB, more than a loopback
	// connection buffers (about 4 MiB), so the server's writers block.
	abuseURLs = 60_000
	abuseHold = 12 * time.Second // the agents' live window (10 s) and a heartbeat
)

// slowReaders times GET /summary of a job of abuseURLs tasks, then GET
// /prewarm and the agents listed while abuseReaders clients hold that
// job's report and stop reading it.
func (b *bench) slowReaders(ctx context.Context, st *stage) error {
	cdn, srv := st.cdn, st.srv
	urls := make([]string, abuseURLs)
	for i := range urls {
		urls[i] = cdn.URL(fmt.Sprintf("/abuse/%d?size=512", i))
	}
	id, _, err := srv.warm(ctx, client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain, POPs: st.codes})
	if err != nil {
		return err
	}
	report, err := b.summaryTimes(ctx, srv, id, len(urls))
	if err != nil {
		return err
	}
	addr, target, size, err := allTasksReport(ctx, srv, id, report)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  report of every task: %.1f MiB\n", float64(size)/(1<<20))
	var runs []stallRun
	for range b.runs {
		r, err := stalledRun(ctx, srv, id, addr, target)
		if err != nil {
			return err
		}
		runs = append(runs, r)
		fmt.Fprintf(os.Stderr, "  run %d: p50/p99 %.2f/%.2f ms with readers (%.2f/%.2f from 3 s on), %.2f/%.2f without; agents %d → %d\n",
			len(runs), percentile(r.with, 0.5), percentile(r.with, 0.99), percentile(r.later, 0.5), percentile(r.later, 0.99),
			percentile(r.without, 0.5), percentile(r.without, 0.99), r.before, r.after)
	}
	b.addStallRows(runs, len(urls), size)
	return nil
}

// summaryTimes times GET /summary of job id, of tasks tasks, b.runs
// times, adds its row and returns the summary's report link.
func (b *bench) summaryTimes(ctx context.Context, srv *serve, id string, tasks int) (string, error) {
	var sums []float64
	var report string
	for range b.runs {
		start := time.Now()
		sum, err := srv.Summary(ctx, id)
		if err != nil {
			return "", err
		}
		sums, report = append(sums, time.Since(start).Seconds()), sum.FailurePOPURLsReport
	}
	b.add(row{what: fmt.Sprintf("GET /summary of a %d-task job (SQLite), s", tasks), prewarm: fmt.Sprintf("%.3f", median(sums)),
		baseline: "—", ratio: "—", bar: fmt.Sprintf("≤ 1 s: %s", verdict(median(sums) <= 1))})
	return report, nil
}

// allTasksReport is where to ask for the report of every task of job id
// (the server's address and the request target), from its summary's
// report link, and that report's size, read once.
func allTasksReport(ctx context.Context, srv *serve, id, report string) (addr, target string, size countWriter, err error) {
	base, err := url.Parse(srv.URL)
	if err != nil {
		return "", "", 0, err
	}
	link, err := base.Parse(report)
	if err != nil || report == "" {
		return "", "", 0, fmt.Errorf("job %s: no report link (%q)", id, report)
	}
	q := link.Query()
	q.Set("tasks", "all")
	link.RawQuery = q.Encode()
	if err := srv.DownloadReport(ctx, link.String(), client.ReportOptions{}, &size); err != nil {
		return "", "", 0, err
	}
	return base.Host, link.RequestURI(), size, nil
}

// stallRun is one run of stalledRun: GET /prewarm times (ms) without
// readers, with them from their start and from 3 s on, and the live
// agents before the readers and once they had stalled for abuseHold.
type stallRun struct {
	without, with, later []float64
	before, after        int
}

// stalledRun times GET /prewarm of job id, then the same while
// abuseReaders clients hold target on addr and read nothing, and counts
// the live agents before them and after abuseHold of them.
func stalledRun(ctx context.Context, srv *serve, id, addr, target string) (stallRun, error) {
	var r stallRun
	var err error
	if r.without, err = progressTimes(ctx, srv, id); err != nil {
		return r, err
	}
	if r.before, err = liveAgents(ctx, srv); err != nil {
		return r, err
	}
	conns, err := stallReaders(addr, target, abuseReaders)
	if err != nil {
		return r, err
	}
	stalled := time.Now()
	r.with, err = progressTimes(ctx, srv, id)
	// Again once the writers have filled the connections' buffers
	// and blocked: what the readers cost after their first burst.
	if err == nil {
		time.Sleep(time.Until(stalled.Add(3 * time.Second)))
		r.later, err = progressTimes(ctx, srv, id)
	}
	// Held past the agents' live window, so an agent starved of its
	// heartbeats would be gone from the list.
	time.Sleep(time.Until(stalled.Add(abuseHold)))
	after, aerr := liveAgents(ctx, srv)
	for _, c := range conns {
		c.Close()
	}
	if err != nil {
		return r, err
	}
	if aerr != nil {
		return r, fmt.Errorf("GET /instances with %d stalled report readers: %w", abuseReaders, aerr)
	}
	r.after = after
	return r, nil
}

// addStallRows adds the rows of the runs of stalledRun, over a report of
// tasks tasks and size bytes: the medians of the runs' p50 and p99, and
// the fewest live agents over the runs.
func (b *bench) addStallRows(runs []stallRun, tasks int, size countWriter) {
	var p50s, p99s, basep50s, basep99s, laterp50s, laterp99s []float64
	agentsBefore, agentsAfter := -1, -1 // the fewest over the runs
	for _, r := range runs {
		if agentsBefore < 0 || r.before < agentsBefore {
			agentsBefore = r.before
		}
		if agentsAfter < 0 || r.after < agentsAfter {
			agentsAfter = r.after
		}
		p50s, p99s = append(p50s, percentile(r.with, 0.5)), append(p99s, percentile(r.with, 0.99))
		laterp50s, laterp99s = append(laterp50s, percentile(r.later, 0.5)), append(laterp99s, percentile(r.later, 0.99))
		basep50s, basep99s = append(basep50s, percentile(r.without, 0.5)), append(basep99s, percentile(r.without, 0.99))
	}
	p99, base99, later99 := median(p99s), median(basep99s), median(laterp99s)
	b.add(row{what: fmt.Sprintf("GET /prewarm p50 / p99 while %d clients start reading a report (%d tasks, %.1f MiB each) and the server writes what their connections buffer; %d requests in a row, ms",
		abuseReaders, tasks, float64(size)/(1<<20), abuseRequests),
		prewarm: fmt.Sprintf("%.2f / %.2f", median(p50s), p99), baseline: fmt.Sprintf("%.2f / %.2f (no readers)", median(basep50s), base99),
		ratio: fmt.Sprintf("%.2f (p99 with ÷ without)", p99/base99), bar: "— (the CPU of writing 8 reports at once)"})
	b.add(row{what: fmt.Sprintf("GET /prewarm p50 / p99 while the %d readers hold their connections and read nothing (from 3 s on), ms", abuseReaders),
		prewarm: fmt.Sprintf("%.2f / %.2f", median(laterp50s), later99), baseline: fmt.Sprintf("%.2f / %.2f (no readers)", median(basep50s), base99),
		ratio: fmt.Sprintf("%.2f (p99 with ÷ without)", later99/base99), bar: fmt.Sprintf("p99 ≤ 1.5× without: %s", verdict(later99/base99 <= 1.5))})
	b.add(row{what: fmt.Sprintf("live agents listed by GET /instances after the %d readers had stalled for %s", abuseReaders, abuseHold),
		prewarm: strconv.Itoa(agentsAfter), baseline: fmt.Sprintf("%d (before the readers)", agentsBefore), ratio: "—",
		bar: fmt.Sprintf("the agent stayed live: %s", verdict(agentsAfter >= 1 && agentsAfter == agentsBefore))})
}

// progressTimes times abuseRequests GET /prewarm in a row, in ms.
func progressTimes(ctx context.Context, srv *serve, id string) ([]float64, error) {
	took := make([]float64, 0, abuseRequests)
	for range abuseRequests {
		start := time.Now()
		if _, err := srv.Progress(ctx, id); err != nil {
			return nil, err
		}
		took = append(took, float64(time.Since(start).Microseconds())/1000)
	}
	return took, nil
}

// liveAgents counts the live agents GET /instances lists.
func liveAgents(ctx context.Context, srv *serve) (int, error) {
	in, err := srv.Instances(ctx)
	if err != nil {
		return 0, err
	}
	return len(in.Agents), nil
}

// stallReaders opens n connections that each ask for target, read the
// first 4 KiB of the answer and then read nothing more.
func stallReaders(addr, target string, n int) ([]net.Conn, error) {
	var conns []net.Conn
	fail := func(err error) ([]net.Conn, error) {
		for _, c := range conns {
			c.Close()
		}
		return nil, err
	}
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return fail(err)
		}
		conns = append(conns, c)
		if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, addr); err != nil {
			return fail(err)
		}
		buf := make([]byte, 4<<10)
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil {
			return fail(fmt.Errorf("report reader: %w", err))
		}
		if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 ")) {
			line, _, _ := bytes.Cut(buf, []byte("\r\n"))
			return fail(fmt.Errorf("report reader: answered %q", line))
		}
		_ = c.SetReadDeadline(time.Time{})
	}
	return conns, nil
}

type countWriter int64

func (w *countWriter) Write(p []byte) (int, error) {
	*w += countWriter(len(p))
	return len(p), nil
}

// bigBodies measures the peak RSS a fresh serve gains refusing one body of
// just under the 32 MiB limit, then four at once. VmHWM is a high-water
// mark, so both rises are from the same idle level, one body first.
func (b *bench) bigBodies(cdn *minicdn.CDN, codes []string) error {
	body, n := bigBody(cdn.CFDomain, codes)
	mib := func(x int64) float64 { return float64(x) / (1 << 20) }
	fmt.Fprintf(os.Stderr, "  refused bodies: %.2f MiB, %d URLs each\n", mib(int64(len(body))), n)
	var ones, fours, idles []float64
	for run := range b.runs {
		srv, err := b.startServe(fetchArgs(cdn, filepath.Join(b.dir, fmt.Sprintf("abuse-body-%d", run)), "")...)
		if err != nil {
			return err
		}
		idle := peakRSS(srv.PID())
		err = postRefused(srv.URL, body, 1)
		one := peakRSS(srv.PID())
		if err == nil {
			err = postRefused(srv.URL, body, 4)
		}
		four := peakRSS(srv.PID())
		srv.stop()
		if err != nil {
			return err
		}
		idles = append(idles, mib(idle))
		ones, fours = append(ones, mib(one-idle)), append(fours, mib(four-idle))
		fmt.Fprintf(os.Stderr, "  run %d: VmHWM idle %.0f MiB; over idle, +%.0f after one body, +%.0f after four more at once\n",
			run+1, mib(idle), mib(one-idle), mib(four-idle))
	}
	size := mib(int64(len(body)))
	for _, r := range []struct {
		what string
		rise float64
		k    int
		bar  float64
	}{
		{fmt.Sprintf("one %.0f MiB body of %.2f M URLs", size, float64(n)/1e6), median(ones), 1, 64},
		{"4 such bodies at once, measured after the one, in the same process (from the same idle level)", median(fours), 4, 256},
	} {
		b.add(row{what: "serve peak RSS (VmHWM) rise refusing " + r.what + ", 413",
			prewarm: fmt.Sprintf("%.0f MiB", r.rise), baseline: fmt.Sprintf("%.1f MiB sent (idle VmHWM %.0f MiB)", size*float64(r.k), median(idles)),
			ratio: fmt.Sprintf("%.2f (rise ÷ bytes sent)", r.rise/(size*float64(r.k))),
			bar:   fmt.Sprintf("< %.0f MiB: %s", r.bar, verdict(r.rise < r.bar))})
	}
	return nil
}

// bigBody is a job of as many short URLs as fit in just under 32 MiB, and
// how many that is.
func bigBody(cf string, codes []string) ([]byte, int) {
	const limit = 32<<20 - 1024
	tail := fmt.Sprintf(`],"cf_domain":%q,"pops":["%s"]}`, cf, strings.Join(codes, `","`))
	var buf bytes.Buffer
	buf.Grow(limit)
	buf.WriteString(`{"url_list":[`)
	n := 0
	for i := 1_000_000; ; i++ {
		entry := fmt.Sprintf(`"https://a.test/%d"`, i)
		if buf.Len()+1+len(entry)+len(tail) > limit {
			break
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(entry)
		n++
	}
	buf.WriteString(tail)
	return buf.Bytes(), n
}

// postRefused POSTs body to /prewarm k times at once, each on its own
// connection, and expects 413 for each.
func postRefused(base string, body []byte, k int) error {
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, base+"/prewarm", bytes.NewReader(body))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-api-key", apiKey)
			hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Minute}
			resp, err := hc.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				errs[i] = fmt.Errorf("POST /prewarm of %d bytes: %s %s, want 413", len(body), resp.Status, msg)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
