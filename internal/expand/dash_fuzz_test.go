package expand

import (
	"context"
	"errors"
	"net/url"
	"testing"
)

// FuzzDASH feeds arbitrary manifests, base URLs and limits to parseDASH:
// it must not panic, every URL it emits parses and is absolute, and a
// manifest never generates more than the limit (templates legitimately
// multiply a short manifest into many segments, so the count is bounded by
// the limit, not the input). Each URL is at most a fixed multiple of the
// manifest: template widths (%064d) and percent-escaping stay under 8-fold.
func FuzzDASH(f *testing.F) {
	const base = "https://cdn.example.com/dash/manifest.mpd"
	for _, doc := range []string{
		`<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT9.5S">
  <Period id="p0">
    <AdaptationSet mimeType="video/mp4">
      <SegmentTemplate timescale="1000" duration="2000" initialization="$RepresentationID$/init.mp4"
                       media="$RepresentationID$/seg-$Number%05d$.m4s"/>
      <Representation id="v1" bandwidth="800000"/>
      <Representation id="v2" bandwidth="2000000">
        <SegmentTemplate startNumber="0" media="$Bandwidth$/$Number%03d$-$$.m4s"/>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`,
		`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT20S">
  <Period>
    <AdaptationSet contentType="audio">
      <SegmentTemplate timescale="90000" presentationTimeOffset="900000" startNumber="10"
                       initialization="init-$RepresentationID$.mp4" media="$RepresentationID$/t$Time$-n$Number$.m4s">
        <SegmentTimeline><S t="900000" d="360000" r="2"/><S d="180000"/><S d="180000" r="-1"/></SegmentTimeline>
      </SegmentTemplate>
      <Representation id="a" bandwidth="128000"/>
    </AdaptationSet>
  </Period>
</MPD>`,
		`<MPD mediaPresentationDuration="PT30S"><BaseURL>https://origin.example.org/list/</BaseURL><Period><AdaptationSet>
  <Representation id="r1" bandwidth="1"><BaseURL>r1/</BaseURL><SegmentList timescale="1" duration="10">
    <Initialization sourceURL="init.mp4"/><SegmentURL media="s1.m4s"/><SegmentURL mediaRange="0-99"/>
    <SegmentURL media="https://other.example.org/s3.m4s"/></SegmentList></Representation>
</AdaptationSet></Period></MPD>`,
		`<dash:MPD xmlns:dash="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT60S"><dash:Period><dash:AdaptationSet>
  <dash:Representation id="v"><dash:BaseURL>video-1080.mp4</dash:BaseURL>
    <dash:SegmentBase indexRange="800-1999"><dash:Initialization sourceURL="init.mp4" range="0-799"/></dash:SegmentBase>
  </dash:Representation></dash:AdaptationSet></dash:Period></dash:MPD>`,
		`<MPD mediaPresentationDuration="PT10S"><BaseURL>https://cdn2.example.com/content/</BaseURL>
  <Period id="one" duration="PT4S"><BaseURL>period1/</BaseURL><AdaptationSet><BaseURL>video/</BaseURL>
    <SegmentTemplate media="$RepresentationID$-$Number$.m4s" duration="2"/>
    <Representation id="hd"><BaseURL>hd/</BaseURL></Representation></AdaptationSet></Period>
  <Period id="two" start="PT4S"><SegmentTemplate media="$Time%012d$.m4s" duration="3"/><AdaptationSet><Representation id="hd"/></AdaptationSet></Period>
</MPD>`,
		`<MPD type="dynamic"><Period start="PT0S"><AdaptationSet><SegmentTemplate media="$Number$.m4s" duration="2"/><Representation id="v"/></AdaptationSet></Period></MPD>`,
		`<MPD mediaPresentationDuration="PT1000000H"><Period><AdaptationSet>
<SegmentTemplate media="$Number$.m4s" duration="1" timescale="1000"/><Representation id="v"/></AdaptationSet></Period></MPD>`,
		`<MPD mediaPresentationDuration="PT1S"><Period><AdaptationSet>
<SegmentTemplate media="$Time$.m4s"><SegmentTimeline><S d="1" r="9223372036854775806"/></SegmentTimeline></SegmentTemplate>
<Representation id="v"/></AdaptationSet></Period></MPD>`,
	} {
		f.Add(base, []byte(doc), uint16(100))
	}
	f.Fuzz(func(t *testing.T, rawBase string, data []byte, rawLimit uint16) {
		base, ok := fuzzBase(rawBase)
		if !ok {
			return
		}
		limit := 1 + int(rawLimit%1000)
		out := &fuzzOutput{t: t}
		err := parseDASH(context.Background(), base, data, limit, func(u *url.URL) error {
			out.take(u)
			return nil
		})
		if out.count > limit {
			t.Fatalf("%d URLs past the limit of %d (error %v)", out.count, limit, err)
		}
		var lim *LimitError
		if errors.As(err, &lim) && lim.Limit != limit {
			t.Fatalf("LimitError for %d; the limit is %d", lim.Limit, limit)
		}
		if bound := len(base.String()) + 8*len(data) + 64; out.longest > bound {
			t.Fatalf("a URL of %d bytes from a %d-byte base and a %d-byte manifest", out.longest, len(base.String()), len(data))
		}
	})
}
