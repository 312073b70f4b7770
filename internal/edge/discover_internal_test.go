package edge

import (
	"slices"
	"testing"
)

func TestDistinctEdges(t *testing.T) {
	// DNS rotates a site's addresses: answers sharing one are one edge,
	// even when the answer that joins them comes last.
	got := distinctEdges([][]string{{"a", "b"}, {"d"}, {"c"}, {"b", "c"}, {"d"}, {"c"}})
	want := [][]string{{"a", "b", "c"}, {"d"}}
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Errorf("got %q, want %q", got, want)
	}
	// More networks sent to an edge rank it first.
	got = distinctEdges([][]string{{"x"}, {"y"}, {"y"}})
	if !slices.EqualFunc(got, [][]string{{"y"}, {"x"}}, slices.Equal[[]string]) {
		t.Errorf("ranking: got %q", got)
	}
}

func TestParseCountryNetworks(t *testing.T) {
	m, err := parseCountryNetworks("# c\ncountry,networks\nJP,1.0.16.0/24 126.52.160.0/24\n")
	if err != nil || len(m["JP"]) != 2 {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range []string{"jp,1.0.0.0/24\n", "JP,1.0.0.0\n", "JP,\n", "JP\n"} {
		if _, err := parseCountryNetworks(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
