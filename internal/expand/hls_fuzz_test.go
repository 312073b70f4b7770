package expand

import (
	"bytes"
	"net/url"
	"testing"
)

// FuzzHLS feeds arbitrary playlists and base URLs to parseHLS: it must not
// panic, and every URL it emits is an absolute http(s) URL. A URL comes
// from one line, so there are no more URLs than lines, and each is at most
// the base plus its line with every byte percent-escaped.
func FuzzHLS(f *testing.F) {
	const base = "https://cdn.example.com/vod/master.m3u8?token=abc"
	for _, doc := range []string{
		ladder()[master],
		mediaPlaylist(3, "seg%d.ts"),
		"\xef\xbb\xbf#EXTM3U\r\n" +
			`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English, stereo",URI="audio/en.m3u8"` + "\r\n" +
			`#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"` + "\r\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud"` + "\r\n" +
			"v360/index.m3u8\r\n" +
			`#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI="//other.example.net/iframes.m3u8"` + "\r\n",
		"#EXTM3U\n#EXT-X-TARGETDURATION:6\n" +
			`#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/k1?id=1,2",IV=0x0123456789abcdef0123456789abcdef` + "\n" +
			`#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"` + "\n" +
			"#EXTINF:6,\n/vod/shared/s1.m4s\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:6,\n../s2.m4s?x=%41\n" +
			`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://asset-1"` + "\n#EXTINF:6,\nhttps://media.example.net/s4.m4s#t=0\n" +
			`#EXT-X-PART:DURATION=1.0,URI="p0.m4s"` + "\n" + `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p1.m4s"` + "\n#EXT-X-ENDLIST\n",
		"#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\n",
		"<html>Access denied</html>",
	} {
		f.Add(base, []byte(doc))
	}
	f.Add("http://[2001:db8::1]:8080/a/b.m3u8", []byte("#EXTM3U\n#EXTINF:1,\nhttp://h%zz/x\n#EXTINF:1,\nc d.ts\n"))
	f.Fuzz(func(t *testing.T, rawBase string, data []byte) {
		base, ok := fuzzBase(rawBase)
		if !ok {
			return
		}
		out := &fuzzOutput{t: t, httpOnly: true}
		_ = parseHLS(base, data, func(u *url.URL, child bool) error {
			out.take(u)
			return nil
		})
		lines := bytes.Count(data, []byte("\n")) + 1
		if out.count > lines {
			t.Fatalf("%d URLs from %d lines", out.count, lines)
		}
		out.wantGrowth(base, data, 3, "playlist")
	})
}
