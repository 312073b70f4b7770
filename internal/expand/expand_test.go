package expand

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// web is an in-memory origin: URL → body; anything else is a 404. It
// records the calls so tests can check what was (not) fetched.
type web struct {
	docs  map[string]string
	calls []string
}

func (w *web) get(_ context.Context, u string) ([]byte, error) {
	w.calls = append(w.calls, u)
	body, ok := w.docs[u]
	if !ok {
		return nil, errors.New("HTTP 404 Not Found")
	}
	return []byte(body), nil
}

func gz(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, s)
	zw.Close()
	return b.String()
}

// mediaPlaylist is a VOD media playlist of n segments named like name.
func mediaPlaylist(n int, name string) string {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n")
	for i := range n {
		fmt.Fprintf(&b, "#EXTINF:6.0,\n"+name+"\n", i)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.String()
}

func numbered(format string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf(format, i))
	}
	return out
}

func list(parts ...any) []string {
	var out []string
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			out = append(out, p)
		case []string:
			out = append(out, p...)
		}
	}
	return out
}

const (
	vod    = "https://cdn.example.com/vod/"
	master = vod + "master.m3u8"
)

// ladder is a plain master with two renditions of five segments each.
func ladder() map[string]string {
	return map[string]string{
		master: "#EXTM3U\n" +
			"#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nlow/index.m3u8\n" +
			"#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720\nhigh/index.m3u8\n",
		vod + "low/index.m3u8":  mediaPlaylist(5, "seg%d.ts"),
		vod + "high/index.m3u8": mediaPlaylist(5, "seg%d.ts"),
	}
}

type expandCase struct {
	name  string
	kinds []string
	urls  []string
	docs  map[string]string
	limit int // 0: 100,000
	want  []string
	calls []string // nil: not checked
	err   string   // a part of the error; want is then nil
}

func runCases(t *testing.T, cases []expandCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &web{docs: tc.docs}
			limit := tc.limit
			if limit == 0 {
				limit = 100_000
			}
			got, err := Expand(t.Context(), tc.kinds, tc.urls, w.get, limit)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v; want one containing %q", err, tc.err)
				}
				if got != nil {
					t.Fatalf("a failed expansion returned a list of %d", len(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %d URLs:\n  %s\nwant %d:\n  %s", len(got), strings.Join(got, "\n  "), len(tc.want), strings.Join(tc.want, "\n  "))
			}
			if tc.calls != nil && !slices.Equal(w.calls, tc.calls) {
				t.Errorf("fetched %q; want %q", w.calls, tc.calls)
			}
		})
	}
}

func TestExpandHLS(t *testing.T) {
	full := map[string]string{
		// BOM, CRLF, session data, a quoted comma, captions without URI, an
		// absolute variant on another host with its own query.
		master + "?token=abc": "\xef\xbb\xbf#EXTM3U\r\n" +
			"#EXT-X-VERSION:7\r\n" +
			`#EXT-X-SESSION-DATA:DATA-ID="com.example.title",URI="https://cdn.example.com/meta.json"` + "\r\n" +
			`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English, stereo",LANGUAGE="en",URI="audio/en.m3u8"` + "\r\n" +
			`#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"` + "\r\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud",CLOSED-CAPTIONS="cc"` + "\r\n" +
			"v360/index.m3u8\r\n" +
			"\r\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=2500000,CODECS="avc1.4d401f,mp4a.40.2",AUDIO="aud"` + "\r\n" +
			"https://media.example.net/vod/v720/index.m3u8?sig=1\r\n",
		vod + "audio/en.m3u8": "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MAP:URI=\"init.mp4\"\n" +
			strings.Join(numbered("#EXTINF:6,\na%d.m4s", 0, 4), "\n") + "\n#EXT-X-ENDLIST\n",
		vod + "v360/index.m3u8": "#EXTM3U\n#EXT-X-TARGETDURATION:6\n" +
			`#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/k1?id=1,2",IV=0x0123456789abcdef0123456789abcdef` + "\n" +
			`#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"` + "\n" +
			"#EXTINF:6,\ns0.m4s\n" +
			"#EXTINF:6,\n/vod/shared/s1.m4s\n" +
			"#EXT-X-KEY:METHOD=NONE\n#EXTINF:6,\ns2.m4s\n" +
			`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://asset-1",KEYFORMAT="com.apple.streamingkeydelivery"` + "\n#EXTINF:6,\ns3.m4s\n" +
			`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="data:text/plain;base64,AAAA,BBBB"` + "\n" +
			"#EXTINF:6,\nhttps://media.example.net/vod/v360/s4.m4s#t=0\n#EXT-X-ENDLIST\n",
		"https://media.example.net/vod/v720/index.m3u8?sig=1": "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n" +
			strings.Join(numbered("#EXTINF:6,\ns%d.m4s", 0, 4), "\n") + "\n",
	}
	fullWant := list(
		master+"?token=abc",
		vod+"audio/en.m3u8",
		vod+"v360/index.m3u8",
		"https://media.example.net/vod/v720/index.m3u8?sig=1",
		// audio: the map, then segments; the master's query is not inherited
		vod+"audio/init.mp4",
		numbered(vod+"audio/a%d.m4s", 0, 4),
		// v360: the key, the map, relative, absolute-path and absolute segments;
		// METHOD=NONE, skd:// and data: keys are left out
		"https://keys.example.com/k1?id=1,2",
		vod+"v360/init.mp4",
		vod+"v360/s0.m4s",
		vod+"shared/s1.m4s",
		vod+"v360/s2.m4s",
		vod+"v360/s3.m4s",
		"https://media.example.net/vod/v360/s4.m4s",
		// v720, relative to its own host
		"https://media.example.net/vod/v720/init.mp4",
		numbered("https://media.example.net/vod/v720/s%d.m4s", 0, 4),
	)

	runCases(t, []expandCase{
		{
			name:  "plain 2x5 ladder",
			kinds: []string{HLS},
			urls:  []string{master},
			docs:  ladder(),
			want: list(master, vod+"low/index.m3u8", vod+"high/index.m3u8",
				numbered(vod+"low/seg%d.ts", 0, 4), numbered(vod+"high/seg%d.ts", 0, 4)),
			calls: []string{master, vod + "low/index.m3u8", vod + "high/index.m3u8"},
		},
		{
			name:  "ladder with audio, map, keys, relative and absolute URIs",
			kinds: []string{HLS, DASH, Sitemap},
			urls:  []string{master + "?token=abc"},
			docs:  full,
			want:  fullWant,
		},
		{
			name:  "low-latency parts, preload hints, I-frame playlists",
			kinds: []string{HLS},
			urls:  []string{vod + "ll.m3u8"},
			docs: map[string]string{
				vod + "ll.m3u8": "#EXTM3U\n" +
					`#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI="iframes.m3u8"` + "\n" +
					"#EXT-X-STREAM-INF:BANDWIDTH=1\nlive.m3u8\n",
				vod + "iframes.m3u8": "#EXTM3U\n#EXT-X-I-FRAMES-ONLY\n#EXT-X-BYTERANGE:1000@0\n#EXTINF:6,\nlive0.m4s\n",
				vod + "live.m3u8": "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PART-INF:PART-TARGET=1.0\n" +
					"#EXTINF:4,\nlive0.m4s\n" +
					`#EXT-X-PART:DURATION=1.0,URI="live1.part0.m4s",INDEPENDENT=YES` + "\n" +
					`#EXT-X-PART:DURATION=1.0,URI="live1.part1.m4s"` + "\n" +
					`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="live1.part2.m4s"` + "\n" +
					`#EXT-X-RENDITION-REPORT:URI="other.m3u8",LAST-MSN=1` + "\n",
			},
			want: list(vod+"ll.m3u8", vod+"iframes.m3u8", vod+"live.m3u8", vod+"live0.m4s",
				vod+"live1.part0.m4s", vod+"live1.part1.m4s", vod+"live1.part2.m4s"),
		},
		{
			name:  "depth limit: the fourth level is listed, not read",
			kinds: []string{HLS},
			urls:  []string{vod + "d1.m3u8"},
			docs: map[string]string{
				vod + "d1.m3u8": "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nd2.m3u8\n",
				vod + "d2.m3u8": "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nd3.m3u8\n",
				vod + "d3.m3u8": "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nd4.m3u8\n",
				vod + "d4.m3u8": "#EXTM3U\n#EXTINF:6,\nnever.ts\n",
			},
			want:  list(vod+"d1.m3u8", vod+"d2.m3u8", vod+"d3.m3u8", vod+"d4.m3u8"),
			calls: []string{vod + "d1.m3u8", vod + "d2.m3u8", vod + "d3.m3u8"},
		},
		{
			name:  "playlist found by its body, not its name",
			kinds: []string{HLS},
			urls:  []string{"https://cdn.example.com/play?id=7"},
			docs: map[string]string{
				"https://cdn.example.com/play?id=7": "\n#EXTM3U\n#EXTINF:6,\nseg.ts\n",
			},
			want: list("https://cdn.example.com/play?id=7", "https://cdn.example.com/seg.ts"),
		},
		{
			name:  "not a playlist though named .m3u8",
			kinds: []string{HLS},
			urls:  []string{master},
			docs:  map[string]string{master: "<html>Access denied</html>"},
			err:   "reading " + master + " as an HLS playlist: it does not start with #EXTM3U",
		},
		{
			name:  "unterminated quote",
			kinds: []string{HLS},
			urls:  []string{master},
			docs:  map[string]string{master: "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\n"},
			err:   "line 2: #EXT-X-MAP: attribute URI: unterminated quoted value",
		},
	})
}

func TestExpandSitemap(t *testing.T) {
	site := "https://www.example.com/"
	docs := map[string]string{
		site + "sitemap_index.xml": `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://www.example.com/sitemap-pages.xml</loc><lastmod>2024-01-01</lastmod></sitemap>
  <sitemap>
    <loc>
      https://www.example.com/sitemap-products.xml.gz
    </loc>
  </sitemap>
</sitemapindex>`,
		site + "sitemap-pages.xml": `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"
        xmlns:video="http://www.google.com/schemas/sitemap-video/1.1">
  <url><loc>https://www.example.com/</loc>
    <image:image><image:loc>https://www.example.com/hero.jpg</image:loc></image:image>
    <video:video><video:content_loc>https://www.example.com/v.mp4</video:content_loc></video:video>
  </url>
  <url><loc>https://www.example.com/search?q=a&amp;page=2</loc></url>
  <url><loc><![CDATA[https://www.example.com/about]]></loc></url>
  <url><loc>ftp://www.example.com/file</loc></url>
</urlset>`,
		site + "sitemap-products.xml.gz": gz(`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://www.example.com/p/1</loc></url>
  <url><loc>https://www.example.com/p/2</loc></url>
  <url><loc>https://www.example.com/</loc></url>
</urlset>`),
	}
	runCases(t, []expandCase{
		{
			name:  "index to two sitemaps, one gzipped",
			kinds: []string{Sitemap},
			urls:  []string{site + "sitemap_index.xml"},
			docs:  docs,
			want: list(site+"sitemap_index.xml", site+"sitemap-pages.xml", site+"sitemap-products.xml.gz",
				site, site+"search?q=a&page=2", site+"about", site+"p/1", site+"p/2"),
		},
		{
			name:  "a given gzipped sitemap, gzip told by magic bytes",
			kinds: []string{Sitemap},
			urls:  []string{site + "sitemap.xml"},
			docs: map[string]string{
				site + "sitemap.xml": gz(`<?xml version="1.0" encoding="ISO-8859-1"?><urlset><url><loc>https://www.example.com/caf` + "\xe9" + `</loc></url></urlset>`),
			},
			want: list(site+"sitemap.xml", site+"caf%C3%A9"),
		},
		{
			name:  "a listed sitemap that is not one",
			kinds: []string{Sitemap},
			urls:  []string{site + "sitemap_index.xml"},
			docs: map[string]string{
				site + "sitemap_index.xml": `<sitemapindex><sitemap><loc>https://www.example.com/s.xml</loc></sitemap></sitemapindex>`,
				site + "s.xml":             `<html><body>Not found</body></html>`,
			},
			err: "reading https://www.example.com/s.xml (listed in https://www.example.com/sitemap_index.xml) as a sitemap: its root element is <html>",
		},
		{
			name:  "a broken sitemap",
			kinds: []string{Sitemap},
			urls:  []string{site + "sitemap.xml"},
			docs:  map[string]string{site + "sitemap.xml": `<urlset><url><loc>https://www.example.com/a</loc></url>`},
			err:   "reading https://www.example.com/sitemap.xml as a sitemap: XML syntax error",
		},
		{
			name:  "a given page that is not a sitemap is only warmed",
			kinds: []string{Sitemap},
			urls:  []string{site, site + "sitemap_index.xml"},
			docs:  map[string]string{site: "<!DOCTYPE html><html><body>hi</body></html>", site + "sitemap_index.xml": `<sitemapindex/>`},
			want:  list(site, site+"sitemap_index.xml"),
			calls: []string{site, site + "sitemap_index.xml"},
		},
	})
}

func TestExpandGeneral(t *testing.T) {
	shared := map[string]string{
		master:         "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\nb.m3u8\n",
		vod + "a.m3u8": "#EXTM3U\n#EXTINF:6,\nshared/0.ts\n#EXTINF:6,\na1.ts\n",
		vod + "b.m3u8": "#EXTM3U\n#EXTINF:6,\nshared/0.ts\n#EXTINF:6,\nhttps://cdn.example.com/vod/a1.ts\n#EXTINF:6,\nb2.ts\n",
	}
	missing := ladder()
	delete(missing, vod+"high/index.m3u8")
	runCases(t, []expandCase{
		{
			name:  "duplicates given and discovered are listed once",
			kinds: []string{HLS},
			urls:  []string{master, master, vod + "b.m3u8"},
			docs:  shared,
			want:  list(master, vod+"b.m3u8", vod+"a.m3u8", vod+"shared/0.ts", vod+"a1.ts", vod+"b2.ts"),
			calls: []string{master, vod + "b.m3u8", vod + "a.m3u8"},
		},
		{
			name:  "a missing playlist fails, naming it and its master",
			kinds: []string{HLS},
			urls:  []string{master},
			docs:  missing,
			err:   "fetching " + vod + "high/index.m3u8 (listed in " + master + "): HTTP 404 Not Found",
		},
		{
			name:  "a missing given document fails",
			kinds: []string{Sitemap},
			urls:  []string{"https://www.example.com/sitemap.xml"},
			err:   "fetching https://www.example.com/sitemap.xml: HTTP 404 Not Found",
		},
		{
			name:  "no kinds: nothing is read",
			urls:  []string{master, master},
			docs:  ladder(),
			want:  list(master),
			calls: []string{},
		},
		{
			name:  "a playlist when only dash is asked for is kept, not read",
			kinds: []string{DASH},
			urls:  []string{master, vod + "video.mp4"},
			docs:  ladder(),
			want:  list(master, vod+"video.mp4"),
			calls: []string{},
		},
		{
			name:  "a playlist found by body when only sitemaps are asked for is kept",
			kinds: []string{Sitemap},
			urls:  []string{"https://cdn.example.com/play"},
			docs:  map[string]string{"https://cdn.example.com/play": "#EXTM3U\n#EXTINF:6,\nseg.ts\n"},
			want:  list("https://cdn.example.com/play"),
			calls: []string{"https://cdn.example.com/play"},
		},
		{
			name:  "media files are never fetched to look at them",
			kinds: []string{HLS, DASH, Sitemap},
			urls:  []string{vod + "movie.mp4", vod + "poster.JPG?w=300", vod + "seg1.ts"},
			want:  list(vod+"movie.mp4", vod+"poster.JPG?w=300", vod+"seg1.ts"),
			calls: []string{},
		},
		{
			name:  "unknown kind",
			kinds: []string{"smil"},
			urls:  []string{master},
			err:   `"smil" is not one of hls, dash, sitemap`,
		},
		{
			name:  "gzip bomb",
			kinds: []string{Sitemap},
			urls:  []string{"https://www.example.com/sitemap.xml.gz"},
			docs: map[string]string{
				"https://www.example.com/sitemap.xml.gz": gz("<urlset>" + strings.Repeat(" ", MaxDocumentSize) + "</urlset>"),
			},
			err: "larger than 16 MiB once gunzipped",
		},
		{
			name:  "too large a document",
			kinds: []string{HLS},
			urls:  []string{master},
			docs:  map[string]string{master: "#EXTM3U\n" + strings.Repeat("#\n", MaxDocumentSize/2)},
			err:   "reading " + master + ": the document is larger than 16 MiB",
		},
	})
}

func TestExpandLimit(t *testing.T) {
	t.Run("discovered URLs pass the limit", func(t *testing.T) {
		w := &web{docs: ladder()}
		got, err := Expand(t.Context(), []string{HLS}, []string{master}, w.get, 12)
		var lim *LimitError
		if !errors.As(err, &lim) {
			t.Fatalf("error = %v; want a *LimitError", err)
		}
		if got != nil {
			t.Errorf("returned a partial list of %d", len(got))
		}
		if lim.Limit != 12 || lim.Source != vod+"high/index.m3u8" {
			t.Errorf("LimitError = %+v", lim)
		}
		want := "expanding " + vod + "high/index.m3u8 passes the limit of 12 URLs per job"
		if err.Error() != want {
			t.Errorf("message = %q; want %q", err, want)
		}
	})
	t.Run("exactly at the limit", func(t *testing.T) {
		w := &web{docs: ladder()}
		got, err := Expand(t.Context(), []string{HLS}, []string{master}, w.get, 13)
		if err != nil || len(got) != 13 {
			t.Fatalf("got %d URLs, %v; want 13", len(got), err)
		}
	})
	t.Run("given URLs pass the limit", func(t *testing.T) {
		w := &web{}
		_, err := Expand(t.Context(), []string{HLS}, []string{"https://a.example/1", "https://a.example/2"}, w.get, 1)
		var lim *LimitError
		if !errors.As(err, &lim) || lim.Source != "" || len(w.calls) != 0 {
			t.Fatalf("error = %v, calls %q", err, w.calls)
		}
	})
	t.Run("limit must be positive", func(t *testing.T) {
		if _, err := Expand(t.Context(), nil, []string{master}, (&web{}).get, 0); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestExpandMaxDocuments(t *testing.T) {
	const index = "https://www.example.com/index.xml"
	docs := map[string]string{}
	var b strings.Builder
	b.WriteString("<sitemapindex>")
	for i := range MaxDocuments {
		u := fmt.Sprintf("https://www.example.com/s%d.xml", i)
		fmt.Fprintf(&b, "<sitemap><loc>%s</loc></sitemap>", u)
		docs[u] = "<urlset/>"
	}
	b.WriteString("</sitemapindex>")
	docs[index] = b.String()
	w := &web{docs: docs}
	_, err := Expand(t.Context(), []string{Sitemap}, []string{index}, w.get, 100_000)
	if err == nil || !strings.Contains(err.Error(), "more than 10000 documents") {
		t.Fatalf("error = %v", err)
	}
	if len(w.calls) != MaxDocuments {
		t.Errorf("fetched %d documents", len(w.calls))
	}
}

func TestExpandCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Expand(ctx, []string{HLS}, []string{master}, (&web{docs: ladder()}).get, 100)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v", err)
	}
}

// TestExpandHTTP reads through a real HTTP server, as the planner's Getter
// does through an edge.
func TestExpandHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/vod/master.m3u8", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\n/vod/gone.m3u8\n")
	})
	mux.HandleFunc("/vod/low.m3u8", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, mediaPlaylist(3, "low%d.ts"))
	})
	mux.HandleFunc("/vod/ok.m3u8", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(ctx context.Context, u string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return nil, fmt.Errorf("HTTP %s", resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, MaxDocumentSize+1))
	}

	got, err := Expand(t.Context(), []string{HLS}, []string{srv.URL + "/vod/ok.m3u8"}, get, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := list(srv.URL+"/vod/ok.m3u8", srv.URL+"/vod/low.m3u8", numbered(srv.URL+"/vod/low%d.ts", 0, 2))
	if !slices.Equal(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}

	_, err = Expand(t.Context(), []string{HLS}, []string{srv.URL + "/vod/master.m3u8"}, get, 100)
	wantErr := "fetching " + srv.URL + "/vod/gone.m3u8 (listed in " + srv.URL + "/vod/master.m3u8): HTTP 404 Not Found"
	if err == nil || err.Error() != wantErr {
		t.Fatalf("error = %v; want %q", err, wantErr)
	}
}

func TestValidKind(t *testing.T) {
	for k, want := range map[string]bool{"hls": true, "dash": true, "sitemap": true, "HLS": false, "": false, "smil": false} {
		if ValidKind(k) != want {
			t.Errorf("ValidKind(%q) = %v", k, !want)
		}
	}
}

func TestHLSAttributes(t *testing.T) {
	got, err := hlsAttributes(`BANDWIDTH=800000,CODECS="avc1.4d401e,mp4a.40.2",NAME="a=b, c",URI="x.m3u8", DEFAULT=YES`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"BANDWIDTH": "800000", "CODECS": "avc1.4d401e,mp4a.40.2", "NAME": "a=b, c", "URI": "x.m3u8", "DEFAULT": "YES"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v; want %v", got, want)
	}
}

// Changed only: entries whose lastmod is not after since are left out, a
// child sitemap not changed since is not even read, and entries without a
// lastmod (or with one that is no date) are kept.
func TestExpandChangedSince(t *testing.T) {
	site := "https://www.example.com/"
	w := &web{docs: map[string]string{
		site + "index.xml": `<sitemapindex>
  <sitemap><loc>https://www.example.com/old.xml</loc><lastmod>2026-11-01</lastmod></sitemap>
  <sitemap><lastmod>2026-11-28T23:10:00+00:00</lastmod><loc>https://www.example.com/new.xml</loc></sitemap>
</sitemapindex>`,
		site + "old.xml": `<urlset><url><loc>https://www.example.com/never-read</loc></url></urlset>`,
		site + "new.xml": `<urlset>
  <url><loc>https://www.example.com/a</loc><lastmod>2026-11-28T22:00:00Z</lastmod></url>
  <url><loc>https://www.example.com/b</loc><lastmod>2026-11-27</lastmod></url>
  <url><loc>https://www.example.com/c</loc></url>
  <url><loc>https://www.example.com/d</loc><lastmod>yesterday</lastmod></url>
  <url><loc>https://www.example.com/e</loc><lastmod>2026-11-28T20:30:00.5+01:00</lastmod></url>
</urlset>`,
	}}
	since := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	got, err := ExpandChanged(t.Context(), []string{Sitemap}, []string{site + "index.xml"}, w.get, 100, since)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{site + "index.xml", site + "new.xml", site + "a", site + "c", site + "d"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if slices.Contains(w.calls, site+"old.xml") {
		t.Fatalf("read the unchanged child sitemap: %v", w.calls)
	}
	all, err := Expand(t.Context(), []string{Sitemap}, []string{site + "index.xml"}, (&web{docs: w.docs}).get, 100)
	if err != nil || len(all) != 9 {
		t.Fatalf("without since: %v %v", all, err)
	}
}

// A template that repeats a long Representation id cannot make URLs that
// grow with the square of the manifest: past 8 kB a URL is an error.
func TestDASHTemplateCannotAmplify(t *testing.T) {
	id := strings.Repeat("i", 4000)
	tmpl := strings.Repeat("$RepresentationID$", 4000)
	doc := `<MPD mediaPresentationDuration="PT100S"><Period><AdaptationSet><SegmentTemplate media="` + tmpl +
		`$Number$" duration="1"/><Representation id="` + id + `"/></AdaptationSet></Period></MPD>`
	w := &web{docs: map[string]string{"https://cdn.example.com/m.mpd": doc}}
	_, err := Expand(t.Context(), []string{DASH}, []string{"https://cdn.example.com/m.mpd"}, w.get, 100)
	if err == nil || !strings.Contains(err.Error(), "the template makes URLs longer than 8192 bytes") {
		t.Fatalf("err %v", err)
	}
}
