package grape

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

func TestCheckSalt(t *testing.T) {
	const (
		quoted = "the salt is a quoted JSON string: the grape would parse it and drop the quotes, so the item could never be verified"
		array  = "the salt is a JSON array: the grape would parse it into other bytes, so the item could never be verified"
		object = "the salt is a JSON object: the grape may parse it into other bytes, so the item could never be verified"
		utf8   = "the salt is not valid UTF-8: the grape carries it as text and would store other bytes, so the item could never be verified"
	)
	tests := []struct {
		salt string
		want string
	}{
		{"", ""},
		{"foo", ""},
		{"café", ""},
		{"with space", ""},
		{`"`, ""},         // not valid JSON: taken as text
		{`"x`, ""},        // idem
		{`[1,2`, ""},      // idem
		{`{"a":`, ""},     // idem
		{"123", ""},       // Buffer.from(123) throws: the grape falls back to the text
		{"-1.5e3", ""},    // idem
		{"true", ""},      // idem
		{"false", ""},     // idem
		{"null", ""},      // idem
		{"x\x00y", ""},    // sent as \u0000, read back as the same byte
		{`"x"`, quoted},   // becomes x
		{`""`, quoted},    // becomes no salt at all
		{` "x" `, quoted}, // JSON.parse skips blanks
		{`"é"`, quoted},   // becomes é
		{"[1,2]", array},  // becomes bytes 01 02
		{"[]", array},     // becomes no salt
		{"\n[0]", array},  // becomes byte 00
		{`{"type":"Buffer","data":[1]}`, object},
		{`{"length":2}`, object}, // becomes two zero bytes
		{"{}", object},           // kept as text by the grape, refused all the same
		{"\xff", utf8},
		{"ok\xc3", utf8},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, errorText(CheckSalt([]byte(tt.salt)))); diff != "" {
			t.Errorf("CheckSalt(%q) mismatch (-want +got):\n%s", tt.salt, diff)
		}
	}
}

func TestCheckValue(t *testing.T) {
	const bad = "the value is not valid UTF-8: the grape carries values as text and would store other bytes"
	tests := []struct {
		v    string
		want string
	}{
		{"", ""},
		{"hello world", ""},
		{`"quoted" [1] {"a":1}`, ""}, // values are not re-parsed by the grape
		{"café ☕", ""},
		{"nul\x00byte", ""},
		{"\xff", bad},
		{"\xc3", bad},
		{"\xed\xa0\x80", bad}, // a UTF-16 surrogate encoded as UTF-8
		// Limits: at most 1000 bytes (what nodes keep) and fewer than 1000 UTF-16 units
		// (what the sending grape counts).
		{strings.Repeat("a", 999), ""},
		{strings.Repeat("a", 1000), "value too large: the value is 1000 characters (UTF-16 units), a grape stores fewer than 1000"},
		{strings.Repeat("é", 500), ""},       // 1000 bytes, 500 units
		{strings.Repeat("a", 998) + "é", ""}, // 1000 bytes, 999 units
		{strings.Repeat("a", 999) + "é", "value too large: the value is 1001 bytes, a DHT node keeps at most 1000"},
		{strings.Repeat("✓", 333), ""}, // 999 bytes, 333 units
		{strings.Repeat("✓", 334), "value too large: the value is 1002 bytes, a DHT node keeps at most 1000"},
		{strings.Repeat("😀", 250), ""},       // 1000 bytes, 500 units
		{strings.Repeat("a", 996) + "😀", ""}, // 1000 bytes, 998 units
		{strings.Repeat("a", 997) + "😀", "value too large: the value is 1001 bytes, a DHT node keeps at most 1000"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, errorText(CheckValue([]byte(tt.v)))); diff != "" {
			t.Errorf("CheckValue(%q) mismatch (-want +got):\n%s", tt.v, diff)
		}
	}
}

// utf16Len counts as JavaScript's String.length does.
func TestUTF16Len(t *testing.T) {
	for _, s := range []string{"", "a", "é", "✓", "😀", "\x00\x7f", "a😀é✓\U0010FFFF\uFFFF\u0800\u07FF"} {
		if got, want := utf16Len([]byte(s)), len(utf16.Encode([]rune(s))); got != want {
			t.Errorf("utf16Len(%q) = %d, want %d", s, got, want)
		}
	}
}
