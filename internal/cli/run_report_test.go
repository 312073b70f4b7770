package cli

import (
	"strings"
	"testing"

	"prewarm/internal/warm"
)

// prewarm run's report lists the URLs a keep-warm job cannot keep warm.
func TestRunReportNotKept(t *testing.T) {
	p := &warm.Progress{Job: warm.Job{ID: "j1", Status: warm.StatusFinished,
		Message: "nothing to keep warm: 2 objects cannot be kept (no freshness the POP tells; see not_kept_urls)"}}
	sum := &warm.Summary{Job: p.Job, NotKept: []warm.NotKept{
		{URL: "https://www.example.com/a.css", Reason: "no freshness information (no Cache-Control max-age or s-maxage, no Expires)", POPs: 2}}}
	var b strings.Builder
	if err := writeRunReport(&b, p, nil, sum); err != nil {
		t.Fatal(err)
	}
	want := "Not kept warm (1):\n  https://www.example.com/a.css: no freshness information (no Cache-Control max-age or s-maxage, no Expires) (at 2 POPs)\n"
	if !strings.Contains(b.String(), want) || !strings.Contains(b.String(), p.Message) {
		t.Errorf("run report lacks %q or the message:\n%s", want, b.String())
	}
}
