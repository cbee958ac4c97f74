package grape

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLookupAnswers(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   []string
		err    string // a substring of the error; "" for none
	}{
		{200, `["127.0.0.1:1337"]`, []string{"127.0.0.1:1337"}, ""},
		{200, ` ["127.0.0.1:1337", "10.0.0.2:80"]` + "\n", []string{"127.0.0.1:1337", "10.0.0.2:80"}, ""},
		{200, `[]`, []string{}, ""},
		{200, `"ERR_GRAPE_LOOKUP"`, nil, "the grape answered: ERR_GRAPE_LOOKUP"},
		{200, ``, nil, "must be a JSON array of strings"},
		{200, `null`, nil, "must be a JSON array of strings"},
		{200, `[1337]`, nil, "must be a JSON array of strings"},
		{200, `[null]`, nil, "must be a JSON array of strings"},
		{200, `["127.0.0.1:1337",]`, nil, "must be a JSON array of strings"},
		{200, `{"peers":[]}`, nil, "must be a JSON array of strings"},
		{200, `1`, nil, "must be a JSON array of strings"},
		{200, "[\"\xff\"]", nil, "must be a JSON array of strings"},
		{500, `ERR_GRAPE_PAYLOAD_INVALID`, nil, "HTTP 500"},
		{302, `[]`, nil, "unexpected HTTP status"},
	} {
		h, rec := stubGrape(t, reply(c.status, c.body))
		got, err := h.Lookup(testCtx(t), "rest:util:net")
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("answer %d %q: error %v, want one with %q", c.status, c.body, err, c.err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("answer %d %q: peers (-want +got):\n%s", c.status, c.body, diff)
		}
		reqs := rec.all()
		if len(reqs) != 1 || reqs[0].Path != "/lookup" || reqs[0].Body["data"] != "rest:util:net" {
			t.Errorf("answer %q: requests %+v, want one POST /lookup with data \"rest:util:net\"", c.body, reqs)
		}
	}
}

func TestAnnounceAnswers(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   int
		err    string
	}{
		{200, `1`, 1, ""},
		{200, "12\n", 12, ""},
		{200, `0`, 0, ""},
		{200, `"ERR_GRAPE_SERVICE_PORT"`, 0, "the grape answered: ERR_GRAPE_SERVICE_PORT"},
		{200, `-1`, 0, "whole JSON number"},
		{200, `1.5`, 0, "whole JSON number"},
		{200, `1e3`, 0, "whole JSON number"},
		{200, `01`, 0, "whole JSON number"},
		{200, `+1`, 0, "whole JSON number"},
		{200, `99999999999999999999999`, 0, "whole JSON number"},
		{200, `[1]`, 0, "whole JSON number"},
		{200, `null`, 0, "whole JSON number"},
		{200, ``, 0, "whole JSON number"},
		{200, `true`, 0, "whole JSON number"},
		{413, `ERR_GRAPE_PAYLOAD_SIZE`, 0, "HTTP 413"},
	} {
		h, rec := stubGrape(t, reply(c.status, c.body))
		got, err := h.Announce(testCtx(t), "rest:util:net", 1337)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("answer %d %q: error %v, want one with %q", c.status, c.body, err, c.err)
			continue
		}
		if got != c.want {
			t.Errorf("answer %q: %d, want %d", c.body, got, c.want)
		}
		reqs := rec.all()
		// The port travels as a JSON number: a grape refuses a string.
		if len(reqs) != 1 || reqs[0].Path != "/announce" || !cmp.Equal(reqs[0].Body["data"], []any{"rest:util:net", float64(1337)}) {
			t.Errorf("answer %q: requests %+v, want one POST /announce with data [\"rest:util:net\", 1337]", c.body, reqs)
		}
	}
}

func TestAnnounceRefuses(t *testing.T) {
	h := refuse(t)
	for _, c := range []struct {
		service string
		port    int
	}{
		{"", 1337}, {"svc", 0}, {"svc", -1}, {"svc", 65536}, {"a\nb", 1}, {"\xff", 1}, {"a\x7fb", 1},
	} {
		if _, err := h.Announce(testCtx(t), c.service, c.port); err == nil {
			t.Errorf("Announce(%q, %d) was sent", c.service, c.port)
		}
	}
	for _, s := range []string{"", "a\tb", "\xfe"} {
		if _, err := h.Lookup(testCtx(t), s); !errors.Is(err, ErrServiceName) {
			t.Errorf("Lookup(%q): %v, want ErrServiceName", s, err)
		}
	}
}

func TestCheckPeer(t *testing.T) {
	for _, p := range []string{
		"127.0.0.1:1337", "10.1.2.3:1", "10.1.2.3:65535", "[::1]:80", "[2001:db8::1]:443",
		"worker-1.example.com:8080", "localhost:80", "my_host:80", "host.example.:80",
	} {
		if err := CheckPeer(p); err != nil {
			t.Errorf("CheckPeer(%q): %v", p, err)
		}
	}
	for _, p := range []string{
		"", "127.0.0.1", "127.0.0.1:", ":1337", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:01337",
		"127.0.0.1:+80", "127.0.0.1:0x50", "127.0.0.1:80 ", " 127.0.0.1:80", "127.0.0.1:80\n",
		"127.0.0.256:80", "127.000.0.1:80", "1.2.3:80", "::1:80", "[::1%lo]:80", "[127.0.0.1]:80",
		"[::1]", "-rf:80", "a.-b:80", "host-:80", "a b:80", "$(reboot):80", "`id`:80", "a;b:80",
		"*:80", "a..b:80", "host/x:80", "http://h:80", "h:80:90", strings.Repeat("a", 64) + ":80",
		"héllo:80", "1.2.3.4.5:80",
	} {
		if err := CheckPeer(p); !errors.Is(err, ErrPeer) {
			t.Errorf("CheckPeer(%q): %v, want ErrPeer", p, err)
		}
	}
}

func TestPeers(t *testing.T) {
	got, err := Peers(testCtx(t), &fakeTransport{peers: []string{"127.0.0.1:1", "[::1]:2"}}, "svc")
	if err != nil || !cmp.Equal(got, []string{"127.0.0.1:1", "[::1]:2"}) {
		t.Errorf("Peers: %q, %v", got, err)
	}
	// One bad peer: an error naming it, and no peer at all.
	got, err = Peers(testCtx(t), &fakeTransport{peers: []string{"127.0.0.1:1", "$(id):2"}}, "svc")
	if !errors.Is(err, ErrPeer) || got != nil || !strings.Contains(err.Error(), `"$(id):2"`) {
		t.Errorf("Peers with a bad peer: %q, %v; want none and ErrPeer naming it", got, err)
	}
	if _, err := Peers(testCtx(t), &fakeTransport{err: ErrNotFound}, "svc"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Peers with a failing transport: %v", err)
	}
	// Over HTTP too.
	h, _ := stubGrape(t, reply(200, `["127.0.0.1:80","127.0.0.1:80; rm -rf ~"]`))
	if got, err := Peers(testCtx(t), h, "svc"); !errors.Is(err, ErrPeer) || got != nil {
		t.Errorf("Peers over HTTP with a bad peer: %q, %v", got, err)
	}
}

func TestAnnounceFunc(t *testing.T) {
	if n, err := Announce(testCtx(t), &fakeTransport{nodes: 2}, "svc", 1); n != 2 || err != nil {
		t.Errorf("Announce taken by 2: %d, %v", n, err)
	}
	if _, err := Announce(testCtx(t), &fakeTransport{nodes: 0}, "svc", 1); !errors.Is(err, ErrNotIndexed) {
		t.Errorf("Announce taken by none: %v, want ErrNotIndexed", err)
	}
	h, _ := stubGrape(t, reply(200, `0`))
	if _, err := Announce(testCtx(t), h, "svc", 1); !errors.Is(err, ErrNotIndexed) {
		t.Errorf("Announce over HTTP answered 0: %v, want ErrNotIndexed", err)
	}
}
