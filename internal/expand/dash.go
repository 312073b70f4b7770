package expand

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The parts of an MPD (ISO/IEC 23009-1) that say where segments are. Tags
// name local names only, so any namespace prefix (normally
// urn:mpeg:dash:schema:mpd:2011) matches.
type (
	mpdXML struct {
		XMLName  xml.Name
		Type     string      `xml:"type,attr"`
		Duration string      `xml:"mediaPresentationDuration,attr"`
		BaseURLs []string    `xml:"BaseURL"`
		Periods  []periodXML `xml:"Period"`
	}
	periodXML struct {
		ID       string   `xml:"id,attr"`
		Start    string   `xml:"start,attr"`
		Duration string   `xml:"duration,attr"`
		Href     string   `xml:"http://www.w3.org/1999/xlink href,attr"`
		BaseURLs []string `xml:"BaseURL"`
		segmentInfo
		AdaptationSets []adaptationSetXML `xml:"AdaptationSet"`
	}
	adaptationSetXML struct {
		Href     string   `xml:"http://www.w3.org/1999/xlink href,attr"`
		BaseURLs []string `xml:"BaseURL"`
		segmentInfo
		Representations []representationXML `xml:"Representation"`
	}
	representationXML struct {
		ID        string   `xml:"id,attr"`
		Bandwidth *uint64  `xml:"bandwidth,attr"`
		BaseURLs  []string `xml:"BaseURL"`
		segmentInfo
	}
	// segmentInfo may sit on a Period, an AdaptationSet or a
	// Representation; lower levels inherit and override.
	segmentInfo struct {
		Base     *segmentBaseXML     `xml:"SegmentBase"`
		List     *segmentListXML     `xml:"SegmentList"`
		Template *segmentTemplateXML `xml:"SegmentTemplate"`
	}
	segmentBaseXML struct {
		Initialization *urlTypeXML `xml:"Initialization"`
		Index          *urlTypeXML `xml:"RepresentationIndex"`
	}
	segmentListXML struct {
		Initialization *urlTypeXML `xml:"Initialization"`
		SegmentURLs    []struct {
			Media *string `xml:"media,attr"`
		} `xml:"SegmentURL"`
	}
	segmentTemplateXML struct {
		Media          *string     `xml:"media,attr"`
		Initialization *string     `xml:"initialization,attr"`
		StartNumber    *uint64     `xml:"startNumber,attr"`
		Timescale      *uint64     `xml:"timescale,attr"`
		Duration       *uint64     `xml:"duration,attr"`
		PTO            *uint64     `xml:"presentationTimeOffset,attr"`
		InitElement    *urlTypeXML `xml:"Initialization"`
		Timeline       *struct {
			S []timelineS `xml:"S"`
		} `xml:"SegmentTimeline"`
	}
	timelineS struct {
		T *uint64 `xml:"t,attr"`
		N *uint64 `xml:"n,attr"`
		D *uint64 `xml:"d,attr"`
		R *int64  `xml:"r,attr"`
	}
	urlTypeXML struct {
		SourceURL *string `xml:"sourceURL,attr"`
	}
)

// span is a Period's place on the presentation timeline, as far as the
// MPD tells it.
type span struct {
	start, dur           time.Duration
	startKnown, durKnown bool
}

// dashReader enumerates one manifest's URLs. generated counts every URL
// it makes, duplicates included, so that a manifest asking for billions
// of segments (or repeating one URL forever) stops at the limit.
type dashReader struct {
	limit     int
	generated int
	live      bool
	emit      func(*url.URL) error
}

// parseDASH reads an MPD and emits, per Representation in document order,
// its initialization segment and its media segments (or its one file).
func parseDASH(ctx context.Context, base *url.URL, data []byte, limit int, emit func(*url.URL) error) error {
	var mpd mpdXML
	if err := newXMLDecoder(data).Decode(&mpd); err != nil {
		return err
	}
	if mpd.XMLName.Local != "MPD" {
		return fmt.Errorf("its root element is <%s>, not <MPD>", mpd.XMLName.Local)
	}
	spans, err := periodSpans(&mpd)
	if err != nil {
		return err
	}
	r := &dashReader{limit: limit, live: mpd.Type == "dynamic", emit: emit}
	if r.live && (len(spans) == 0 || !spans[len(spans)-1].durKnown) {
		return fmt.Errorf(`%w: type="dynamic" and no mediaPresentationDuration`, ErrLiveDASH)
	}
	mpdBase, declared, err := baseURL(base, false, mpd.BaseURLs)
	if err != nil {
		return err
	}
	for pi := range mpd.Periods {
		p := &mpd.Periods[pi]
		where := fmt.Sprintf("Period %d", pi+1)
		if p.ID != "" {
			where = fmt.Sprintf("Period %q", p.ID)
		}
		if p.Href != "" {
			// Its content is elsewhere; leaving it out would cut the list.
			return fmt.Errorf("%s is a remote element (xlink:href), which cannot be expanded", where)
		}
		pBase, pDecl, err := baseURL(mpdBase, declared, p.BaseURLs)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		for ai := range p.AdaptationSets {
			as := &p.AdaptationSets[ai]
			if as.Href != "" {
				return fmt.Errorf("%s: AdaptationSet %d is a remote element (xlink:href), which cannot be expanded", where, ai+1)
			}
			aBase, aDecl, err := baseURL(pBase, pDecl, as.BaseURLs)
			if err != nil {
				return fmt.Errorf("%s, AdaptationSet %d: %w", where, ai+1, err)
			}
			for ri := range as.Representations {
				rep := &as.Representations[ri]
				rWhere := fmt.Sprintf("%s, Representation %q", where, rep.ID)
				if err := ctx.Err(); err != nil {
					return err
				}
				rBase, rDecl, err := baseURL(aBase, aDecl, rep.BaseURLs)
				if err == nil {
					levels := []*segmentInfo{&p.segmentInfo, &as.segmentInfo, &rep.segmentInfo}
					err = r.representation(rBase, rDecl, levels, rep, spans[pi])
				}
				var lim *LimitError
				if errors.As(err, &lim) {
					return err
				}
				if err != nil {
					return fmt.Errorf("%s: %w", rWhere, err)
				}
			}
		}
	}
	return nil
}

// baseURL applies a level's BaseURL elements to its parent's base; the
// first one is taken when there are several (the others are alternative
// locations of the same content). declared says whether any level so far
// had one: only then is the base a media file of its own.
func baseURL(parent *url.URL, declared bool, list []string) (*url.URL, bool, error) {
	if len(list) == 0 || strings.TrimSpace(list[0]) == "" {
		return parent, declared, nil
	}
	ref := strings.TrimSpace(list[0])
	u, err := parent.Parse(ref)
	if err != nil {
		return nil, false, fmt.Errorf("BaseURL %q: %w", ref, err)
	}
	return u, true, nil
}

// periodSpans places each Period: start from @start, else where the
// previous one ends; duration from @duration, else up to the next
// Period's @start, else (the last one) up to mediaPresentationDuration.
func periodSpans(mpd *mpdXML) ([]span, error) {
	var total time.Duration
	totalKnown := mpd.Duration != ""
	if totalKnown {
		var err error
		if total, err = parseISODuration(mpd.Duration); err != nil {
			return nil, fmt.Errorf("mediaPresentationDuration: %w", err)
		}
	}
	n := len(mpd.Periods)
	spans := make([]span, n)
	explicit := make([]bool, n) // @start given
	for i, p := range mpd.Periods {
		if p.Start == "" {
			continue
		}
		d, err := parseISODuration(p.Start)
		if err != nil {
			return nil, fmt.Errorf("Period %d start: %w", i+1, err)
		}
		spans[i].start, spans[i].startKnown, explicit[i] = d, true, true
	}
	for i, p := range mpd.Periods {
		s := &spans[i]
		if !s.startKnown {
			switch {
			case i == 0:
				s.startKnown = true
			case spans[i-1].startKnown && spans[i-1].durKnown:
				s.start, s.startKnown = spans[i-1].start+spans[i-1].dur, true
			}
		}
		switch {
		case p.Duration != "":
			d, err := parseISODuration(p.Duration)
			if err != nil {
				return nil, fmt.Errorf("Period %d duration: %w", i+1, err)
			}
			s.dur, s.durKnown = d, true
		case !s.startKnown:
		case i+1 < n && explicit[i+1]:
			s.dur, s.durKnown = spans[i+1].start-s.start, true
		case i == n-1 && totalKnown:
			s.dur, s.durKnown = total-s.start, true
		}
		if s.durKnown && s.dur < 0 {
			return nil, fmt.Errorf("Period %d ends before it starts", i+1)
		}
	}
	return spans, nil
}

// representation emits one Representation's URLs. The nearest level that
// says anything about segments decides how they are addressed; farther
// levels of the same kind fill in what it leaves out.
func (r *dashReader) representation(base *url.URL, declared bool, levels []*segmentInfo, rep *representationXML, sp span) error {
	for i := len(levels) - 1; i >= 0; i-- {
		switch l := levels[i]; {
		case l.Template != nil:
			return r.template(base, mergeTemplates(levels), rep, sp)
		case l.List != nil:
			return r.list(base, levels)
		case l.Base != nil:
			return r.single(base, declared, levels)
		}
	}
	return r.single(base, declared, levels)
}

// single: SegmentBase, or no segment information at all: the
// Representation is one file, its BaseURL (byte ranges index into it).
func (r *dashReader) single(base *url.URL, declared bool, levels []*segmentInfo) error {
	var init, index *urlTypeXML
	for _, l := range levels {
		if l.Base != nil && l.Base.Initialization != nil {
			init = l.Base.Initialization
		}
		if l.Base != nil && l.Base.Index != nil {
			index = l.Base.Index
		}
	}
	for _, u := range []*urlTypeXML{init, index} {
		if u != nil && u.SourceURL != nil {
			if err := r.addRef(base, *u.SourceURL); err != nil {
				return err
			}
		}
	}
	if !declared {
		return errors.New("it has no BaseURL and no SegmentTemplate or SegmentList, so it names no media")
	}
	return r.add(base)
}

// list: SegmentList, every segment named.
func (r *dashReader) list(base *url.URL, levels []*segmentInfo) error {
	var init *urlTypeXML
	var segs *segmentListXML
	for _, l := range levels {
		if l.List == nil {
			continue
		}
		if l.List.Initialization != nil {
			init = l.List.Initialization
		}
		if len(l.List.SegmentURLs) > 0 {
			segs = l.List
		}
	}
	if init != nil && init.SourceURL != nil {
		if err := r.addRef(base, *init.SourceURL); err != nil {
			return err
		}
	}
	if segs == nil {
		return nil
	}
	for _, s := range segs.SegmentURLs {
		if s.Media == nil {
			// A byte range (mediaRange) of the BaseURL's file.
			if err := r.add(base); err != nil {
				return err
			}
			continue
		}
		if err := r.addRef(base, *s.Media); err != nil {
			return err
		}
	}
	return nil
}

func mergeTemplates(levels []*segmentInfo) *segmentTemplateXML {
	var m segmentTemplateXML
	for _, l := range levels {
		t := l.Template
		if t == nil {
			continue
		}
		m.Media = override(t.Media, m.Media)
		m.Initialization = override(t.Initialization, m.Initialization)
		m.StartNumber = override(t.StartNumber, m.StartNumber)
		m.Timescale = override(t.Timescale, m.Timescale)
		m.Duration = override(t.Duration, m.Duration)
		m.PTO = override(t.PTO, m.PTO)
		m.InitElement = override(t.InitElement, m.InitElement)
		m.Timeline = override(t.Timeline, m.Timeline)
	}
	return &m
}

// override is the lower level's value when it is set, else the inherited
// one.
func override[T any](override, inherited *T) *T {
	if override != nil {
		return override
	}
	return inherited
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// template: SegmentTemplate, segments numbered or timed.
func (r *dashReader) template(base *url.URL, t *segmentTemplateXML, rep *representationXML, sp span) error {
	vars := templateVars{repID: rep.ID, number: deref(t.StartNumber, 1)}
	if rep.Bandwidth != nil {
		vars.bandwidth, vars.hasBandwidth = *rep.Bandwidth, true
	}
	switch {
	case t.Initialization != nil:
		init, err := parseSegmentTemplate(*t.Initialization)
		if err != nil {
			return fmt.Errorf("initialization: %w", err)
		}
		if err := r.addTemplate(base, init, vars); err != nil {
			return err
		}
	case t.InitElement != nil && t.InitElement.SourceURL != nil:
		if err := r.addRef(base, *t.InitElement.SourceURL); err != nil {
			return err
		}
	}
	if t.Media == nil {
		return errors.New("its SegmentTemplate has no media attribute")
	}
	media, err := parseSegmentTemplate(*t.Media)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	if !media.has("Number") && !media.has("Time") {
		// Every segment would be this one URL.
		return r.addTemplate(base, media, vars)
	}
	timescale := deref(t.Timescale, 1)
	if timescale == 0 {
		return errors.New("its SegmentTemplate has timescale 0")
	}
	pto := deref(t.PTO, 0)
	if t.Timeline != nil {
		return r.timeline(base, media, vars, t.Timeline.S, timescale, pto, sp)
	}
	if t.Duration == nil || *t.Duration == 0 {
		return errors.New("its SegmentTemplate has neither a SegmentTimeline nor a duration")
	}
	if !sp.durKnown {
		return r.unbounded()
	}
	// ceil(period seconds / (duration / timescale)), exactly.
	num := new(big.Int).Mul(big.NewInt(int64(sp.dur)), new(big.Int).SetUint64(timescale))
	den := new(big.Int).Mul(new(big.Int).SetUint64(*t.Duration), big.NewInt(int64(time.Second)))
	count := r.ceilDiv(num, den)
	for k := range count {
		vars.time = pto + uint64(k)*(*t.Duration)
		if err := r.addTemplate(base, media, vars); err != nil {
			return err
		}
		vars.number++
	}
	return nil
}

// timeline enumerates a SegmentTimeline. An S is r+1 segments of d; r=-1
// repeats up to the next S's t, or to the Period's end.
func (r *dashReader) timeline(base *url.URL, media segmentTemplate, vars templateVars, ss []timelineS, timescale, pto uint64, sp span) error {
	var cur uint64
	for i, s := range ss {
		if s.T != nil {
			cur = *s.T
		}
		if s.N != nil {
			vars.number = *s.N
		}
		if s.D == nil || *s.D == 0 {
			return fmt.Errorf("SegmentTimeline S %d has no duration (d)", i+1)
		}
		d := *s.D
		rep := deref(s.R, 0)
		var count int64
		switch {
		case rep >= 0:
			count = min(rep, math.MaxInt64-1) + 1
		case rep < -1:
			return fmt.Errorf("SegmentTimeline S %d has r=%d", i+1, rep)
		case i+1 < len(ss):
			next := ss[i+1].T
			if next == nil {
				return fmt.Errorf("SegmentTimeline S %d repeats (r=-1) up to an S without t", i+1)
			}
			num := new(big.Int).Sub(new(big.Int).SetUint64(*next), new(big.Int).SetUint64(cur))
			count = r.ceilDiv(num, new(big.Int).SetUint64(d))
		case !sp.durKnown:
			return r.unbounded()
		default:
			// The Period ends at pto + dur×timescale in media time;
			// scaled by 1e9 to stay in integers.
			ns := big.NewInt(int64(time.Second))
			end := new(big.Int).Mul(new(big.Int).SetUint64(pto), ns)
			end.Add(end, new(big.Int).Mul(big.NewInt(int64(sp.dur)), new(big.Int).SetUint64(timescale)))
			num := end.Sub(end, new(big.Int).Mul(new(big.Int).SetUint64(cur), ns))
			count = r.ceilDiv(num, new(big.Int).Mul(new(big.Int).SetUint64(d), ns))
		}
		for range count {
			vars.time = cur
			if err := r.addTemplate(base, media, vars); err != nil {
				return err
			}
			if cur > math.MaxUint64-d {
				return fmt.Errorf("SegmentTimeline S %d runs past the largest time", i+1)
			}
			cur += d
			vars.number++
		}
	}
	return nil
}

func (r *dashReader) unbounded() error {
	if r.live {
		return fmt.Errorf("%w: its Period has no bounded duration", ErrLiveDASH)
	}
	return errors.New("the number of segments depends on the Period's duration, which neither Period@duration nor MPD@mediaPresentationDuration gives")
}

// ceilDiv is ⌈num/den⌉ (0 when num ≤ 0), at most one past what the limit
// allows: the caller's loop fails there, so nothing bigger is ever needed.
func (r *dashReader) ceilDiv(num, den *big.Int) int64 {
	if num.Sign() <= 0 {
		return 0
	}
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	most := int64(r.limit)
	if most < math.MaxInt64 {
		most++
	}
	if !q.IsInt64() || q.Int64() > most {
		return most
	}
	return q.Int64()
}

func (r *dashReader) addTemplate(base *url.URL, t segmentTemplate, v templateVars) error {
	s, err := t.render(v)
	if err != nil {
		return err
	}
	return r.addRef(base, s)
}

func (r *dashReader) addRef(base *url.URL, ref string) error {
	u, ok, err := resolve(base, strings.TrimSpace(ref))
	if err != nil {
		return fmt.Errorf("URL %q: %w", ref, err)
	}
	if !ok {
		// Still generated: a manifest of endless non-http URLs must stop.
		return r.count()
	}
	if err := r.count(); err != nil {
		return err
	}
	return r.emit(u)
}

func (r *dashReader) add(u *url.URL) error {
	if err := r.count(); err != nil {
		return err
	}
	return r.emit(u)
}

func (r *dashReader) count() error {
	r.generated++
	if r.generated > r.limit {
		return &LimitError{Limit: r.limit}
	}
	return nil
}

// templateVars are the values a SegmentTemplate's identifiers take.
type templateVars struct {
	repID        string
	bandwidth    uint64
	hasBandwidth bool
	number, time uint64
}

// segmentTemplate is a parsed media or initialization template: literal
// text and $Identifier$ / $Identifier%0Nd$ substitutions.
type segmentTemplate []templatePart

type templatePart struct {
	literal string
	ident   string // RepresentationID, Number, Bandwidth, Time; "" for a literal
	width   int    // zero-padded width from %0Nd
}

func parseSegmentTemplate(s string) (segmentTemplate, error) {
	var t segmentTemplate
	var lit strings.Builder
	orig := s
	for s != "" {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			lit.WriteString(s)
			break
		}
		lit.WriteString(s[:i])
		s = s[i+1:]
		j := strings.IndexByte(s, '$')
		if j < 0 {
			return nil, fmt.Errorf("template %q has an unclosed $", orig)
		}
		tag := s[:j]
		s = s[j+1:]
		if tag == "" { // $$ is a literal $
			lit.WriteByte('$')
			continue
		}
		ident, format, hasFormat := strings.Cut(tag, "%")
		part := templatePart{ident: ident}
		switch ident {
		case "RepresentationID", "Number", "Bandwidth", "Time":
		default:
			return nil, fmt.Errorf("template identifier $%s$ is not supported", tag)
		}
		if hasFormat && ident != "RepresentationID" { // a width on the ID means nothing; players ignore it
			w, ok := strings.CutSuffix(format, "d")
			if !ok || (w != "" && w[0] != '0') {
				return nil, fmt.Errorf("template format $%s$ is not %%0<width>d", tag)
			}
			if w != "" {
				n, err := strconv.Atoi(w[1:])
				if err != nil || n > 64 {
					return nil, fmt.Errorf("template format $%s$ is not %%0<width>d", tag)
				}
				part.width = n
			}
		}
		if lit.Len() > 0 {
			t = append(t, templatePart{literal: lit.String()})
			lit.Reset()
		}
		t = append(t, part)
	}
	if lit.Len() > 0 {
		t = append(t, templatePart{literal: lit.String()})
	}
	return t, nil
}

func (t segmentTemplate) has(ident string) bool {
	for _, p := range t {
		if p.ident == ident {
			return true
		}
	}
	return false
}

// maxRendered bounds a URL a template makes: a template that repeats
// $RepresentationID$ with a long id would otherwise make each URL grow
// with the square of the manifest.
const maxRendered = 8192

func (t segmentTemplate) render(v templateVars) (string, error) {
	var b strings.Builder
	for _, p := range t {
		if b.Len() > maxRendered {
			return "", fmt.Errorf("the template makes URLs longer than %d bytes", maxRendered)
		}
		var n uint64
		switch p.ident {
		case "":
			b.WriteString(p.literal)
			continue
		case "RepresentationID":
			b.WriteString(v.repID)
			continue
		case "Bandwidth":
			if !v.hasBandwidth {
				return "", errors.New("the template uses $Bandwidth$ but the Representation has no bandwidth")
			}
			n = v.bandwidth
		case "Number":
			n = v.number
		case "Time":
			n = v.time
		}
		fmt.Fprintf(&b, "%0*d", p.width, n)
	}
	if b.Len() > maxRendered {
		return "", fmt.Errorf("the template makes URLs longer than %d bytes", maxRendered)
	}
	return b.String(), nil
}

// parseISODuration reads an xs:duration as MPDs write it (PT1H2M3.5S,
// P1DT12H, P0Y0M0DT0H3M30.000S). Years and months have no fixed length,
// so only zero ones are accepted.
func parseISODuration(s string) (time.Duration, error) {
	orig := s
	s, ok := strings.CutPrefix(strings.TrimSpace(s), "P")
	if !ok || s == "" {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration", orig)
	}
	var total time.Duration
	inTime := false
	for s != "" {
		if s[0] == 'T' {
			if inTime || len(s) == 1 {
				return 0, fmt.Errorf("%q is not an ISO 8601 duration", orig)
			}
			inTime = true
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, fmt.Errorf("%q is not an ISO 8601 duration", orig)
		}
		value, unit := s[:i], s[i]
		s = s[i+1:]
		var per time.Duration
		switch {
		case !inTime && (unit == 'Y' || unit == 'M'):
			if f, err := strconv.ParseFloat(value, 64); err != nil || f != 0 {
				return 0, fmt.Errorf("%q: years and months have no fixed length; use days", orig)
			}
			continue
		case !inTime && unit == 'D':
			per = 24 * time.Hour
		case inTime && unit == 'H':
			per = time.Hour
		case inTime && unit == 'M':
			per = time.Minute
		case inTime && unit == 'S':
			per = time.Second
		default:
			return 0, fmt.Errorf("%q is not an ISO 8601 duration", orig)
		}
		whole, frac, _ := strings.Cut(value, ".")
		if whole == "" {
			whole = "0"
		}
		w, err := strconv.ParseInt(whole, 10, 64)
		if err != nil || w > int64(math.MaxInt64/per) {
			return 0, fmt.Errorf("%q is out of range", orig)
		}
		d := time.Duration(w) * per
		if frac != "" {
			f, err := strconv.ParseFloat("0."+frac, 64)
			if err != nil {
				return 0, fmt.Errorf("%q is not an ISO 8601 duration", orig)
			}
			d += time.Duration(math.Round(f * float64(per)))
		}
		if total > math.MaxInt64-d {
			return 0, fmt.Errorf("%q is out of range", orig)
		}
		total += d
	}
	return total, nil
}
