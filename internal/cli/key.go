package cli

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"prewarm/internal/api"
)

func newKey() *cobra.Command {
	key := &cobra.Command{Use: "key", Short: "Make API keys for --api-keys-file"}
	key.AddCommand(command(&cobra.Command{
		Use:   "new",
		Short: "Make a random API key and its entry for --api-keys-file",
		Long: `Make a random API key. The key is printed once, on stderr, for the client;
the entry printed on stdout, with the key's SHA-256 in place of the key, goes
into the file serve reads with --api-keys-file (send serve SIGHUP to read it
again).

The file starts with a "keys:" line, once; the entries follow it. A whole
keys.yaml with two keys:

  keys:
    - name: deploy-pipeline
      sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
      scope: submit
      rps: 10
      daily: 1000
    - name: dashboard
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      scope: read

Names are letters, digits, '.', '_' and '-', starting with a letter or digit.`,
		Example: `  echo keys: > keys.yaml     # once, for a new file
  prewarm key new --name deploy-pipeline --scope submit --rps 10 --daily 1000 >> keys.yaml
  prewarm serve --api-keys-file keys.yaml`,
		Args: cobra.NoArgs,
	}, &keyNewFlags{}))
	return key
}

type keyNewFlags struct {
	name, scope string
	rps         float64
	daily       int
}

func (f *keyNewFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "the key's name, shown in logs and on the jobs it submits (required)")
	fs.StringVar(&f.scope, "scope", "read", "what the key may do: read, submit (also start and stop jobs) or admin (also set capacity)")
	fs.Float64Var(&f.rps, "rps", 0, "most requests a second (0: no limit)")
	fs.IntVar(&f.daily, "daily", 0, "most requests a UTC day (0: no limit)")
}

func (f *keyNewFlags) run(cmd *cobra.Command, _ []string) error {
	if f.name == "" {
		return errors.New("--name is required")
	}
	if err := api.CheckKeyName(f.name); err != nil {
		return fmt.Errorf("--name: %w", err)
	}
	scope, err := api.ParseScope(f.scope)
	if err != nil {
		return fmt.Errorf("--scope: %w", err)
	}
	if f.rps < 0 || f.daily < 0 {
		return errors.New("--rps and --daily must be 0 (no limit) or more")
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	key := "pw_" + hex.EncodeToString(raw)
	// The key goes to stderr, so `>> keys.yaml` appends only the entry and
	// the file never holds the key itself.
	fmt.Fprintf(cmd.ErrOrStderr(), "the key, for the client (x-api-key); it is not stored anywhere:\n%s\n", key)
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "  - name: %s\n    sha256: %s\n    scope: %s\n", f.name, api.Digest(key), scope)
	if f.rps > 0 {
		fmt.Fprintf(out, "    rps: %g\n", f.rps)
	}
	if f.daily > 0 {
		fmt.Fprintf(out, "    daily: %d\n", f.daily)
	}
	return nil
}
