package store

import (
	"slices"
	"testing"
)

func TestChunksArePowersOfTwoThatAddUp(t *testing.T) {
	cases := []struct {
		n, per int
		want   []int
	}{
		{0, 100, nil},
		{1, 100, []int{1}},
		{200, 1000, []int{128, 64, 8}},
		{200, 100, []int{64, 64, 64, 8}},
		{5, 1, []int{1, 1, 1, 1, 1}},
	}
	for _, c := range cases {
		if got := chunks(c.n, c.per); !slices.Equal(got, c.want) {
			t.Errorf("chunks(%d, %d) = %v, want %v", c.n, c.per, got, c.want)
		}
	}
	// Every count up to 3,000 rows uses only a handful of statement sizes.
	sizes := map[int]bool{}
	for n := range 3000 {
		sum := 0
		for _, c := range chunks(n, 1000) {
			if c&(c-1) != 0 || c > 1000 {
				t.Fatalf("chunks(%d): %d is not a power of two ≤ 1000", n, c)
			}
			sizes[c] = true
			sum += c
		}
		if sum != n {
			t.Fatalf("chunks(%d) adds up to %d", n, sum)
		}
	}
	if len(sizes) != 10 {
		t.Fatalf("%d statement sizes, want 10 (1 … 512)", len(sizes))
	}
}
