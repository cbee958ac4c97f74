package grape

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"grenache/bep44"
)

// TestDecodeAnswerRules pins what the decoder accepts, and what of it Raw keeps: the
// covered fields (id, token, v; for a mutable item k, sig, seq, salt) in the answer's
// order, as jq -cM prints them; nothing else.
func TestDecodeAnswerRules(t *testing.T) {
	k := strings.Repeat("ab", 32)
	sig := strings.Repeat("cd", 64)
	mut := `"k":"` + k + `","seq":7,"sig":"` + sig + `"`
	tests := []struct {
		name, body, salt string
		raw              string // "" when refused
		err              string // the refusal
	}{
		{name: "grape's immutable answer", body: `{"id":"ab","token":null,"v":"hello world"}`, raw: `{"id":"ab","token":null,"v":"hello world"}`},
		{name: "fields in the answer's order", body: `{"v":"x","token":"CAFE","id":"AB"}`, raw: `{"v":"x","token":"CAFE","id":"AB"}`},
		{name: "empty token string kept as a string", body: `{"v":"x","token":""}`, raw: `{"v":"x","token":""}`},
		{name: "whitespace dropped", body: " {\n \"id\" : \"ab\" ,\t\"v\":\"x\" }\r\n", raw: `{"id":"ab","v":"x"}`},
		{name: "escaped key", body: `{"\u0076":"x"}`, raw: `{"v":"x"}`},
		{name: "empty value", body: `{"v":""}`, raw: `{"v":""}`},
		{name: "another implementation's immutable answer", body: `{"id":"ab","nodes":{"type":"Buffer","data":[1,2,3]},"seq":0,"token":null,"v":"x"}`, raw: `{"id":"ab","token":null,"v":"x"}`},
		{name: "unknown fields of every kind dropped", body: `{"a":1,"v":"x","b":[{}],"c":null,"d":"\u001b[2J","e":true}`, raw: `{"v":"x"}`},
		{name: "seq of any kind on an immutable item", body: `{"v":"x","seq":"7"}`, raw: `{"v":"x"}`},
		{name: "salt on an immutable item, not printed", body: `{"v":"x","salt":"foo"}`, salt: "foo", raw: `{"v":"x"}`},
		{name: "mutable", body: `{"id":"ab",` + mut + `,"token":"cafe","v":"hello","salt":"foo"}`, salt: "foo",
			raw: `{"id":"ab",` + mut + `,"token":"cafe","v":"hello","salt":"foo"}`},
		{name: "mutable in capitals, kept as spelled", body: `{"v":"x","k":"` + strings.ToUpper(k) + `","seq":1,"sig":"` + sig + `"}`,
			raw: `{"v":"x","k":"` + strings.ToUpper(k) + `","seq":1,"sig":"` + sig + `"}`},
		{name: "mutable with nodes", body: `{` + mut + `,"nodes":[1],"v":"x"}`, raw: `{` + mut + `,"v":"x"}`},
		{name: "seq -0 printed as an integer", body: `{"v":"x","k":"` + k + `","seq":-0,"sig":"` + sig + `"}`, raw: `{"v":"x","k":"` + k + `","seq":0,"sig":"` + sig + `"}`},
		{name: "value escaped as jq does", body: `{"v":"\u007f\u0000\u0001\b\f\n\r\t\"\\\/\u00e9\u2028"}`, raw: "{\"v\":\"\\u007f\\u0000\\u0001\\b\\f\\n\\r\\t\\\"\\\\/é\u2028\"}"},

		{name: "k without sig", body: `{"v":"x","k":"` + k + `","seq":1}`, err: "a mutable answer needs k, sig and seq; got k true, sig false, seq true"},
		{name: "sig without k", body: `{"v":"x","sig":"` + sig + `","seq":1}`, err: "a mutable answer needs k, sig and seq; got k false, sig true, seq true"},
		{name: "k and sig without seq", body: `{"v":"x","k":"` + k + `","sig":"` + sig + `"}`, err: "a mutable answer needs k, sig and seq; got k true, sig true, seq false"},
		{name: "mutable seq a string", body: `{"v":"x",` + strings.Replace(mut, `7`, `"7"`, 1) + `}`, err: "seq is a string, want an integer"},
		{name: "mutable seq a fraction", body: `{"v":"x",` + strings.Replace(mut, `7`, `7.0`, 1) + `}`, err: "seq is 7.0, want an integer without fraction or exponent"},
		{name: "k not hex", body: `{"v":"x","k":"zz` + k[2:] + `"}`, err: "k is not hex"},
		{name: "salt not a string", body: `{"v":"x","salt":1}`, err: "salt is a number, want a string"},
		{name: "unknown key twice", body: `{"v":"x","n":1,"n":2}`, err: `key "n" appears twice`},
		{name: "v twice, escaped", body: `{"v":"x","\u0076":"y"}`, err: `key "v" appears twice`},
		{name: "id not hex", body: `{"v":"x","id":"node-1"}`, err: "id is not hex"},
		{name: "token not hex", body: `{"v":"x","token":"\u009b31m"}`, err: "token is not hex"},
		{name: "no v", body: `{"id":"ab"}`, err: "the answer has no v"},
		{name: "v a Buffer", body: `{"v":{"type":"Buffer","data":[1]}}`, err: "v is an object, want a string"},
		{name: "trailing data", body: `{"v":"x"} x`, err: "data after the answer's object"},
		{name: "cut short", body: `{"v":"x"`, err: "the answer is cut short"},
		{name: "not UTF-8", body: "{\"v\":\"\xff\"}", err: "the answer is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := decodeAnswer([]byte(tt.body), []byte(tt.salt))
			if tt.err != "" {
				pe, ok := err.(*ProtocolError)
				if !ok || pe.Reason != tt.err {
					t.Fatalf("decodeAnswer: %v, want a protocol error %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeAnswer: %v", err)
			}
			if diff := cmp.Diff(tt.raw, string(a.Raw)); diff != "" {
				t.Errorf("Raw mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// jqCases are strings for the jq-style encoder: every ASCII byte, and the non-ASCII
// characters JSON encoders tend to escape.
func jqCases() []string {
	var all strings.Builder
	for c := 0; c < 0x80; c++ {
		all.WriteByte(byte(c))
	}
	return []string{"", "hello world", all.String(), "/", "é", "\u2028\u2029", "\u0080\u009f\u00ad", "\ufeff", "😀", "\U0010ffff", "<a href='x'>&</a>", "\\u0041"}
}

func TestAppendJQString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\x00\x01\x02\x03\x04\x05\x06\x07", `"\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007"`},
		{"\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f", `"\b\t\n\u000b\f\r\u000e\u000f"`},
		{"\x10\x11\x12\x13\x14\x15\x16\x17", `"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017"`},
		{"\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f", `"\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"`},
		{"\x7f", `"\u007f"`},
		{`"`, `"\""`},
		{`\`, `"\\"`},
		{"/", `"/"`},
		{" ~", `" ~"`},
		{"\u2028\u2029", "\"\u2028\u2029\""},
		{"héllo ✓ 😀 \u0080", "\"héllo ✓ 😀 \u0080\""},
		{"<&>", `"<&>"`},
		{"", `""`},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, string(appendJQString(nil, tt.in))); diff != "" {
			t.Errorf("appendJQString(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
	for _, s := range jqCases() {
		var back string
		if err := json.Unmarshal(appendJQString(nil, s), &back); err != nil || back != s {
			t.Errorf("appendJQString(%q) decodes to %q (%v)", s, back, err)
		}
	}
}

// The original printed -r through jq -cM: the encoder must give jq's bytes.
func TestAppendJQStringMatchesJq(t *testing.T) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		t.Fatalf("jq is not installed, and this test compares with it: %v\nhint: apt-get install jq (as root, `make deps` does it)", err)
	}
	var in, want bytes.Buffer
	for _, s := range jqCases() {
		b, err := json.Marshal(map[string]string{"v": s})
		if err != nil {
			t.Fatal(err)
		}
		in.Write(append(b, '\n'))
		want.WriteString(`{"v":` + string(appendJQString(nil, s)) + "}\n")
	}
	cmd := exec.Command(jq, "-cM", ".")
	cmd.Stdin = &in
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("jq: %v", err)
	}
	if diff := cmp.Diff(want.String(), string(got)); diff != "" {
		t.Errorf("appendJQString differs from jq -cM (-ours +jq):\n%s", diff)
	}
}

func FuzzAppendJQString(f *testing.F) {
	for _, s := range jqCases() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // values come out of encoding/json, always valid
		}
		out := appendJQString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil || back != s {
			t.Fatalf("appendJQString(%q) = %s, decodes to %q (%v)", s, out, back, err)
		}
		for _, c := range out {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("appendJQString(%q) = %q: a raw control byte", s, out)
			}
		}
	})
}

// A DHT node's answer is spelled as a grape's: keys in the grape's order, no token as
// null, a mutable item's k, seq and sig, and bytes that are not UTF-8 as U+FFFD (a
// grape passes values on as text).
func TestNodeAnswer(t *testing.T) {
	im := NodeAnswer(bep44.Item{V: []byte("a\xffb\n")}, []byte{0xab, 0x01}, nil)
	if want := `{"id":"ab01","token":null,"v":"a` + "\uFFFD" + `b\n"}`; string(im.Raw) != want {
		t.Errorf("immutable: %s, want %s", im.Raw, want)
	}
	it := bep44.Item{V: []byte("v"), K: bytes.Repeat([]byte{1}, 32), Sig: bytes.Repeat([]byte{2}, 64), Seq: 7}
	m := NodeAnswer(it, []byte{0xcd}, []byte{0xef, 0x10})
	want := fmt.Sprintf(`{"id":"cd","k":"%x","seq":7,"sig":"%x","token":"ef10","v":"v"}`, it.K, it.Sig)
	if string(m.Raw) != want || m.Token != "ef10" || m.ID != "cd" {
		t.Errorf("mutable: %s (token %q, id %q), want %s", m.Raw, m.Token, m.ID, want)
	}
}
