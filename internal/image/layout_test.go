package image

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// Building into the same layout again replaces the entry of the same
// name, and keeps the entries of other names.
func TestWriteLayoutReplacesTheSameName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	var last v1.Hash
	for i, ref := range []string{"prewarm:latest", "prewarm:latest", "prewarm:v2"} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteLayout(dir, ref, img); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			last, _ = img.Digest()
		}
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]v1.Hash{}
	for _, d := range m.Manifests {
		names[d.Annotations["org.opencontainers.image.ref.name"]] = d.Digest
	}
	if len(m.Manifests) != 2 || len(names) != 2 || names["prewarm:latest"] != last {
		t.Fatalf("index %+v; want prewarm:latest (the second build, %s) and prewarm:v2", m.Manifests, last)
	}
}

// A binary that needs a dynamic loader could not start in the image,
// which has none: it is refused, saying how to build it.
func TestBuildRefusesADynamicBinary(t *testing.T) {
	bin := fakeELF(t, "/lib64/ld-linux-x86-64.so.2")
	_, err := Build(bin, systemCAs)
	if err == nil || !strings.Contains(err.Error(), "dynamically linked (it needs /lib64/ld-linux-x86-64.so.2,") ||
		!strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("a dynamic binary: %v", err)
	}
}

// fakeELF writes a minimal amd64 Linux executable's headers, naming the
// dynamic loader interp ("": a static one), and returns its path.
func fakeELF(t *testing.T, interp string) string {
	t.Helper()
	hdr := elf.Header64{Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Ehsize: 64, Phentsize: 56, Shentsize: 64}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS], hdr.Ident[elf.EI_DATA], hdr.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	parts := []any{&hdr}
	if interp != "" {
		interp += "\x00"
		hdr.Phoff, hdr.Phnum = 64, 1
		parts = append(parts, elf.Prog64{Type: uint32(elf.PT_INTERP), Flags: uint32(elf.PF_R), Off: 64 + 56,
			Filesz: uint64(len(interp)), Memsz: uint64(len(interp)), Align: 1}, []byte(interp))
	}
	var buf bytes.Buffer
	for _, v := range parts {
		if err := binary.Write(&buf, binary.LittleEndian, v); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "prewarm")
	if err := os.WriteFile(bin, buf.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}
