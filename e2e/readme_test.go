package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
)

// The README's offline try, as a newcomer runs it: its shell blocks, word
// for word but for the addresses (this test's own, so that it runs beside
// the others), with the built prewarm on PATH. The warm must end FINISHED
// and verified, and the POP must then answer a HIT, as the README says.
func TestReadmeOfflineTry(t *testing.T) {
	t.Parallel()
	minicdn.Require(t, "nginx", "curl")
	setup, warm := readmeTry(t)
	addrs := strings.NewReplacer(
		"127.0.0.1:8000", "127.0.93.1:8000", // the origin
		"127.0.0.1:8080", "127.0.93.1:8080", // prewarm
		"127.0.0.2", "127.0.93.2", // the POP
	)

	bin := t.TempDir()
	if err := os.Symlink(binary, filepath.Join(bin, "prewarm")); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH")+":/usr/sbin")
	log, err := os.Create(filepath.Join(t.TempDir(), "setup.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	// The setup leaves nginx and prewarm running; it prints where, to tidy
	// up after. Its output goes to a file: a pipe would stay open as long
	// as the processes it started.
	sh := exec.Command("bash", "-euo", "pipefail", "-c", addrs.Replace(setup)+"\necho \"TRY $PW $!\"")
	sh.Env, sh.Stdout, sh.Stderr = env, log, log
	runErr := sh.Run()
	out, _ := os.ReadFile(log.Name())
	var dir string
	var pid int
	if m := regexp.MustCompile(`(?m)^TRY (\S+) (\d+)$`).FindSubmatch(out); m != nil {
		dir = string(m[1])
		fmt.Sscan(string(m[2]), &pid)
		t.Cleanup(func() { tidyTry(t, dir, pid) })
	}
	if runErr != nil || dir == "" {
		t.Fatalf("the README's setup failed: %v\n%s", runErr, out)
	}
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("setup and prewarm output:\n%s", b)
		}
	}()

	run := func(cmd string) (string, error) {
		c := exec.Command("bash", "-c", addrs.Replace(cmd))
		c.Env, c.Dir = env, dir
		b, err := c.CombinedOutput()
		return string(b), err
	}
	if len(warm) != 3 {
		t.Fatalf("the README's warm block has %d commands, want 3 (submit, progress, a viewer's HEAD): %q", len(warm), warm)
	}
	// The README gives prewarm no time to start; a newcomer retries a
	// submit that found nothing listening.
	var id string
	eventually(t, 20*time.Second, 200*time.Millisecond, func() error {
		out, err := run(warm[0])
		var a struct {
			Status    string `json:"status"`
			RequestID string `json:"request_id"`
		}
		if err != nil || json.Unmarshal([]byte(out), &a) != nil || a.Status != "Success" {
			return fmt.Errorf("submit: %v: %s", err, out)
		}
		id = a.RequestID
		return nil
	})
	progress := strings.ReplaceAll(warm[1], "<request_id>", id)
	var p struct {
		Status   string `json:"status"`
		Verified int    `json:"verified_count"`
		Uncached int    `json:"not_cached_count"`
	}
	var last string
	eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		out, err := run(progress)
		if last = out; err != nil || json.Unmarshal([]byte(out), &p) != nil {
			return fmt.Errorf("progress: %v: %s", err, out)
		}
		if p.Status == client.StatusCreated || p.Status == client.StatusInProgress {
			return fmt.Errorf("progress: %s", out)
		}
		return nil
	})
	if p.Status != "FINISHED" || p.Verified != 1 || p.Uncached != 0 {
		t.Fatalf("progress: %s, want FINISHED, verified_count 1, not_cached_count 0", last)
	}
	if out, err := run(warm[2]); err != nil || !strings.Contains(out, "X-Cache-Status: HIT") {
		t.Errorf("the viewer's HEAD after the warm: %v\n%s", err, out)
	}
}

// readmeTry reads the shell blocks of the README's "Try it offline"
// section: the first whole, the second as its commands, with lines
// continued by a backslash joined and comments left out.
func readmeTry(t *testing.T) (setup string, warm []string) {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "### Try it offline")
	if start < 0 {
		t.Fatal(`README.md has no "### Try it offline" section`)
	}
	section := doc[start:]
	if end := strings.Index(section[1:], "\n### "); end >= 0 {
		section = section[:end+1]
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) != 2 {
		t.Fatalf("the README's offline try has %d shell blocks, want 2 (set up, warm)", len(blocks))
	}
	joined := strings.ReplaceAll(blocks[1][1], "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			warm = append(warm, line)
		}
	}
	return blocks[0][1], warm
}

// tidyTry does what the README's last words say: stop nginx and prewarm,
// remove the directory.
// Both are waited for, so that a next run finds the addresses free.
func tidyTry(t *testing.T, dir string, pid int) {
	var master int
	if b, err := os.ReadFile(filepath.Join(dir, "nginx.pid")); err == nil {
		fmt.Sscan(string(b), &master)
	}
	stop := exec.Command("nginx", "-p", dir, "-c", "edge.conf", "-s", "stop")
	stop.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/sbin")
	if out, err := stop.CombinedOutput(); err != nil {
		t.Errorf("nginx -s stop: %v: %s", err, out)
	}
	if pid > 0 {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	for _, p := range []int{master, pid} {
		if p > 0 && !poll(10*time.Second, 20*time.Millisecond, func() bool { return syscall.Kill(p, 0) != nil }) {
			t.Errorf("process %d still runs 10 s after being stopped", p)
		}
	}
	os.RemoveAll(dir)
}
