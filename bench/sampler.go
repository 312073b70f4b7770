package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The latency sampler is a child process of its own, as a user's client
// would be: the bench process also hosts the mini CDN's origin, which is busy
// serving the cold POPs during the plan case, and a reading taken there would
// include the time a response waits for that process's own scheduler.
const samplerEnv = "PREWARM_BENCH_SAMPLER"

// sampleEvery is the pause between two rounds of readings.
const sampleEvery = 50 * time.Millisecond

type sampler struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   bytes.Buffer
}

// startSampler reads each of paths under base in turn, every sampleEvery,
// until stop.
func startSampler(base string, paths ...string) (*sampler, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	s := &sampler{cmd: exec.Command(self)}
	s.cmd.Env = append(os.Environ(), samplerEnv+"="+base+" "+strings.Join(paths, " "))
	s.cmd.Stdout, s.cmd.Stderr = &s.out, os.Stderr
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	return s, s.cmd.Start()
}

// stop ends the sampling and returns the latencies in milliseconds, by path.
func (s *sampler) stop() (map[string][]float64, error) {
	s.stdin.Close()
	if err := s.cmd.Wait(); err != nil {
		return nil, fmt.Errorf("sampler: %w", err)
	}
	lat := map[string][]float64{}
	sc := bufio.NewScanner(&s.out)
	for sc.Scan() {
		path, ms, _ := strings.Cut(sc.Text(), "\t")
		v, err := strconv.ParseFloat(ms, 64)
		if err != nil {
			return nil, fmt.Errorf("sampler output %q", sc.Text())
		}
		lat[path] = append(lat[path], v)
	}
	return lat, nil
}

// runSampler is the child's side: spec is the base URL and the paths,
// space-separated; it samples until its standard input closes.
func runSampler(spec string) error {
	fields := strings.Fields(spec)
	if len(fields) < 2 {
		return fmt.Errorf("%s=%q: want a base URL and paths", samplerEnv, spec)
	}
	base, paths := fields[0], fields[1:]
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	client := &http.Client{Timeout: 30 * time.Second}
	for {
		for _, p := range paths {
			req, err := http.NewRequest("GET", base+p, nil)
			if err != nil {
				return err
			}
			req.Header.Set("x-api-key", apiKey)
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			took := time.Since(start)
			if err != nil || resp.StatusCode != 200 {
				return fmt.Errorf("GET %s: %d %v", p, resp.StatusCode, err)
			}
			fmt.Fprintf(out, "%s\t%.3f\n", p, float64(took.Microseconds())/1000)
		}
		select {
		case <-done:
			return nil
		case <-time.After(sampleEvery):
		}
	}
}
