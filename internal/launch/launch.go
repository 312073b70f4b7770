// Package launch starts real prewarm processes for the end-to-end tests and
// the bench: it builds the binary, starts `prewarm serve` on a port the
// kernel picks and reads that port back from the process's own log, waits
// until the server is healthy, and starts `prewarm agent` processes. It is
// test and bench support, not part of the product.
package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"prewarm/client"
)

// Build compiles cmd/prewarm into dir and returns the binary's path. It
// runs the go command, so the working directory must be inside the module.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "prewarm")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "prewarm/cmd/prewarm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building prewarm: %w\n%s", err, out)
	}
	return bin, nil
}

// Options describe a process to start.
type Options struct {
	// Binary is the prewarm program (see Build). Required.
	Binary string
	// Args follow the command name: --api-key, --data-dir, --database, …
	// serve's --listen and --log-format are the launcher's own.
	Args []string
	// Env is added to this process's environment ("NAME=value").
	Env []string
	// LogLevel is debug or info (the default); serve reports its address
	// at info, so nothing quieter will do.
	LogLevel string
	// Ready bounds how long serve may take to report its address and
	// answer /healthz (default 30s).
	Ready time.Duration
	// StopGrace is how long Stop waits after its signal before killing
	// the process (default 40s).
	StopGrace time.Duration
}

// Process is a running (or stopped) prewarm process.
type Process struct {
	// URL is the base URL of a serve process's API; empty for an agent.
	// Restart changes it.
	URL string

	serve bool
	opts  Options
	log   *logBuffer

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	waitErr error
}

// servingMsg is the log record serve writes once it listens, with the
// address in its listen attribute.
const servingMsg = "prewarm serving"

// Serve starts `prewarm serve` listening on 127.0.0.1 at a port the kernel
// picks, and returns once it answers GET /healthz. A process that exits
// first, or is not ready within opts.Ready, is an error carrying its log.
func Serve(ctx context.Context, opts Options) (*Process, error) {
	return start(ctx, opts, true)
}

// Agent starts `prewarm agent`. It returns once the process has started;
// whether it registered is for the caller to see in GET /instances.
func Agent(ctx context.Context, opts Options) (*Process, error) {
	return start(ctx, opts, false)
}

func start(ctx context.Context, opts Options, serve bool) (*Process, error) {
	if opts.Binary == "" {
		return nil, errors.New("launch: Options.Binary is empty: give the prewarm program (see Build)")
	}
	switch opts.LogLevel {
	case "":
		opts.LogLevel = "info"
	case "info", "debug":
	default:
		return nil, fmt.Errorf("launch: LogLevel %q: use info or debug (serve reports its address at info)", opts.LogLevel)
	}
	if opts.Ready <= 0 {
		opts.Ready = 30 * time.Second
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 40 * time.Second
	}
	p := &Process{serve: serve, opts: opts, log: &logBuffer{}}
	if err := p.run(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Restart starts the stopped process again with the same arguments, so on
// the same data directory or database. A serve process gets a new port:
// URL changes.
func (p *Process) Restart(ctx context.Context) error {
	p.mu.Lock()
	running := p.cmd != nil
	p.mu.Unlock()
	if running {
		return errors.New("launch: Restart of a process that is still running; Stop it first")
	}
	return p.run(ctx)
}

// run starts the process and, for serve, waits until it is healthy.
func (p *Process) run(ctx context.Context) error {
	command := "agent"
	args := []string{}
	if p.serve {
		command = "serve"
	}
	args = append(append(append(args, command), p.opts.Args...), "--log-level", p.opts.LogLevel)
	var addr chan string
	if p.serve {
		// Last, so they win over anything in Args: the port must be the
		// kernel's pick, and the log one the launcher can read.
		args = append(args, "--listen", "127.0.0.1:0", "--log-format", "json")
		addr = make(chan string, 1)
		p.log.watch(func(line []byte) bool {
			var rec struct {
				Msg    string `json:"msg"`
				Listen string `json:"listen"`
			}
			if json.Unmarshal(line, &rec) != nil || rec.Msg != servingMsg || rec.Listen == "" {
				return false
			}
			addr <- rec.Listen
			return true
		})
	}
	cmd := exec.Command(p.opts.Binary, args...)
	cmd.Env = append(os.Environ(), p.opts.Env...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("launch: starting prewarm %s: %w", command, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.waitErr = cmd, exited, nil
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	if !p.serve {
		return nil
	}
	if err := p.waitHealthy(ctx, addr, exited); err != nil {
		p.Kill()
		return fmt.Errorf("launch: prewarm serve: %w\n%s", err, p.Log())
	}
	return nil
}

// waitHealthy waits for serve's address in its log, then for /healthz to
// answer, polling it until the deadline.
func (p *Process) waitHealthy(ctx context.Context, addr <-chan string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Ready)
	defer cancel()
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case <-exited:
		return fmt.Errorf("exited before serving: %v", p.exitErr())
	case <-ctx.Done():
		return fmt.Errorf("no %q in its log (waited up to %s): %w", servingMsg, p.opts.Ready, ctx.Err())
	}
	c, err := client.New(p.URL, "", client.WithTimeout(2*time.Second))
	if err != nil {
		return err
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.Health(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before it was healthy: %v", p.exitErr())
		case <-ctx.Done():
			return fmt.Errorf("not healthy (waited up to %s): %w; last: %w", p.opts.Ready, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (p *Process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// Stop asks the process to shut down (SIGTERM) and waits for it, killing
// it if it has not exited within the stop grace. It returns the process's
// failure; stopping a stopped process does nothing.
func (p *Process) Stop() error { return p.signal(syscall.SIGTERM) }

// Kill ends the process at once (SIGKILL), as a crash would, and waits for
// it. Stopping it this way is not a failure.
func (p *Process) Kill() error { return p.signal(syscall.SIGKILL) }

// signal sends sig and waits for the process to exit, killing it after the
// stop grace. Dying of sig itself is not an error.
func (p *Process) signal(sig syscall.Signal) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(p.opts.StopGrace):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("launch: prewarm did not exit within %s of %v; killed", p.opts.StopGrace, sig)
	}
	err := p.exitErr()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == sig {
			return nil
		}
	}
	return err
}

// PID is the process id of the running process (0 when stopped), for
// reading its memory from /proc.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Log is everything the process wrote to standard output and standard
// error, across restarts.
func (p *Process) Log() string { return p.log.String() }

// logBuffer keeps a process's output and, while a watch is set, hands it
// each whole line written from then on until the watch says it has found
// what it looks for.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	scanned int // where the next line to hand to the watch starts
	found   func(line []byte) bool
}

func (l *logBuffer) watch(found func(line []byte) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.scanned, l.found = l.buf.Len(), found
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
	for l.found != nil {
		rest := l.buf.Bytes()[l.scanned:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		l.scanned += i + 1
		if l.found(rest[:i]) {
			l.found = nil
		}
	}
	return len(b), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
