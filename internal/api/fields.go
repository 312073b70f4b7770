package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"prewarm/internal/warm"
)

// fields is a JSON object read field by field, so that a wrong type is
// reported with the field's name and what was expected. Unknown fields are
// ignored, as the original ignored them; null is the same as absent.
type fields map[string]json.RawMessage

func readFields(r *http.Request) (fields, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, warm.Invalid("body", "could not read the request body: %v", err)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, warm.Invalid("body", "is empty; send a JSON object")
	}
	var f fields
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&f); err != nil {
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
	if f == nil {
		return nil, warm.Invalid("body", "must be a JSON object, got null")
	}
	if dec.More() {
		return nil, warm.Invalid("body", "unexpected data after the JSON object")
	}
	return f, nil
}

func (f fields) raw(name string) (json.RawMessage, bool) {
	v, ok := f[name]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
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
	}
	return "a number"
}

func (f fields) str(name string) (string, error) {
	v, ok := f.raw(name)
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", warm.Invalid(name, "expected a string, got %s", kind(v))
	}
	return s, nil
}

func (f fields) strings(name string) ([]string, error) {
	v, ok := f.raw(name)
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
func (f fields) stringOrList(name string) ([]string, error) {
	v, ok := f.raw(name)
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
func (f fields) optionalBool(name string) (*bool, error) {
	if _, ok := f.raw(name); !ok {
		return nil, nil
	}
	b, err := f.boolean(name)
	return &b, err
}

// number accepts a JSON number or a string holding one.
func (f fields) number(name string) (*float64, error) {
	v, ok := f.raw(name)
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

func (f fields) integer(name string) (*int, error) {
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
func (f fields) boolean(name string) (bool, error) {
	v, ok := f.raw(name)
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
