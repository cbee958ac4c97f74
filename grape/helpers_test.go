package grape

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"grenache/bep44"
)

// request is what a stub grape saw of one request.
type request struct {
	Method, Path, UserAgent, ContentType string
	Body                                 map[string]any
}

// recorder keeps the requests a stub grape received.
type recorder struct {
	mu   sync.Mutex
	reqs []request
}

func (r *recorder) all() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

// stubGrape starts a server that records every request and lets answer write the reply.
// It returns a transport for it, with the user agent "grenache/test".
func stubGrape(t *testing.T, answer http.HandlerFunc) (*HTTP, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading the request body: %v", err)
		}
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("request body %q is not a JSON object: %v", raw, err)
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, request{r.Method, r.URL.Path, r.UserAgent(), r.Header.Get("Content-Type"), body})
		rec.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return &HTTP{URL: srv.URL, Client: srv.Client(), UserAgent: "grenache/test"}, rec
}

// reply answers every request with status, headers and body, as a grape does.
func reply(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// refuse fails the test on any request: for calls that must not reach the grape.
func refuse(t *testing.T) *HTTP {
	t.Helper()
	h, _ := stubGrape(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request to %s", r.URL.Path)
	})
	return h
}

// testCtx bounds a test's calls so that a hang fails instead of blocking the run.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// signer returns a fixed test key.
func signer(t *testing.T) bep44.Signer {
	t.Helper()
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	s, err := bep44.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mutableItem(t *testing.T, salt string, seq int64, v string) *bep44.Item {
	t.Helper()
	it, err := bep44.NewMutable(signer(t), []byte(salt), seq, []byte(v))
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// answerJSON writes a get answer for it the way a grape does; edit changes the fields
// before encoding (to tamper with them).
func answerJSON(t *testing.T, it *bep44.Item, edit func(m map[string]any)) string {
	t.Helper()
	m := map[string]any{"id": "0123456789abcdef0123456789abcdef01234567", "token": nil, "v": string(it.V)}
	if it.Mutable() {
		m["k"] = hex.EncodeToString(it.K)
		m["sig"] = hex.EncodeToString(it.Sig)
		m["seq"] = it.Seq
	}
	if edit != nil {
		edit(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// errorText returns err's text, "" for nil, for diffs.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
