package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const systemCAs = "/etc/ssl/certs/ca-certificates.crt"

// buildStatic builds prewarm as the Dockerfile does.
func buildStatic(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "prewarm")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-o", bin, "prewarm/cmd/prewarm")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type file struct {
	hdr  *tar.Header
	body []byte
}

// files is the image's flattened filesystem.
func files(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		out["/"+strings.TrimSuffix(h.Name, "/")] = file{h, body}
	}
}

// The image written as an OCI layout and read back holds the static
// binary (which runs from it), the CA bundle and a data directory of the
// non-root user, and runs as that user with prewarm as its entrypoint.
func TestImage(t *testing.T) {
	if _, err := os.Stat(systemCAs); err != nil {
		t.Fatalf("%s: %v (Debian's ca-certificates package)", systemCAs, err)
	}
	bin := buildStatic(t)
	img, err := Build(bin, systemCAs)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := WriteLayout(dir, "prewarm:test", img); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 || m.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "prewarm:test" {
		t.Fatalf("index %+v, %v", m, err)
	}
	back, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, back)
	fs := files(t, back)
	want, _ := os.ReadFile(bin)
	if f := fs[BinaryPath]; !bytes.Equal(f.body, want) || f.hdr.Mode != 0o755 {
		t.Fatalf("%s: %d bytes, mode %o; want the built binary, 0755", BinaryPath, len(f.body), fs[BinaryPath].hdr.Mode)
	}
	if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM(fs[CAPath].body) {
		t.Errorf("%s holds no certificate", CAPath)
	}
	if d := fs[DataDir]; d.hdr == nil || d.hdr.Typeflag != tar.TypeDir || d.hdr.Uid != UID {
		t.Errorf("%s: %+v, want a directory of uid %d", DataDir, d.hdr, UID)
	}
	if !strings.Contains(string(fs["/etc/passwd"].body), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd names no nonroot user")
	}
	checkStaticAndRuns(t, fs[BinaryPath].body)
}

func checkConfig(t *testing.T, img v1.Image) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/prewarm"}) ||
		!slices.Equal(c.Cmd, []string{"serve"}) || c.WorkingDir != DataDir || cf.OS != "linux" {
		t.Errorf("config %+v", c)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 1 {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	if mt, _ := img.MediaType(); mt != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type %s", mt)
	}
}

// checkStaticAndRuns: no ELF interpreter (nothing to load from a scratch
// image), and the copy taken out of the image answers `version`.
func checkStaticAndRuns(t *testing.T, bin []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary is dynamically linked: it would not start in a scratch image")
		}
	}
	path := filepath.Join(t.TempDir(), "prewarm")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), path, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "prewarm") {
		t.Fatalf("prewarm version from the image: %v\n%s", err, out)
	}
}

// The Dockerfile's final stage says what Build does: the same user,
// entrypoint, command, working directory, port and paths.
func TestDockerfileAgrees(t *testing.T) {
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := strings.Split(string(data), "\nFROM ")
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final, "scratch\n") {
		t.Fatalf("the final stage is not FROM scratch: %.40q", final)
	}
	c := Config()
	enc := func(v []string) string { b, _ := json.Marshal(v); return string(b) }
	want := []string{
		"USER " + c.User, "WORKDIR " + c.WorkingDir, "EXPOSE " + Port,
		"ENTRYPOINT " + enc(c.Entrypoint), "CMD " + enc(c.Cmd), "ENV " + strings.Join(c.Env, " "),
	}
	var got []string
	sc := bufio.NewScanner(strings.NewReader(final))
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "scratch") && !strings.HasPrefix(l, "COPY ") {
			got = append(got, l)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Dockerfile final stage:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, p := range []string{"-o /out" + BinaryPath, "/out" + CAPath[:strings.LastIndex(CAPath, "/")], "/out" + DataDir,
		"CGO_ENABLED=0", "chown 65532:65532 /out" + DataDir} {
		if !strings.Contains(strings.Join(stages[:len(stages)-1], "\n"), p) {
			t.Errorf("the build stage does not mention %q", p)
		}
	}
}

// The tarball is one `docker load` reads: a manifest.json naming the tag.
func TestTarball(t *testing.T) {
	dir := t.TempDir()
	bin := fakeELF(t, "") // any static Linux executable will do for the format
	img, err := Build(bin, systemCAs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "prewarm.tar")
	if err := WriteTarball(path, "prewarm:v1", img); err != nil {
		t.Fatal(err)
	}
	back, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// docker load's format has its own manifest; the config and the
	// layer are the same.
	c1, _ := img.ConfigName()
	c2, err := back.ConfigName()
	if err != nil || c1 != c2 {
		t.Fatalf("config %s read back as %s (%v)", c1, c2, err)
	}
	l1, _ := img.Layers()
	l2, err := back.Layers()
	if err != nil || len(l1) != 1 || len(l2) != 1 {
		t.Fatalf("layers %d, read back %d (%v)", len(l1), len(l2), err)
	}
	d1, _ := l1[0].DiffID()
	d2, _ := l2[0].DiffID()
	if d1 != d2 {
		t.Fatalf("layer %s read back as %s", d1, d2)
	}
	if err := WriteTarball(path, "Not A Tag!", img); err == nil {
		t.Error("a bad tag was accepted")
	}
	if _, err := Build(filepath.Join(dir, "missing"), systemCAs); err == nil || !strings.Contains(err.Error(), "binary") {
		t.Errorf("a missing binary: %v", err)
	}
}
