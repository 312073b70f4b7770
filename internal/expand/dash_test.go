package expand

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const dashDir = "https://cdn.example.com/dash/"

func TestExpandDASH(t *testing.T) {
	mpd := dashDir + "manifest.mpd"
	one := func(body string) map[string]string { return map[string]string{mpd: body} }
	runCases(t, []expandCase{
		{
			name:  "SegmentTemplate with $Number%05d$ and duration, overridden per Representation",
			kinds: []string{DASH},
			urls:  []string{mpd},
			docs: one(`<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT9.5S" minBufferTime="PT2S"
     profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Period id="p0">
    <AdaptationSet mimeType="video/mp4" segmentAlignment="true">
      <SegmentTemplate timescale="1000" duration="2000" initialization="$RepresentationID$/init.mp4"
                       media="$RepresentationID$/seg-$Number%05d$.m4s"/>
      <Representation id="v1" bandwidth="800000" width="640" height="360"/>
      <Representation id="v2" bandwidth="2000000">
        <SegmentTemplate startNumber="0" media="$Bandwidth$/$Number%03d$-$$.m4s"/>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`),
			// ceil(9.5 s / 2 s) = 5 segments each
			want: list(mpd,
				dashDir+"v1/init.mp4", numbered(dashDir+"v1/seg-%05d.m4s", 1, 5),
				dashDir+"v2/init.mp4", numbered(dashDir+"2000000/%03d-$.m4s", 0, 4)),
		},
		{
			name:  "SegmentTimeline with r, default t, r=-1 to the next S and to the Period's end",
			kinds: []string{DASH},
			urls:  []string{mpd},
			docs: one(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT20S">
  <Period>
    <AdaptationSet contentType="audio">
      <SegmentTemplate timescale="90000" presentationTimeOffset="900000" startNumber="10"
                       initialization="init-$RepresentationID$.mp4" media="$RepresentationID$/t$Time$-n$Number$.m4s">
        <SegmentTimeline>
          <S t="900000" d="360000" r="2"/>
          <S d="180000"/>
          <S d="180000" r="-1"/>
        </SegmentTimeline>
      </SegmentTemplate>
      <Representation id="a" bandwidth="128000"/>
    </AdaptationSet>
    <AdaptationSet contentType="text">
      <SegmentTemplate media="sub-$Time$.vtt">
        <SegmentTimeline><S t="0" d="10" r="-1"/><S t="40" d="5"/></SegmentTimeline>
      </SegmentTemplate>
      <Representation id="s" bandwidth="1"/>
    </AdaptationSet>
  </Period>
</MPD>`),
			want: list(mpd,
				dashDir+"init-a.mp4",
				// r=2: three of 4 s
				dashDir+"a/t900000-n10.m4s", dashDir+"a/t1260000-n11.m4s", dashDir+"a/t1620000-n12.m4s",
				// t follows on; then 2 s segments up to 900000 + 20×90000
				dashDir+"a/t1980000-n13.m4s",
				dashDir+"a/t2160000-n14.m4s", dashDir+"a/t2340000-n15.m4s", dashDir+"a/t2520000-n16.m4s",
				dashDir+"sub-0.vtt", dashDir+"sub-10.vtt", dashDir+"sub-20.vtt", dashDir+"sub-30.vtt", dashDir+"sub-40.vtt"),
		},
		{
			name:  "SegmentList",
			kinds: []string{DASH},
			urls:  []string{mpd},
			docs: one(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT30S">
  <BaseURL>https://origin.example.org/list/</BaseURL>
  <Period>
    <AdaptationSet>
      <Representation id="r1" bandwidth="1">
        <BaseURL>r1/</BaseURL>
        <SegmentList timescale="1" duration="10">
          <Initialization sourceURL="init.mp4"/>
          <SegmentURL media="s1.m4s"/>
          <SegmentURL media="s2.m4s"/>
          <SegmentURL media="https://other.example.org/s3.m4s"/>
        </SegmentList>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`),
			want: list(mpd, "https://origin.example.org/list/r1/init.mp4", "https://origin.example.org/list/r1/s1.m4s",
				"https://origin.example.org/list/r1/s2.m4s", "https://other.example.org/s3.m4s"),
		},
		{
			name:  "SegmentBase and no segment information: the BaseURL is the file (prefixed namespace)",
			kinds: []string{DASH},
			urls:  []string{mpd},
			docs: one(`<dash:MPD xmlns:dash="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT60S">
  <dash:Period>
    <dash:AdaptationSet>
      <dash:Representation id="v" bandwidth="5000000">
        <dash:BaseURL>video-1080.mp4</dash:BaseURL>
        <dash:SegmentBase indexRange="800-1999"><dash:Initialization range="0-799"/></dash:SegmentBase>
      </dash:Representation>
      <dash:Representation id="a" bandwidth="128000"><dash:BaseURL> audio.mp4 </dash:BaseURL></dash:Representation>
    </dash:AdaptationSet>
  </dash:Period>
</dash:MPD>`),
			want: list(mpd, dashDir+"video-1080.mp4", dashDir+"audio.mp4"),
		},
		{
			name:  "BaseURL cascade, first of several, over two Periods",
			kinds: []string{DASH},
			urls:  []string{mpd},
			docs: one(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT10S">
  <BaseURL>https://cdn2.example.com/content/</BaseURL>
  <BaseURL>https://backup.example.com/content/</BaseURL>
  <Period id="one" duration="PT4S">
    <BaseURL>period1/</BaseURL>
    <AdaptationSet>
      <BaseURL>video/</BaseURL>
      <SegmentTemplate media="$RepresentationID$-$Number$.m4s" duration="2"/>
      <Representation id="hd"><BaseURL>hd/</BaseURL></Representation>
      <Representation id="sd"><BaseURL>/abs/sd/</BaseURL></Representation>
    </AdaptationSet>
  </Period>
  <Period id="two">
    <SegmentTemplate media="$RepresentationID$-$Number$.m4s" duration="3"/>
    <AdaptationSet>
      <Representation id="hd"/>
    </AdaptationSet>
  </Period>
</MPD>`),
			want: list(mpd,
				"https://cdn2.example.com/content/period1/video/hd/hd-1.m4s", "https://cdn2.example.com/content/period1/video/hd/hd-2.m4s",
				"https://cdn2.example.com/abs/sd/sd-1.m4s", "https://cdn2.example.com/abs/sd/sd-2.m4s",
				// the second Period runs from 4 s to 10 s: two 3 s segments
				"https://cdn2.example.com/content/hd-1.m4s", "https://cdn2.example.com/content/hd-2.m4s"),
		},
		{
			name:  "MPD found by its body",
			kinds: []string{DASH},
			urls:  []string{dashDir + "manifest?format=mpd"},
			docs: map[string]string{dashDir + "manifest?format=mpd": `<?xml version="1.0"?>
<!-- generated -->
<MPD mediaPresentationDuration="PT1S"><Period><AdaptationSet><Representation id="x"><BaseURL>x.mp4</BaseURL></Representation></AdaptationSet></Period></MPD>`},
			want: list(dashDir+"manifest?format=mpd", dashDir+"x.mp4"),
		},
		{
			name:  "live manifest",
			kinds: []string{DASH},
			urls:  []string{mpd},
			docs: one(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="2024-01-01T00:00:00Z">
  <Period start="PT0S"><AdaptationSet><SegmentTemplate media="$Number$.m4s" duration="2"/><Representation id="v"/></AdaptationSet></Period>
</MPD>`),
			err: "reading " + mpd + " as a DASH manifest: live DASH manifests cannot be expanded",
		},
		{
			name:  "static manifest of unknown duration",
			kinds: []string{DASH},
			urls:  []string{mpd},
			docs:  one(`<MPD><Period><AdaptationSet><SegmentTemplate media="$Number$.m4s" duration="2"/><Representation id="v"/></AdaptationSet></Period></MPD>`),
			err:   `Period 1, Representation "v": the number of segments depends on the Period's duration`,
		},
		{
			name:  "a Representation naming no media",
			kinds: []string{DASH},
			urls:  []string{mpd},
			docs:  one(`<MPD mediaPresentationDuration="PT1S"><Period><AdaptationSet><Representation id="v"/></AdaptationSet></Period></MPD>`),
			err:   `Representation "v": it has no BaseURL`,
		},
		{
			name:  "remote Period",
			kinds: []string{DASH},
			urls:  []string{mpd},
			docs:  one(`<MPD xmlns:xlink="http://www.w3.org/1999/xlink" mediaPresentationDuration="PT1S"><Period xlink:href="https://ads.example.com/p.xml"/></MPD>`),
			err:   "Period 1 is a remote element (xlink:href)",
		},
		{
			name:  "not an MPD though named .mpd",
			kinds: []string{DASH},
			urls:  []string{mpd},
			docs:  one(`<html/>`),
			err:   "its root element is <html>, not <MPD>",
		},
		{
			name:  "a bad template",
			kinds: []string{DASH},
			urls:  []string{mpd},
			docs:  one(`<MPD mediaPresentationDuration="PT1S"><Period><AdaptationSet><SegmentTemplate media="$SubNumber$.m4s" duration="1"/><Representation id="v"/></AdaptationSet></Period></MPD>`),
			err:   "media: template identifier $SubNumber$ is not supported",
		},
	})
}

func TestExpandDASHLimit(t *testing.T) {
	mpd := dashDir + "huge.mpd"
	w := &web{docs: map[string]string{mpd: `<MPD mediaPresentationDuration="PT1000000H"><Period><AdaptationSet>
<SegmentTemplate media="$Number$.m4s" duration="1" timescale="1000"/><Representation id="v"/></AdaptationSet></Period></MPD>`,
		dashDir + "same.mpd": `<MPD mediaPresentationDuration="PT1S"><Period><AdaptationSet>
<SegmentTemplate media="all.m4s"><SegmentTimeline><S d="1" r="9223372036854775806"/></SegmentTimeline></SegmentTemplate>
<Representation id="v"/></AdaptationSet></Period></MPD>`,
		dashDir + "repeat.mpd": `<MPD mediaPresentationDuration="PT1S"><Period><AdaptationSet>
<SegmentTemplate media="$Time$.m4s"><SegmentTimeline><S d="1" r="9223372036854775806"/></SegmentTimeline></SegmentTemplate>
<Representation id="v"/></AdaptationSet></Period></MPD>`,
	}}
	for _, u := range []string{mpd, dashDir + "repeat.mpd"} {
		start := time.Now()
		got, err := Expand(t.Context(), []string{DASH}, []string{u}, w.get, 1000)
		var lim *LimitError
		if !errors.As(err, &lim) || lim.Source != u || got != nil {
			t.Fatalf("%s: error = %v", u, err)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("%s: took %v", u, time.Since(start))
		}
	}
	// A template without $Number$ or $Time$ is one URL, however many segments.
	got, err := Expand(t.Context(), []string{DASH}, []string{dashDir + "same.mpd"}, w.get, 1000)
	if err != nil || !slicesEqual(got, list(dashDir+"same.mpd", dashDir+"all.m4s")) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

func TestParseISODuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT1H2M3.5S":          time.Hour + 2*time.Minute + 3500*time.Millisecond,
		"PT0S":                0,
		"P1DT12H":             36 * time.Hour,
		"PT9.5S":              9500 * time.Millisecond,
		"P0Y0M0DT0H3M30.000S": 3*time.Minute + 30*time.Second,
		" PT1.000000001S ":    time.Second + 1,
		"PT.5S":               500 * time.Millisecond,
		"PT1.5M":              90 * time.Second,
	} {
		got, err := parseISODuration(in)
		if err != nil || got != want {
			t.Errorf("parseISODuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "PT", "1H", "PT1H2", "P1M", "P1Y", "PT1D", "P1H", "-PT1S", "PTxS", "P999999999999D", "PT1S2"} {
		if got, err := parseISODuration(in); err == nil {
			t.Errorf("parseISODuration(%q) = %v; want an error", in, got)
		}
	}
}

func TestSegmentTemplate(t *testing.T) {
	v := templateVars{repID: "v1", bandwidth: 500, hasBandwidth: true, number: 42, time: 9000}
	for in, want := range map[string]string{
		"$RepresentationID$/$Number%05d$.m4s": "v1/00042.m4s",
		"$Bandwidth$-$Time$-$Number$":         "500-9000-42",
		"a$$b$Number%d$":                      "a$b42",
		"$Time%012d$":                         "000000009000",
		"plain.mp4":                           "plain.mp4",
		"$RepresentationID%05d$":              "v1",
	} {
		tm, err := parseSegmentTemplate(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got, err := tm.render(v); err != nil || got != want {
			t.Errorf("%q rendered %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"$Number", "$Foo$", "$Number%5d$", "$Number%05x$", "$Number%0ad$"} {
		if _, err := parseSegmentTemplate(in); err == nil {
			t.Errorf("%q parsed; want an error", in)
		}
	}
	tm, _ := parseSegmentTemplate("$Bandwidth$")
	if _, err := tm.render(templateVars{}); err == nil {
		t.Error("$Bandwidth$ without a bandwidth rendered")
	}
}
