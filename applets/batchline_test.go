package applets

import "testing"

func TestLoneSurrogate(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{`"plain"`, ``},
		{`"\ud83d\ude00"`, ``},
		{`"\uD83D\uDE00"`, ``},
		{`"\ufffd \u00e9 \uE000 \ud7ff"`, ``},
		{`"\\ud800"`, ``},        // an escaped backslash, then text
		{`"\\\ud800"`, `\ud800`}, // an escaped backslash, then an escape
		{`"a\ud800"`, `\ud800`},
		{`"\udc00x"`, `\udc00`},
		{`"\uDBFF"`, `\uDBFF`},
		{`"\ud800\u0041"`, `\ud800`},
		{`"\ud800\ud800\udc00"`, `\ud800`},
		{`"\ud800\udc00\udc00"`, `\udc00`},
		{`"\ud800\n\udc00"`, `\ud800`},
		{`"\ude00\ud83d"`, `\ude00`},
	} {
		if got := loneSurrogate([]byte(c.raw)); got != c.want {
			t.Errorf("loneSurrogate(%s) = %q, want %q", c.raw, got, c.want)
		}
	}
}
