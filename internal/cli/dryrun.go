package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"prewarm/client"
)

// writeDryRun prints a job's plan: its POPs, in tiers, and what the warm
// would cost.
func writeDryRun(w io.Writer, d *client.DryRunResponse) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POP\tADDRESSES\tAFTER\tNOTE")
	for _, p := range d.POPs {
		note := p.Error
		if p.Skipped {
			note = "skipped: does not resolve"
		}
		after := p.After
		if after == "" && note == "" {
			after = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Code, strings.Join(p.Addresses, ","), after, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nDry run: %d URLs, %d tasks, %s through the POPs (what the CDN bills as transfer),\n",
		d.URLCount, d.TotalCount, humanBytes(d.TotalSize))
	fmt.Fprintf(w, "about %d origin fetches if every POP misses once. Nothing was sent through a POP.\n", d.EstimatedOriginFetches)
	if len(d.FailedURLs) > 0 {
		fmt.Fprintf(w, "\nURLs answering an error (%d):\n", len(d.FailedURLs))
		for i, u := range d.FailedURLs {
			if i == 10 {
				fmt.Fprintf(w, "  … and %d more\n", len(d.FailedURLs)-10)
				break
			}
			fmt.Fprintln(w, "  "+u)
		}
	}
	for _, n := range d.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	return nil
}
