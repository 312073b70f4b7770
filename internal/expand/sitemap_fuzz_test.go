package expand

import (
	"bytes"
	"net/url"
	"testing"
	"time"
)

// FuzzSitemap feeds arbitrary documents and base URLs to parseSitemap: it
// must not panic, and every URL it emits is an absolute http(s) URL. Each
// URL needs its own <loc></loc>, and its text at most grows 6-fold (a
// Latin-1 byte becomes two UTF-8 bytes, each percent-escaped).
func FuzzSitemap(f *testing.F) {
	const base = "https://www.example.com/sitemap_index.xml"
	for _, doc := range []string{
		`<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://www.example.com/sitemap-pages.xml</loc><lastmod>2024-01-01</lastmod></sitemap>
  <sitemap>
    <loc>
      /sitemap-products.xml.gz
    </loc>
  </sitemap>
</sitemapindex>`,
		`<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc>https://www.example.com/</loc>
    <image:image><image:loc>https://www.example.com/hero.jpg</image:loc></image:image>
  </url>
  <url><loc>https://www.example.com/search?q=a&amp;page=2</loc></url>
  <url><loc><![CDATA[https://www.example.com/about]]></loc></url>
  <url><loc>ftp://www.example.com/file</loc></url>
  <url><loc>page&#x2F;2#top</loc></url>
</urlset>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><urlset><url><loc>https://www.example.com/caf` + "\xe9" + `</loc></url></urlset>`,
		`<urlset><url><loc>https://www.example.com/a</loc></url>`,
		`<html><body>Not found</body></html>`,
		`<sitemapindex/>`,
	} {
		f.Add(base, []byte(doc))
	}
	f.Fuzz(func(t *testing.T, rawBase string, data []byte) {
		base, ok := fuzzBase(rawBase)
		if !ok {
			return
		}
		out := &fuzzOutput{t: t, httpOnly: true}
		_ = parseSitemap(base, data, func(u *url.URL, child bool, _ time.Time) error {
			out.take(u)
			return nil
		})
		if locs := bytes.Count(data, []byte("loc")) / 2; out.count > locs {
			t.Fatalf("%d URLs from %d <loc> elements at most", out.count, locs)
		}
		out.wantGrowth(base, data, 6, "sitemap")
	})
}
