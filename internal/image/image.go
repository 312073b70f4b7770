// Package image builds prewarm's container image without a container
// engine: one layer holding the static binary, the CA bundle, a non-root
// user and its data directory, written as an OCI image layout (or a
// tarball `docker load` reads). The Dockerfile at the repository's root
// builds the same image where an engine runs; the test checks they agree.
package image

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	imagespec "github.com/opencontainers/image-spec/specs-go/v1"
)

// What the image holds and how it runs: the Dockerfile says the same.
const (
	BinaryPath = "/usr/local/bin/prewarm"
	CAPath     = "/etc/ssl/certs/ca-certificates.crt"
	// DataDir is the working directory: serve's default --data-dir
	// (prewarm-data) lands in it, writable by the user.
	DataDir = "/var/lib/prewarm"
	UID     = 65532 // "nonroot", as distroless images number it
	User    = "65532:65532"
	Port    = "8080/tcp"
)

// Build is the image of the binary (built with CGO_ENABLED=0) and the CA
// bundle at those paths on this machine. Its files carry a fixed time, so
// the same inputs give the same digest.
func Build(binary, caBundle string) (v1.Image, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("binary: %w", err)
	}
	ca, err := os.ReadFile(caBundle)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w", err)
	}
	arch, err := goarch(bin)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return layerTar(bin, ca) },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		mutate.Addendum{Layer: layer, MediaType: types.OCILayer})
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config = Config()
	return mutate.ConfigFile(img, cf)
}

// Config is how the image runs: as the non-root user, prewarm serve by
// default (`agent` as the command runs an agent), the API's port exposed.
func Config() v1.Config {
	return v1.Config{
		User:         User,
		Entrypoint:   []string{BinaryPath},
		Cmd:          []string{"serve"},
		WorkingDir:   DataDir,
		ExposedPorts: map[string]struct{}{Port: {}},
		Env:          []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=" + CAPath},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "prewarm",
			"org.opencontainers.image.description": "fills CDN edge caches before real traffic arrives",
		},
	}
}

// epoch stamps every file and the config: reproducible digests.
var epoch = time.Unix(0, 0).UTC()

type entry struct {
	name string
	mode int64
	uid  int
	body []byte
	dir  bool
}

func layerTar(bin, ca []byte) (io.ReadCloser, error) {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", UID, UID, DataDir)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", UID)
	entries := []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/passwd", mode: 0o644, body: []byte(passwd)},
		{name: "etc/group", mode: 0o644, body: []byte(group)},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: CAPath[1:], mode: 0o644, body: ca},
		{name: "tmp/", mode: 0o1777, dir: true},
		{name: "usr/", mode: 0o755, dir: true},
		{name: "usr/local/", mode: 0o755, dir: true},
		{name: "usr/local/bin/", mode: 0o755, dir: true},
		{name: BinaryPath[1:], mode: 0o755, body: bin},
		{name: "var/", mode: 0o755, dir: true},
		{name: "var/lib/", mode: 0o755, dir: true},
		{name: DataDir[1:] + "/", mode: 0o750, uid: UID, dir: true},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: epoch, Format: tar.FormatPAX,
			Typeflag: tar.TypeReg, Size: int64(len(e.body))}
		if e.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
}

// goarch is the platform of a Linux executable, which the image's config
// must name for a runtime to pick it. The image has no C library, so a
// dynamically linked binary could not start in it: it is refused.
func goarch(bin []byte) (string, error) {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return "", fmt.Errorf("binary: not a Linux executable: %w", err)
	}
	if interp, dynamic := interpreter(f); dynamic {
		return "", fmt.Errorf("binary: dynamically linked (it needs %s, which the image does not have): build it with CGO_ENABLED=0", interp)
	}
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	}
	return "", fmt.Errorf("binary: machine %v is not amd64 or arm64", f.Machine)
}

// interpreter is the dynamic loader an executable names (its PT_INTERP
// program header), and whether it names one.
func interpreter(f *elf.File) (string, bool) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		raw, err := io.ReadAll(io.LimitReader(p.Open(), 4096))
		if name := string(bytes.TrimRight(raw, "\x00")); err == nil && name != "" {
			return name, true
		}
		return "a dynamic loader", true
	}
	return "", false
}

// WriteLayout writes img as an OCI image layout in dir (created, or
// added to), named ref: what skopeo, crane, podman and containerd import.
// An image already named ref there is replaced, so building again leaves
// one entry per name.
func WriteLayout(dir, ref string, img v1.Image) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return err
		}
	}
	return p.ReplaceImage(img, match.Annotation(imagespec.AnnotationRefName, ref),
		layout.WithAnnotations(map[string]string{imagespec.AnnotationRefName: ref}))
}

// WriteTarball writes img as a tarball that `docker load` reads, tagged tag.
func WriteTarball(path, tag string, img v1.Image) error {
	t, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("tag %q: %w", tag, err)
	}
	return tarball.WriteToFile(path, t, img)
}
