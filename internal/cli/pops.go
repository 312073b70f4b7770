package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"prewarm/internal/edge"
	"prewarm/internal/warm"
)

func newPops() *cobra.Command {
	return command(&cobra.Command{
		Use:   "pops",
		Short: "Browse the built-in POP catalog (and your edges file)",
		Long: `List the edge locations prewarm knows: CloudFront POP ids with their city,
country and region, plus the edges of an edges file. Filter with the same keys
a job's regions and countries accept: the list is what a job given that key
targets — the edges file's sites when the key selects any of them, else the
built-in POPs.

--check DOMAIN resolves each listed POP for that distribution (its domain, or
yours pointing at it) and shows which answer, with their addresses: the POPs a
country or region job would skip are those that do not.

--discover HOST shows what a job with "discover": "ecs" would hit: HOST (any
CDN's host name) resolved with an EDNS Client Subnet in each --country (repeat
it) or each country of --region, the edges named for country and rank (JP-1).`,
		Example: `  prewarm pops --region eu            # the original's Europe POPs
  prewarm pops --region europe        # every known POP in Europe
  prewarm pops --country JP
  prewarm pops --edges edges.yaml --output json
  prewarm pops --region eu --check d111111abcdef8.cloudfront.net   # which answer for that distribution
  prewarm pops --discover www.example.com --country JP --country US  # the edges DNS gives viewers there`,
		Args: cobra.NoArgs,
	}, &popsFlags{})
}

type popsFlags struct {
	region, edgesFile, output, check, dnsServer, discover string
	countries                                             []string
}

func (f *popsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.region, "region", "", "region key (apac, au, ca, eu, jp, sa, us, cn, all) or continent (europe, north-america, …)")
	fs.StringArrayVar(&f.countries, "country", nil, "country key (japan, india, …), ISO code (JP) or name (repeat with --discover)")
	fs.StringVar(&f.edgesFile, "edges", "", "edges file (YAML or JSON) whose edges join the catalog")
	fs.StringVarP(&f.output, "output", "o", "table", "table or json")
	fs.StringVar(&f.check, "check", "", "resolve each listed POP for this distribution and show which answer")
	fs.StringVar(&f.discover, "discover", "", "resolve this CDN host name for clients in each --country (or --region) by EDNS Client Subnet and show the edges a job would hit")
	fs.StringVar(&f.dnsServer, "dns-server", "", "DNS server to ask, host:port (default: the system's)")
}

func (f *popsFlags) run(cmd *cobra.Command, _ []string) error {
	if f.dnsServer != "" {
		if _, err := edge.DNSServerAddress(f.dnsServer); err != nil {
			return fmt.Errorf("--dns-server %w", err)
		}
	}
	cat, err := edge.LoadCatalog(f.edgesFile)
	if err != nil {
		return err
	}
	if f.discover != "" {
		return discoverEdges(cmd, cat, f.discover, f.region, f.countries, f.dnsServer, f.output)
	}
	if len(f.countries) > 1 {
		return fmt.Errorf("--country: give one (several are read with --discover)")
	}
	country := ""
	if len(f.countries) == 1 {
		country = f.countries[0]
	}
	sites := cat.Sites()
	if f.region != "" || country != "" {
		if sites, err = cat.Filter(f.region, country); err != nil {
			return err
		}
	}
	if f.check != "" {
		return checkPOPs(cmd, cat, sites, f.check, f.dnsServer, f.output)
	}
	if f.output == "json" {
		return writeJSON(cmd.OutOrStdout(), sites)
	}
	return writeSites(cmd, sites)
}

// writeSites lists sites as a table, and how many on standard error.
func writeSites(cmd *cobra.Command, sites []edge.Site) error {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
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
}

// writeJSON writes v as indented JSON, as every --output json does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// resolveCodes resolves host through each code as a job would through
// targets the user named: POPs, or with discover set the countries whose
// edges it finds. Private addresses count as answers: a cache fleet on a
// private network is checked with these commands too.
func resolveCodes(cmd *cobra.Command, cat *edge.Catalog, dnsServer, host string, codes []string, discover string) ([]warm.POPState, error) {
	res, err := edge.NewResolver(cat, edge.ResolverConfig{DNSServer: dnsServer, AllowPrivate: true})
	if err != nil {
		return nil, err
	}
	targets := make([]warm.Target, len(codes))
	for i, code := range codes {
		targets[i] = warm.Target{Code: code, Explicit: true, Discover: discover}
	}
	return res.Resolve(cmd.Context(), host, targets), nil
}

// checkPOPs resolves each site for the distribution of cfDomain and lists
// which answer: what a job's country or region defaults would reach.
func checkPOPs(cmd *cobra.Command, cat *edge.Catalog, sites []edge.Site, cfDomain, dnsServer, output string) error {
	codes := make([]string, len(sites))
	for i, s := range sites {
		codes[i] = s.Code
	}
	states, err := resolveCodes(cmd, cat, dnsServer, cfDomain, codes, "")
	if err != nil {
		return err
	}
	type row struct {
		Code      string   `json:"code"`
		Answers   bool     `json:"answers"`
		Addresses []string `json:"addresses,omitempty"`
		Error     string   `json:"error,omitempty"`
	}
	rows := make([]row, len(states))
	alive := 0
	for i, st := range states {
		rows[i] = row{Code: st.Code, Answers: st.Error == "" && len(st.Addresses) > 0, Addresses: st.Addresses, Error: st.Error}
		if rows[i].Answers {
			alive++
		}
	}
	out := cmd.OutOrStdout()
	if output == "json" {
		return writeJSON(out, rows)
	}
	t := newTextTable(out, "CODE", "ANSWERS", "ADDRESSES OR ERROR")
	for _, r := range rows {
		detail, answers := strings.Join(r.Addresses, " "), "yes"
		if !r.Answers {
			detail, answers = r.Error, "no"
		}
		t.row(r.Code, answers, detail)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%d of %d POPs answer for %s\n", alive, len(rows), cfDomain)
	return nil
}

// discoverEdges resolves host for clients in each country the keys name
// and lists the edges found, as a job with "discover": "ecs" would.
func discoverEdges(cmd *cobra.Command, cat *edge.Catalog, host, region string, countries []string, dnsServer, output string) error {
	kind, keys := "country", countries
	switch {
	case region != "" && len(countries) > 0:
		return fmt.Errorf("--discover: give --country or --region, not both")
	case region != "":
		kind, keys = "region", []string{region}
	case len(countries) == 0:
		return fmt.Errorf("--discover: give the countries to discover from (--country JP, repeated) or a --region")
	}
	ccs, err := cat.Countries(kind, keys)
	if err != nil {
		return err
	}
	states, err := resolveCodes(cmd, cat, dnsServer, host, ccs, warm.DiscoverECS)
	if err != nil {
		return err
	}
	if err := printDiscovered(cmd, states, output); err != nil {
		return err
	}
	found := 0
	for _, st := range states {
		if st.Usable() {
			found++
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%d edges for %s in %d countries\n", found, host, len(ccs))
	if w := warm.SameEdgeWarning(states); w != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
	}
	if found == 0 {
		return fmt.Errorf("--discover %s: no edge found in any country", host)
	}
	return nil
}

// printDiscovered lists the edges discovery found, and the countries that
// found none with the reason.
func printDiscovered(cmd *cobra.Command, states []warm.POPState, output string) error {
	type row struct {
		Edge      string   `json:"edge"`
		Country   string   `json:"country"`
		Addresses []string `json:"addresses,omitempty"`
		Error     string   `json:"error,omitempty"`
	}
	rows := make([]row, len(states))
	for i, st := range states {
		cc := warm.DiscoveredCountry(st.Code)
		if cc == "" {
			cc = st.Code
		}
		rows[i] = row{Edge: st.Code, Country: cc, Addresses: st.Addresses, Error: st.Error}
	}
	if output == "json" {
		return writeJSON(cmd.OutOrStdout(), rows)
	}
	t := newTextTable(cmd.OutOrStdout(), "EDGE", "COUNTRY", "ADDRESSES OR ERROR")
	for _, r := range rows {
		detail := strings.Join(r.Addresses, " ")
		if r.Error != "" {
			detail = r.Error
		}
		t.row(r.Edge, r.Country, detail)
	}
	return t.flush()
}
