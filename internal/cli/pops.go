package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"prewarm/internal/edge"
)

func newPops() *cobra.Command {
	var region, country, edgesFile, output string
	cmd := &cobra.Command{
		Use:   "pops",
		Short: "Browse the built-in POP catalog (and your edges file)",
		Long: `List the edge locations prewarm knows: CloudFront POP ids with their city,
country and region, plus the edges of an edges file. Filter with the same keys
a job's regions and countries accept: the list is what a job given that key
targets — the edges file's sites when the key selects any of them, else the
built-in POPs.`,
		Example: `  prewarm pops --region eu            # the original's Europe POPs
  prewarm pops --region europe        # every known POP in Europe
  prewarm pops --country JP
  prewarm pops --edges edges.yaml --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, err := edge.LoadCatalog(edgesFile)
			if err != nil {
				return err
			}
			sites := cat.Sites()
			if region != "" || country != "" {
				if sites, err = cat.Filter(region, country); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(sites)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CODE\tCITY\tCOUNTRY\tREGION\tSOURCE")
			for _, s := range sites {
				source := "cloudfront"
				if s.FromFile {
					source = "edges file"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Code, s.City, s.Country, s.Region, source)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(sites) == 1 {
				fmt.Fprintln(cmd.ErrOrStderr(), "1 site")
			} else {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d sites\n", len(sites))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&region, "region", "", "region key (apac, au, ca, eu, jp, sa, us, cn, all) or continent (europe, north-america, …)")
	f.StringVar(&country, "country", "", "country key (japan, india, …), ISO code (JP) or name")
	f.StringVar(&edgesFile, "edges", "", "edges file (YAML or JSON) whose edges join the catalog")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}
