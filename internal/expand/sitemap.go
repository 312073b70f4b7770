package expand

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// parseSitemap reads a sitemap (sitemaps.org): the <loc> of every
// <urlset><url>, or of every <sitemapindex><sitemap>, which are sitemaps to
// read in turn (child), with the entry's <lastmod> (zero when absent or
// not a W3C date). Only a loc directly inside url or sitemap counts:
// extensions (image:loc, video:content_loc, xhtml:link) nest deeper and are
// left out.
func parseSitemap(base *url.URL, data []byte, emit func(u *url.URL, child bool, lastmod time.Time) error) error {
	dec := newXMLDecoder(data)
	var (
		stack       []string // local names of the open elements
		root        string
		inLoc, inLM bool
		loc, lm     strings.Builder
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = t.Name.Local
				if root != "urlset" && root != "sitemapindex" {
					return fmt.Errorf("its root element is <%s>, not <urlset> or <sitemapindex>", root)
				}
			}
			stack = append(stack, t.Name.Local)
			entry := len(stack) >= 2 && (root == "urlset" && stack[1] == "url" || root == "sitemapindex" && stack[1] == "sitemap")
			switch {
			case len(stack) == 2 && entry:
				loc.Reset()
				lm.Reset()
			case len(stack) == 3 && entry && t.Name.Local == "loc":
				inLoc = true
				loc.Reset() // one loc an entry: the last, should there be more
			case len(stack) == 3 && entry && t.Name.Local == "lastmod":
				inLM = true
				lm.Reset()
			}
		case xml.CharData:
			switch {
			case inLoc:
				loc.Write(t)
			case inLM:
				lm.Write(t)
			}
		case xml.EndElement:
			switch len(stack) {
			case 3:
				inLoc, inLM = false, false
			case 2:
				if root == "urlset" && stack[1] == "url" || root == "sitemapindex" && stack[1] == "sitemap" {
					if err := sitemapEmit(base, loc.String(), root == "sitemapindex", parseLastmod(lm.String()), emit); err != nil {
						return err
					}
				}
			}
			stack = stack[:len(stack)-1]
		}
	}
	if root == "" {
		return errors.New("it holds no XML element")
	}
	return nil
}

func sitemapEmit(base *url.URL, raw string, child bool, lastmod time.Time, emit func(*url.URL, bool, time.Time) error) error {
	ref := strings.TrimSpace(raw)
	if ref == "" {
		return nil
	}
	// The protocol wants absolute locs; resolving a relative one against
	// the sitemap is what a crawler would do with it.
	u, ok, err := resolve(base, ref)
	if err != nil {
		return fmt.Errorf("<loc>%s</loc>: %w", ref, err)
	}
	if !ok {
		return nil
	}
	return emit(u, child, lastmod)
}

// lastmodLayouts are the W3C datetime forms sitemaps use.
var lastmodLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", time.DateOnly, "2006-01", "2006"}

// parseLastmod reads a <lastmod>; zero when it is none of the W3C forms.
func parseLastmod(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range lastmodLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
