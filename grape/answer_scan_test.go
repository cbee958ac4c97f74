package grape

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// scanBodies are get answers, good and bad, for the fast path to be held to walkAnswer.
func scanBodies(t testing.TB) (typical []string, others []string) {
	k := hex.EncodeToString(bytes.Repeat([]byte{0xab}, 32))
	sig := hex.EncodeToString(bytes.Repeat([]byte{0xcd}, 64))
	mutable := `{"id":"0123456789abcdef0123456789abcdef01234567","k":"` + k + `","seq":7,"sig":"` + sig + `","token":"cafe","v":"hello","salt":"foo"}`
	typical = []string{
		`{"id":"ab","token":null,"v":"hello world"}`,
		`{"id":"AB","token":"","v":""}`,
		mutable,
		strings.ReplaceAll(mutable, ",", ",\n  "),
		` {"v":"x","seq":-0,"k":"` + k + `","sig":"` + sig + `"} `,
		`{"v":"x","seq":9223372036854775807,"k":"` + strings.ToUpper(k) + `","sig":"` + sig + `"}`,
		`{"v":"x","nodes":{"type":"Buffer","data":[1,2,{"a":"]}"}]},"n":[],"m":"}","o":-1.5e3,"p":true,"q":null}`,
		`{"v":"h\u00e9llo \"w\"\n\\"}`,
		`{"v":"\ud800"}`,
		"{\"v\":\"caf\u00e9 ✓\"}",
	}
	others = []string{
		``, ` `, `[]`, `"x"`, `null`, `{}`, `{"id":"ab"}`, `{"v":"x"} x`, `{"v":"x"}{}`, `{"v":`,
		`{"v":"x","v":"y"}`, `{"v":"x","\u0076":"y"}`, `{"\u0076":"y"}`, `{"v":"x","n":1,"n":2}`,
		`{"v":"x","a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1}`,
		`{"v":1}`, `{"v":null}`, `{"v":{"type":"Buffer","data":[1]}}`,
		`{"v":"x","id":null}`, `{"v":"x","id":"node-1"}`, `{"v":"x","id":"\u0061b"}`, `{"v":"x","id":"` + strings.Repeat("ab", 65) + `"}`,
		`{"v":"x","token":"\u009b31m"}`, `{"v":"x","token":5}`, `{"v":"x","token":[]}`, `{"v":"x","token":"` + strings.Repeat("0", 129) + `"}`,
		`{"v":"x","k":true}`, `{"v":"x","k":"` + k[2:] + `","seq":1,"sig":"` + sig + `"}`, `{"v":"x","k":"zz` + k[2:] + `","seq":1,"sig":"` + sig + `"}`,
		`{"v":"x","k":"\u0061` + k[1:] + `","seq":1,"sig":"` + sig + `"}`,
		`{"v":"x","k":"` + k + `","seq":"7","sig":"` + sig + `"}`, `{"v":"x","k":"` + k + `","seq":7.0,"sig":"` + sig + `"}`,
		`{"v":"x","k":"` + k + `","seq":7e0,"sig":"` + sig + `"}`, `{"v":"x","k":"` + k + `","seq":9223372036854775808,"sig":"` + sig + `"}`,
		`{"v":"x","k":"` + k + `","seq":-9223372036854775809,"sig":"` + sig + `"}`,
		`{"v":"x","k":"` + k + `","seq":1}`, `{"v":"x","seq":1}`, `{"v":"x","sig":"` + sig + `"}`,
		`{"v":"x","salt":"bar"}`, `{"v":"x","salt":""}`, `{"v":"x","salt":"fo\u006f"}`, `{"v":"x","salt":[102,111,111]}`,
		"{\"v\":\"\xff\"}", `{"v":"x",}`, `{"v":"x" "id":"ab"}`, `{"v":"x"`,
	}
	return typical, others
}

// scanAnswer must accept only what walkAnswer accepts, with the same answer, and must
// accept the answers grapes send, or it would be no fast path.
func TestScanAnswerMatchesWalk(t *testing.T) {
	typical, others := scanBodies(t)
	for _, salt := range []string{"", "foo"} {
		for i, body := range append(typical, others...) {
			ok := checkScan(t, []byte(body), []byte(salt))
			if i < len(typical) && !ok && (salt == "foo" || !strings.Contains(body, `"salt"`)) {
				t.Errorf("salt %q: scanAnswer refuses the typical answer %s", salt, body)
			}
		}
	}
}

// checkScan compares scanAnswer with walkAnswer on one body and reports whether the fast
// path accepted it.
func checkScan(t *testing.T, body, salt []byte) bool {
	t.Helper()
	fast, ok := scanAnswer(body, salt)
	slow, err := walkAnswer(body, salt)
	if !ok {
		if fast != nil {
			t.Errorf("salt %q, body %q: scanAnswer refuses and returns %v", salt, body, fast)
		}
		return false
	}
	if err != nil {
		t.Errorf("salt %q, body %q: scanAnswer accepts what walkAnswer refuses (%v)", salt, body, err)
		return true
	}
	if diff := cmp.Diff(slow, fast); diff != "" {
		t.Errorf("salt %q, body %q: answer mismatch (-walkAnswer +scanAnswer):\n%s", salt, body, diff)
	}
	return true
}

func FuzzScanAnswer(f *testing.F) {
	typical, others := scanBodies(f)
	for _, b := range append(typical, others...) {
		f.Add([]byte(b), "foo")
	}
	f.Fuzz(func(t *testing.T, body []byte, salt string) {
		checkScan(t, body, []byte(salt))
	})
}
