// Command prewarm fills CDN edge caches before real traffic arrives. See
// `prewarm --help`.
package main

import (
	"os"

	"prewarm/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
