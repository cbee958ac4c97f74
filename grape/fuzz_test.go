package grape

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeAnswer checks that decoding never panics, that failures are ProtocolErrors,
// that Raw holds only the covered fields, and that an accepted answer says the same thing
// once re-encoded and in its Raw form.
func FuzzDecodeAnswer(f *testing.F) {
	k := "\"k\":\"" + hex.EncodeToString(bytes.Repeat([]byte{0xab}, 32)) + "\""
	sig := "\"sig\":\"" + hex.EncodeToString(bytes.Repeat([]byte{0xcd}, 64)) + "\""
	seeds := []struct{ body, salt string }{
		{`{"id":"ab","token":null,"v":"hello world"}`, ""},
		{`{"id":"ab",` + k + `,"seq":1,` + sig + `,"token":"cafe","v":"hello","salt":"foo"}`, "foo"},
		{`{` + k + `,` + sig + `,"seq":-0,"v":"\u00e9\n"}`, ""},
		{`{"v":"x","v":"y"}`, ""},
		{`{"v":"x"} x`, ""},
		{`{"v":"x","seq":1e3}`, ""},
		{`{"v":"x","nodes":{"type":"Buffer","data":[1,2]}}`, ""},
		{`{"v":"x","salt":"bar"}`, "foo"},
		{`{"id":"ab","nodes":{"type":"Buffer","data":[1]},"seq":0,"token":null,"v":"\u007f\u2028\"\\/é"}`, ""},
		{`{"v":"x","k":"` + strings.Repeat("AB", 32) + `"}`, ""},
		{`["v"]`, ""},
		{`{"v":`, ""},
	}
	for _, s := range seeds {
		f.Add([]byte(s.body), s.salt)
	}
	f.Fuzz(func(t *testing.T, body []byte, salt string) {
		if CheckSalt([]byte(salt)) != nil {
			return // Get refuses such salts before asking
		}
		a, err := decodeAnswer(body, []byte(salt))
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) || a != nil {
				t.Fatalf("decodeAnswer: answer %v, error %T %v; want nil and a *ProtocolError", a, err, err)
			}
			return
		}
		if (len(salt) == 0) != (a.Item.Salt == nil) || string(a.Item.Salt) != salt {
			t.Errorf("Item.Salt %q, asked with %q", a.Item.Salt, salt)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, a.Raw); err != nil || !bytes.Equal(compact.Bytes(), a.Raw) {
			t.Errorf("Raw %q is not compact JSON (%v)", a.Raw, err)
		}

		// Raw holds only the covered fields, once each.
		var fields map[string]any
		if err := json.Unmarshal(a.Raw, &fields); err != nil {
			t.Fatalf("Raw %q: %v", a.Raw, err)
		}
		for key := range fields {
			if !(key == "id" || key == "token" || key == "v" || a.Item.Mutable() && (key == "k" || key == "sig" || key == "seq" || key == "salt")) {
				t.Errorf("Raw %q has %q", a.Raw, key)
			}
		}
		if fields["v"] != string(a.Item.V) {
			t.Errorf("Raw %q says v %q, the item's is %q", a.Raw, fields["v"], a.Item.V)
		}

		// The Raw form decodes to the same answer, and is its own Raw.
		fromRaw, err := decodeAnswer(a.Raw, []byte(salt))
		if err != nil {
			t.Fatalf("decoding Raw %q: %v", a.Raw, err)
		}
		want := *a
		if !a.Item.Mutable() {
			want.AnsweredSalt = nil // not covered on an immutable item: not in Raw
		}
		if diff := cmp.Diff(&want, fromRaw); diff != "" {
			t.Errorf("answer from Raw mismatch (-want +got):\n%s", diff)
		}

		// Re-encoding the fields gives an answer with the same fields.
		m := map[string]any{"v": string(a.Item.V), "id": a.ID, "token": nil}
		if a.Token != "" {
			m["token"] = a.Token
		}
		if a.Item.Mutable() {
			m["k"] = hex.EncodeToString(a.Item.K)
			m["sig"] = hex.EncodeToString(a.Item.Sig)
			m["seq"] = a.Item.Seq
		}
		if a.AnsweredSalt != nil {
			m["salt"] = *a.AnsweredSalt
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b, err := decodeAnswer(again, []byte(salt))
		if err != nil {
			t.Fatalf("decoding the re-encoded answer %s: %v", again, err)
		}
		if diff := cmp.Diff(a.Item, b.Item); diff != "" {
			t.Errorf("re-encoded item mismatch (-want +got):\n%s", diff)
		}
		if a.ID != b.ID || a.Token != b.Token {
			t.Errorf("re-encoded id/token %q/%q, want %q/%q", b.ID, b.Token, a.ID, a.Token)
		}
	})
}
