// Command prewarm-image builds prewarm's container image without a
// container engine, from a binary built with CGO_ENABLED=0:
//
//	CGO_ENABLED=0 go build -trimpath -o prewarm ./cmd/prewarm
//	go run ./cmd/prewarm-image --binary prewarm --oci image-layout --tarball prewarm.tar
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"prewarm/internal/image"
)

const about = `Usage: prewarm-image [flags]

Build prewarm's container image without a container engine: the static
prewarm binary, the CA bundle and a non-root user, as the Dockerfile builds
it. Write it as an OCI image layout (--oci, for skopeo, crane, podman or
containerd; building again replaces the image of the same --tag) and/or as a
tarball for "docker load" (--tarball). Build the binary first:

  CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o prewarm ./cmd/prewarm
  prewarm-image --binary prewarm --oci image-layout --tarball prewarm.tar --tag prewarm:latest

Flags:
`

type options struct{ binary, ca, oci, tar, tag string }

func main() { os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr)) }

// runMain runs the command with args and returns its exit code.
func runMain(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("prewarm-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), about)
		fs.PrintDefaults()
	}
	// Usage strings hold no backquotes: flag would take the quoted words
	// for the argument's name.
	fs.StringVar(&o.binary, "binary", "prewarm", "the prewarm binary, built with CGO_ENABLED=0 for linux (amd64 or arm64)")
	fs.StringVar(&o.ca, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of the CAs the image trusts")
	fs.StringVar(&o.oci, "oci", "", "write an OCI image layout to this directory (skopeo, crane, podman, containerd import it)")
	fs.StringVar(&o.tar, "tarball", "", "write a tarball that \"docker load\" reads to this file")
	fs.StringVar(&o.tag, "tag", "prewarm:latest", "the image's name and tag")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "prewarm-image: unexpected argument %q (every input is a flag; see --help)\n", fs.Arg(0))
		return 2
	}
	if err := run(o, stdout); err != nil {
		fmt.Fprintln(stderr, "prewarm-image:", err)
		return 1
	}
	return 0
}

func run(o options, stdout io.Writer) error {
	if o.oci == "" && o.tar == "" {
		return fmt.Errorf("nothing to write: pass --oci DIR and/or --tarball FILE")
	}
	img, err := image.Build(o.binary, o.ca)
	if err != nil {
		return err
	}
	if o.oci != "" {
		if err := image.WriteLayout(o.oci, o.tag, img); err != nil {
			return fmt.Errorf("--oci %s: %w", o.oci, err)
		}
	}
	if o.tar != "" {
		if err := image.WriteTarball(o.tar, o.tag, img); err != nil {
			return fmt.Errorf("--tarball %s: %w", o.tar, err)
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, o.tag, digest)
	return nil
}
