package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"prewarm/internal/api"
)

// Two entries appended after a "keys:" line make a file serve loads, and
// the key itself is not in it: it goes to stderr, for the client.
func TestKeyNewAppendsToKeysFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.yaml")
	file := bytes.NewBufferString("keys:\n")
	var keys []string
	for _, args := range [][]string{
		{"key", "new", "--name", "deploy-pipeline", "--scope", "submit", "--rps", "10", "--daily", "1000"},
		{"key", "new", "--name", "dash.board_1"},
	} {
		var stderr bytes.Buffer
		if code := Main(args, file, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, &stderr)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		keys = append(keys, lines[len(lines)-1])
	}
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := api.LoadKeysFile(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, file)
	}
	if len(loaded) != 2 || loaded[0].Name != "deploy-pipeline" || loaded[0].Scope != api.ScopeSubmit ||
		loaded[0].Daily != 1000 || loaded[1].Name != "dash.board_1" || loaded[1].Scope != api.ScopeRead {
		t.Fatalf("%+v", loaded)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "pw_") || strings.Contains(file.String(), k) {
			t.Fatalf("key %q: the file holds it or it is not a key:\n%s", k, file)
		}
		if !strings.Contains(file.String(), api.Digest(k)) {
			t.Fatalf("the file lacks the digest of %q:\n%s", k, file)
		}
	}
}

// Names that YAML would read as something else, or that would break the
// entry, are refused naming the flag.
func TestKeyNewRefusesUnsafeNames(t *testing.T) {
	for _, name := range []string{"-", "a: b #c", "x y", "-lead", "é"} {
		var stdout, stderr bytes.Buffer
		code := Main([]string{"key", "new", "--name", name}, &stdout, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), "--name") || stdout.Len() != 0 {
			t.Errorf("--name %q: exit %d, stdout %q, stderr %q", name, code, &stdout, &stderr)
		}
	}
}
