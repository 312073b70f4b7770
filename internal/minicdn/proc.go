package minicdn

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// spawner starts child processes from one goroutine pinned to one OS
// thread. Children get Pdeathsig=SIGTERM so that a test binary that dies
// (panic, timeout, kill) does not leave nginx or varnishd behind; but Linux
// sends that signal when the *thread* that forked the child exits, and Go
// may retire threads, so the forking thread is kept alive and dedicated
// until the CDN is closed.
type spawner struct {
	reqs chan spawnReq
	done chan struct{}
}

type spawnReq struct {
	cmd *exec.Cmd
	res chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		runtime.LockOSThread()
		// No UnlockOSThread: returning while locked retires the thread, and
		// by then every child has been stopped.
		for r := range s.reqs {
			r.res <- r.cmd.Start()
		}
	}()
	return s
}

func (s *spawner) close() {
	close(s.reqs)
	<-s.done
}

// process is one started child (nginx master or varnishd manager) and the
// process group it leads; its workers share that group.
type process struct {
	name    string
	cmd     *exec.Cmd
	outPath string // stdout+stderr of the child
	logPath string // the child's own error log, if it keeps one
	pgid    int
	done    chan struct{}
	waitErr error
}

// start runs path with args in its own process group, with output going to
// outPath. A file rather than a pipe: workers inherit stderr, and a pipe
// would make Wait hang for as long as any of them lives.
func (s *spawner) start(name, outPath, path string, args ...string) (*process, error) {
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: open output file: %w", name, err)
	}
	defer out.Close()
	cmd := exec.Command(path, args...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	res := make(chan error, 1)
	s.reqs <- spawnReq{cmd: cmd, res: res}
	if err := <-res; err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", name, path, err)
	}
	p := &process{name: name, cmd: cmd, outPath: outPath, pgid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// output returns the child's captured output and error log (each capped to
// its tail, for error messages).
func (p *process) output() string {
	var sb strings.Builder
	for _, path := range []string{p.outPath, p.logPath} {
		if path == "" {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if len(b) > 4096 {
			b = b[len(b)-4096:]
		}
		sb.Write(b)
	}
	return sb.String()
}

// stop asks the process to exit with SIGTERM (nginx: fast shutdown; varnishd
// stops its child first), escalates to SIGKILL on the whole group after
// grace, then makes sure no member of the group is left.
func (p *process) stop(grace time.Duration) error {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(grace)
		select {
		case <-p.done:
			t.Stop()
		case <-t.C:
			// The leader is still unreaped, so the group id is still ours.
			_ = syscall.Kill(-p.pgid, syscall.SIGKILL)
			<-p.done
		}
	}
	if left := killGroup(p.pgid, 3*time.Second); len(left) > 0 {
		return fmt.Errorf("%s: processes %v of group %d survived SIGKILL", p.name, left, p.pgid)
	}
	return nil
}

// killGroup SIGKILLs every remaining member of process group pgid (found via
// /proc, since the leader is gone and kill(-pgid) could in theory reach a
// recycled id) until none is left or timeout passes. It returns survivors.
func killGroup(pgid int, timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	for {
		members := groupMembers(pgid)
		if len(members) == 0 || time.Now().After(deadline) {
			return members
		}
		for _, pid := range members {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// groupMembers lists live (non-zombie) processes whose process group is
// pgid.
func groupMembers(pgid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, pg, err := procStat(pid)
		if err != nil || pg != pgid || state == "Z" {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// procStat reads state and pgrp from /proc/PID/stat. The command name is
// parenthesised and may itself contain spaces or parentheses, so parsing
// starts after the last ')'.
func procStat(pid int) (state string, pgrp int, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, fmt.Errorf("read stat: %w", err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, errors.New("malformed stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return "", 0, errors.New("malformed stat")
	}
	pgrp, err = strconv.Atoi(f[2])
	if err != nil {
		return "", 0, fmt.Errorf("parse pgrp: %w", err)
	}
	return f[0], pgrp, nil
}
