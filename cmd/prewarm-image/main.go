// Command prewarm-image builds prewarm's container image without a
// container engine, from a binary built with CGO_ENABLED=0:
//
//	CGO_ENABLED=0 go build -trimpath -o prewarm ./cmd/prewarm
//	go run ./cmd/prewarm-image --binary prewarm --oci image-layout --tarball prewarm.tar
package main

import (
	"flag"
	"fmt"
	"os"

	"prewarm/internal/image"
)

func main() {
	binary := flag.String("binary", "prewarm", "the prewarm binary, built with CGO_ENABLED=0 for linux")
	ca := flag.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of the CAs the image trusts")
	oci := flag.String("oci", "", "write an OCI image layout to this directory (skopeo, crane, podman, containerd import it)")
	tar := flag.String("tarball", "", "write a tarball `docker load` reads to this file")
	tag := flag.String("tag", "prewarm:latest", "the image's name and tag")
	flag.Parse()
	if err := run(*binary, *ca, *oci, *tar, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "prewarm-image:", err)
		os.Exit(1)
	}
}

func run(binary, ca, oci, tar, tag string) error {
	if oci == "" && tar == "" {
		return fmt.Errorf("nothing to write: pass --oci DIR and/or --tarball FILE")
	}
	img, err := image.Build(binary, ca)
	if err != nil {
		return err
	}
	if oci != "" {
		if err := image.WriteLayout(oci, tag, img); err != nil {
			return fmt.Errorf("--oci %s: %w", oci, err)
		}
	}
	if tar != "" {
		if err := image.WriteTarball(tar, tag, img); err != nil {
			return fmt.Errorf("--tarball %s: %w", tar, err)
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Println(tag, digest)
	return nil
}
