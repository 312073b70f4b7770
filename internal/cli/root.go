// Package cli is prewarm's command line: serve (API, dashboard and
// in-process agents), agent, pops and version. Every flag has a PREWARM_*
// environment fallback; flags win over the environment, which wins over the
// defaults.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Version is set at build time (-ldflags "-X prewarm/internal/cli.Version=v1.2.3").
var Version = ""

// version reports the build's version, or its VCS revision.
func version() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

// NewRoot builds the command tree.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "prewarm",
		Short: "Fill CDN edge caches before real traffic arrives",
		Long: `prewarm fetches every URL you give it through every CDN edge location (POP) you
choose, so the first real viewer gets a cache HIT and your origin is spared the
stampede. It speaks the API of the CloudFront Extensions Pre-warming solution.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd.Flags())
		},
	}
	root.AddCommand(newServe(), newAgent(), newRun(), newPops(), newKey(), newSchedule(), newVersion())
	root.AddCommand(newClientCommands()...)
	return root
}

// commandFlags are one command's flags: register declares them, and run
// does the command's work with the values they were given.
type commandFlags interface {
	register(fs *pflag.FlagSet)
	run(cmd *cobra.Command, args []string) error
}

// command completes c, a command's name, help and arguments, with f's flags
// and work.
func command(c *cobra.Command, f commandFlags) *cobra.Command {
	f.register(c.Flags())
	c.RunE = f.run
	return c
}

// untilStopped is ctx until the process is asked to stop, by Ctrl-C
// (SIGINT) or SIGTERM: what ends serve and agent, stops run's job and
// ends a watch. Call stop to let the signals kill the process again.
func untilStopped(ctx context.Context) (_ context.Context, stop context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

// Main runs the CLI and returns the process's exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := NewRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "prewarm:", err)
		var ec exitCode
		if errors.As(err, &ec) {
			return int(ec)
		}
		return 1
	}
	return 0
}

// exitCode is returned by commands that end with a specific status.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// applyEnv sets every flag not given on the command line from its
// PREWARM_* variable (--max-urls ← PREWARM_MAX_URLS). Lists are
// comma-separated.
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		name := envName(f.Name)
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if sv, isSlice := f.Value.(pflag.SliceValue); isSlice {
			err = sv.Replace(splitList(v))
		} else {
			err = f.Value.Set(v)
		}
		if err != nil {
			err = fmt.Errorf("%s=%q: %w", name, v, err)
		}
	})
	return err
}

// envName is the variable applyEnv reads for a flag.
func envName(flag string) string {
	return "PREWARM_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// given says whether a flag was set, on the command line or by its
// PREWARM_* variable, rather than left at its default.
func given(fs *pflag.FlagSet, flag string) bool {
	if fs.Changed(flag) {
		return true
	}
	_, ok := os.LookupEnv(envName(flag))
	return ok
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// logFlags choose how a long-running command logs.
type logFlags struct {
	logFormat string
	logLevel  string
}

func (f *logFlags) register(fs *pflag.FlagSet, level string) {
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fs.StringVar(&f.logLevel, "log-level", level, "debug, info, warn or error")
}

func (f *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	return newLogger(w, f.logFormat, f.logLevel)
}

// newLogger builds the process's logger from --log-format and --log-level.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "prewarm", version())
		},
	}
}
