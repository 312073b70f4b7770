package expand

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// parseSitemap reads a sitemap (sitemaps.org): the <loc> of every
// <urlset><url>, or of every <sitemapindex><sitemap>, which are sitemaps to
// read in turn (child). Only a loc directly inside url or sitemap counts:
// extensions (image:loc, video:content_loc, xhtml:link) nest deeper and are
// left out.
func parseSitemap(base *url.URL, data []byte, emit func(u *url.URL, child bool) error) error {
	dec := newXMLDecoder(data)
	var (
		stack []string // local names of the open elements
		root  string
		inLoc bool
		loc   strings.Builder
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
			if len(stack) == 3 && t.Name.Local == "loc" &&
				(root == "urlset" && stack[1] == "url" || root == "sitemapindex" && stack[1] == "sitemap") {
				inLoc = true
				loc.Reset()
			}
		case xml.CharData:
			if inLoc {
				loc.Write(t)
			}
		case xml.EndElement:
			if inLoc && len(stack) == 3 {
				inLoc = false
				if err := sitemapEmit(base, loc.String(), root == "sitemapindex", emit); err != nil {
					return err
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

func sitemapEmit(base *url.URL, raw string, child bool, emit func(*url.URL, bool) error) error {
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
	return emit(u, child)
}
