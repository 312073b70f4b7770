package expand

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// parseHLS reads an HLS playlist (RFC 8216), master or media alike: a
// playlist is what its tags say, and a master that also lists segments is
// still fully covered. emit gets every URL, child set for playlists to read
// in turn (variant streams, renditions, I-frame playlists).
func parseHLS(base *url.URL, data []byte, emit func(u *url.URL, child bool) error) error {
	text := string(trimBOM(data))
	n := 0           // line number, for errors
	started := false // #EXTM3U seen
	variant := false // the next URI line is a variant stream's playlist
	for line := range strings.Lines(text) {
		n++
		line = strings.TrimSpace(line) // also the \r of CRLF
		if line == "" {
			continue
		}
		if !started {
			if !strings.HasPrefix(line, "#EXTM3U") {
				return errors.New("it does not start with #EXTM3U")
			}
			started = true
			continue
		}
		if line[0] != '#' {
			if err := hlsEmit(base, line, variant, emit); err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			variant = false
			continue
		}
		tag, attrs, _ := strings.Cut(line, ":")
		var child bool
		switch tag {
		case "#EXT-X-STREAM-INF":
			variant = true
			continue
		case "#EXT-X-MEDIA", "#EXT-X-I-FRAME-STREAM-INF":
			child = true
		case "#EXT-X-MAP", "#EXT-X-PART", "#EXT-X-PRELOAD-HINT":
		case "#EXT-X-KEY", "#EXT-X-SESSION-KEY":
		default:
			// Comments, EXT-X-SESSION-DATA (no media), rendition reports
			// (playlists a master already lists), steering manifests.
			continue
		}
		list, err := hlsAttributes(attrs)
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", n, tag, err)
		}
		uri, ok := list["URI"]
		if !ok || (strings.HasSuffix(tag, "KEY") && list["METHOD"] == "NONE") {
			continue // CLOSED-CAPTIONS renditions, clear keys
		}
		if err := hlsEmit(base, uri, child, emit); err != nil {
			return fmt.Errorf("line %d: %s: %w", n, tag, err)
		}
	}
	if !started {
		return errors.New("it does not start with #EXTM3U")
	}
	return nil
}

func hlsEmit(base *url.URL, ref string, child bool, emit func(*url.URL, bool) error) error {
	u, ok, err := resolve(base, ref)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	return emit(u, child)
}

// hlsAttributes parses an attribute list (RFC 8216 §4.2): NAME=value pairs
// separated by commas, where a quoted value may itself hold commas.
func hlsAttributes(s string) (map[string]string, error) {
	attrs := map[string]string{}
	for s != "" {
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			break // trailing garbage after the last pair carries nothing we read
		}
		name = strings.TrimSpace(name)
		var value string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("attribute %s: unterminated quoted value", name)
			}
			value = rest[1 : 1+end]
			rest = rest[2+end:]
			if _, after, found := strings.Cut(rest, ","); found {
				rest = after
			} else {
				rest = ""
			}
		} else {
			value, rest, _ = strings.Cut(rest, ",")
			value = strings.TrimSpace(value)
		}
		attrs[name] = value
		s = rest
	}
	return attrs, nil
}
