package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"prewarm/internal/warm"
)

// fields is a JSON object read field by field, so that a wrong type is
// reported with the field's name and what was expected; null is the same
// as absent. A field no handler asked for is refused (see unknown): a typo
// such as "time_out" must not pass for a default.
type fields struct {
	raw  map[string]json.RawMessage
	used map[string]bool
}

// bigBody is the size above which a body's url_list is counted before the
// body is decoded, so that a list too long is refused without holding it
// twice.
const bigBody = 1 << 20

// readFields reads a JSON object body. listLimit refuses a url_list with
// too many entries before anything else is decoded.
func readFields(r *http.Request, listLimit func(n int) error) (*fields, error) {
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= 64<<20 {
		buf.Grow(int(r.ContentLength) + 1) // one allocation, not a doubling series
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, warm.Invalid("body", "could not read the request body: %v", err)
	}
	body := bytes.TrimSpace(buf.Bytes())
	if len(body) == 0 {
		return nil, warm.Invalid("body", "is empty; send a JSON object")
	}
	if len(body) > bigBody && listLimit != nil {
		if err := listLimit(countList(body, "url_list")); err != nil {
			return nil, err
		}
	}
	f := &fields{used: map[string]bool{}}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&f.raw); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, warm.Invalid("body", "malformed JSON at byte %d: %v", syn.Offset, err)
		case errors.As(err, &typ):
			return nil, warm.Invalid("body", "must be a JSON object, got a JSON %s", typ.Value)
		}
		return nil, warm.Invalid("body", "malformed JSON: %v", err)
	}
	if f.raw == nil {
		return nil, warm.Invalid("body", "must be a JSON object, got null")
	}
	if dec.More() {
		return nil, warm.Invalid("body", "unexpected data after the JSON object")
	}
	return f, nil
}

// fieldsOf reads a JSON object nested in a body (a schedule's job).
func fieldsOf(raw json.RawMessage) (*fields, error) {
	f := &fields{used: map[string]bool{}}
	if err := json.Unmarshal(raw, &f.raw); err != nil || f.raw == nil {
		return nil, warm.Invalid("job", "must be a JSON object")
	}
	return f, nil
}

// countList counts the entries of the top-level array field name in a
// JSON object, without keeping them; 0 when the body is not such an
// object (the full decode then says what is wrong).
func countList(body []byte, name string) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return 0
		}
		if key != name {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return 0
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return 0
		}
		return countEntries(body[dec.InputOffset():])
	}
	return 0
}

// countEntries counts the entries of a JSON array whose opening bracket
// came just before b, by its commas at the top level: no entry is decoded,
// so counting a million costs no memory. Malformed JSON gets some count;
// the full decode says what is wrong with it.
func countEntries(b []byte) int {
	n, depth, inString, entry := 0, 0, false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
		case '"':
			inString, entry = true, true
		case '[', '{':
			depth++
			entry = true
		case ']', '}':
			if depth == 0 {
				if entry {
					n++
				}
				return n
			}
			depth--
		case ',':
			if depth == 0 {
				n++
				entry = false
			}
		default:
			entry = true
		}
	}
	return n
}

func (f *fields) get(name string) (json.RawMessage, bool) {
	f.used[name] = true
	v, ok := f.raw[name]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

// unknown refuses the first field (in name order) that no handler asked
// for, suggesting the known field it most resembles.
func (f *fields) unknown() error {
	var names, known []string
	for name := range f.raw {
		if !f.used[name] {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	for name := range f.used {
		known = append(known, name)
	}
	slices.Sort(names)
	slices.Sort(known)
	msg := "is not a field of this request"
	if near := nearest(names[0], known); near != "" {
		msg += fmt.Sprintf("; did you mean %q?", near)
	}
	return warm.Invalid(names[0], "%s", msg)
}

// nearest is the known name closest to name by edit distance, if close.
func nearest(name string, known []string) string {
	best, bestD := "", 3 // at most two edits away
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func kind(v json.RawMessage) string {
	switch v[0] {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case '{':
		return "an object"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func (f *fields) str(name string) (string, error) {
	v, ok := f.get(name)
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", warm.Invalid(name, "expected a string, got %s", kind(v))
	}
	return s, nil
}

func (f *fields) strings(name string) ([]string, error) {
	v, ok := f.get(name)
	if !ok {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal(v, &out); err == nil && !bytes.Contains(v, []byte("null")) {
		return out, nil // the common case, decoded in one pass
	}
	// Find the offending element to name it.
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, warm.Invalid(name, "expected an array of strings, got %s", kind(v))
	}
	out = make([]string, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it, &out[i]); err != nil || string(it) == "null" {
			return nil, warm.Invalid(name+"["+strconv.Itoa(i)+"]", "expected a string, got %s", kind(it))
		}
	}
	return out, nil
}

// stringOrList accepts a string or an array of strings.
func (f *fields) stringOrList(name string) ([]string, error) {
	v, ok := f.get(name)
	if !ok {
		return nil, nil
	}
	if v[0] == '"' {
		s, err := f.str(name)
		return []string{s}, err
	}
	return f.strings(name)
}

// optionalBool is boolean that tells absent from false.
func (f *fields) optionalBool(name string) (*bool, error) {
	if _, ok := f.get(name); !ok {
		return nil, nil
	}
	b, err := f.boolean(name)
	return &b, err
}

// number accepts a JSON number or a string holding one.
func (f *fields) number(name string) (*float64, error) {
	v, ok := f.get(name)
	if !ok {
		return nil, nil
	}
	var n float64
	if err := json.Unmarshal(v, &n); err != nil {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, warm.Invalid(name, "expected a number, got %s", kind(v))
		}
		if n, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			return nil, warm.Invalid(name, "expected a number, got %q", s)
		}
	}
	return &n, nil
}

func (f *fields) integer(name string) (*int, error) {
	n, err := f.number(name)
	if err != nil || n == nil {
		return nil, err
	}
	if *n != math.Trunc(*n) || math.Abs(*n) > 1e9 {
		return nil, warm.Invalid(name, "expected a whole number, got %v", *n)
	}
	i := int(*n)
	return &i, nil
}

// boolean accepts true/false (and, for the original's clients, "true" and
// "false" as strings).
func (f *fields) boolean(name string) (bool, error) {
	v, ok := f.get(name)
	if !ok {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err == nil {
		return b, nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
			return b, nil
		}
	}
	return false, warm.Invalid(name, "expected true or false, got %s", kind(v))
}
