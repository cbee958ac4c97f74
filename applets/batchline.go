package applets

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A batch line is one JSON value: a string, or an object of known keys.
// encoding/json alone is too lenient for it: it matches keys in any case,
// keeps the last of duplicate keys, reads "5" into a json.Number, and turns
// an unpaired surrogate escape into U+FFFD, storing other bytes than the
// user gave. The decoder here refuses each of these, naming the field.

// lineField is one key a batch line may hold, once, spelled exactly so.
// Exactly one of text and num is set: where a string or a whole number
// (0 to 2^53) goes when the key is on the line.
type lineField struct {
	name string
	what string // how messages name its value: "the value"
	text **string
	num  **int64
}

// decodeLineObject reads a line that is one JSON object into fields.
func decodeLineObject(line []byte, fields ...lineField) error {
	if !utf8.Valid(line) {
		return usagef("the line is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil {
		return usagef("not a JSON item: %v", err)
	} else if tok != json.Delim('{') {
		return usagef("not a JSON item: a line is a JSON string or object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return usagef("not a JSON item: %v", err)
		}
		key, _ := tok.(string) // a key is always a string
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return usagef("not a JSON item: %v", err)
		}
		f, err := findField(key, fields)
		if err != nil {
			return err
		}
		if seen[f.name] {
			return usagef("the key %q appears twice", key)
		}
		seen[f.name] = true
		raw = bytes.TrimSpace(raw)
		if f.text != nil {
			s, err := decodeLineString(raw, f.name, f.what)
			if err != nil {
				return err
			}
			*f.text = &s
			continue
		}
		if c := raw[0]; c != '-' && (c < '0' || c > '9') {
			return usagef("%q must be a number, not %s", f.name, jsonKind(raw))
		}
		n, err := parseNumber(string(raw), strconv.Quote(f.name))
		if err != nil {
			return err
		}
		*f.num = &n
	}
	if _, err := dec.Token(); err != nil {
		return usagef("not a JSON item: %v", err)
	}
	return endOfLine(dec)
}

// decodeLineText reads a line that is one JSON string: what names it in messages.
func decodeLineText(line []byte, what string) (string, error) {
	if !utf8.Valid(line) {
		return "", usagef("the line is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return "", usagef("not a JSON item: %v", err)
	}
	if err := endOfLine(dec); err != nil {
		return "", err
	}
	return decodeLineString(bytes.TrimSpace(raw), "", what)
}

// endOfLine checks that nothing follows the line's JSON value.
func endOfLine(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return usagef("more than one JSON value on the line")
	}
	return nil
}

// findField finds key among fields, spelled exactly.
func findField(key string, fields []lineField) (lineField, error) {
	names := make([]string, len(fields))
	for i, f := range fields {
		if f.name == key {
			return f, nil
		}
		names[i] = strconv.Quote(f.name)
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return lineField{}, usagef("unknown key %q: keys are case-sensitive: %q", key, f.name)
		}
	}
	return lineField{}, usagef("unknown key %q: a line's keys are %s", key, strings.Join(names, ", "))
}

// decodeLineString decodes the raw JSON value of a string field.
func decodeLineString(raw []byte, name, what string) (string, error) {
	if raw[0] != '"' {
		if name == "" {
			return "", usagef("not a JSON item: a line is a JSON string or object, not %s", jsonKind(raw))
		}
		return "", usagef("%q must be a string, not %s", name, jsonKind(raw))
	}
	if esc := loneSurrogate(raw); esc != "" {
		return "", usagef("%s has an unpaired surrogate escape (%s): it is not text the grape can carry", what, esc)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", usagef("not a JSON item: %v", err)
	}
	return s, nil
}

// jsonKind names the kind of a raw JSON value for messages.
func jsonKind(raw []byte) string {
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// loneSurrogate returns the first \uXXXX escape in the raw JSON string raw
// that is a UTF-16 surrogate not part of a high-low pair, or "" if there is
// none. raw must be a valid JSON string.
func loneSurrogate(raw []byte) string {
	unit := func(i int) (rune, bool) { // the \uXXXX escape at raw[i:i+6]
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	isHigh := func(u rune) bool { return u >= 0xD800 && u < 0xDC00 }
	isLow := func(u rune) bool { return u >= 0xDC00 && u < 0xE000 }
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		u, ok := unit(i)
		if !ok {
			i++ // another escape: skip the escaped character
			continue
		}
		if isHigh(u) {
			if low, ok := unit(i + 6); ok && isLow(low) {
				i += 11
				continue
			}
		}
		if isHigh(u) || isLow(u) {
			return string(raw[i : i+6])
		}
		i += 5
	}
	return ""
}
