package grape

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"grenache/bep44"
)

// outcome is what a call came to, in a form tables can spell out.
type outcome struct {
	Key    string // the key a put returned
	Kind   string // "", "cas", "seq", "not found", "too large", "grape", "protocol", "other"
	Status int    // ProtocolError.Status
	Text   string // GrapeError.Message or ProtocolError.Reason
	Body   string // ProtocolError.Body
}

func outcomeOf(key string, err error) outcome {
	var ge *GrapeError
	var pe *ProtocolError
	switch {
	case err == nil:
		return outcome{Key: key}
	case errors.Is(err, ErrCASMismatch):
		return outcome{Kind: "cas"}
	case errors.Is(err, ErrSeqNotNewer):
		return outcome{Kind: "seq"}
	case errors.Is(err, ErrNotFound):
		return outcome{Kind: "not found"}
	case errors.Is(err, ErrAnswerTooLarge):
		return outcome{Kind: "too large"}
	case errors.As(err, &ge):
		return outcome{Kind: "grape", Text: ge.Message}
	case errors.As(err, &pe):
		return outcome{Kind: "protocol", Status: pe.Status, Text: pe.Reason, Body: pe.Body}
	}
	return outcome{Kind: "other", Text: err.Error()}
}

const helloKey = "6d33adc2b6b2c14c3036feefb7fedbca1a880527" // sha1("11:hello world")

func TestPutAnswers(t *testing.T) {
	notString := "a put answer must be a JSON string"
	tests := []struct {
		name   string
		answer http.HandlerFunc
		want   outcome
	}{
		{"stored key", reply(200, `"`+helloKey+`"`), outcome{Key: helloKey}},
		{"stored key, blanks around", reply(200, " \""+helloKey+"\"\n"), outcome{Key: helloKey}},
		{"grape error", reply(200, `"All queries failed"`), outcome{Kind: "grape", Text: "All queries failed"}},
		{"upper-case key is no key", reply(200, `"`+strings.ToUpper(helloKey)+`"`), outcome{Kind: "grape", Text: strings.ToUpper(helloKey)}},
		{"39 hex digits", reply(200, `"`+helloKey[1:]+`"`), outcome{Kind: "grape", Text: helloKey[1:]}},
		// No cas and immutable: a grape never answers 301 or 302 (see TestPutConflicts).
		{"301 without cas", reply(301, `"301 CAS mismatch, re-read and try again"`), outcome{Kind: "protocol", Status: 301, Text: "unexpected HTTP status", Body: `"301 CAS mismatch, re-read and try again"`}},
		{"302 to an immutable put", reply(302, `"302 sequence number less than current"`), outcome{Kind: "protocol", Status: 302, Text: "unexpected HTTP status", Body: `"302 sequence number less than current"`}},
		{"413", reply(413, "ERR_GRAPE_PAYLOAD_SIZE"), outcome{Kind: "protocol", Status: 413, Text: "unexpected HTTP status", Body: "ERR_GRAPE_PAYLOAD_SIZE"}},
		{"500", reply(500, "ERR_GRAPE_PAYLOAD_INVALID"), outcome{Kind: "protocol", Status: 500, Text: "unexpected HTTP status", Body: "ERR_GRAPE_PAYLOAD_INVALID"}},
		{"404 empty", reply(404, ""), outcome{Kind: "protocol", Status: 404, Text: "unexpected HTTP status"}},
		{"not JSON", reply(200, "hello"), outcome{Kind: "protocol", Status: 200, Text: notString, Body: "hello"}},
		{"truncated", reply(200, `"6d33adc2`), outcome{Kind: "protocol", Status: 200, Text: notString, Body: `"6d33adc2`}},
		{"empty", reply(200, ""), outcome{Kind: "protocol", Status: 200, Text: notString}},
		{"object", reply(200, `{"v":"x"}`), outcome{Kind: "protocol", Status: 200, Text: notString, Body: `{"v":"x"}`}},
		{"number", reply(200, `1`), outcome{Kind: "protocol", Status: 200, Text: notString, Body: "1"}},
		{"null", reply(200, `null`), outcome{Kind: "protocol", Status: 200, Text: notString, Body: "null"}},
		{"null, blanks around", reply(200, " null\n"), outcome{Kind: "protocol", Status: 200, Text: notString, Body: "null"}},
		{"trailing garbage", reply(200, `"`+helloKey+`"x`), outcome{Kind: "protocol", Status: 200, Text: notString, Body: `"` + helloKey + `"x`}},
		{"two strings", reply(200, `"`+helloKey+`""`), outcome{Kind: "protocol", Status: 200, Text: notString, Body: `"` + helloKey + `""`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := stubGrape(t, tt.answer)
			key, err := h.Put(testCtx(t), &bep44.Item{V: []byte("hello world")}, nil)
			got := outcomeOf(key.String(), err)
			if err != nil && key != (bep44.Target{}) {
				t.Errorf("Put returned key %s with error %v", key, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Put outcome mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// TestPutConflicts: 301 is a CAS mismatch for a put with cas, 302 a seq not newer for a
// mutable put, whatever the body; otherwise the grape would never send them.
func TestPutConflicts(t *testing.T) {
	mut := mutableItem(t, "", 8, "hello")
	imm := &bep44.Item{V: []byte("hello world")}
	cas := int64(7)
	tests := []struct {
		name   string
		status int
		body   string
		it     *bep44.Item
		cas    *int64
		want   outcome
	}{
		{"301 with cas", 301, `"301 CAS mismatch, re-read and try again"`, mut, &cas, outcome{Kind: "cas"}},
		{"301 with cas, any body", 301, `<html>moved</html>`, mut, &cas, outcome{Kind: "cas"}},
		{"301 without cas", 301, `"301 CAS mismatch, re-read and try again"`, mut, nil, outcome{Kind: "protocol", Status: 301, Text: "unexpected HTTP status", Body: `"301 CAS mismatch, re-read and try again"`}},
		{"301 to an immutable put", 301, ``, imm, nil, outcome{Kind: "protocol", Status: 301, Text: "unexpected HTTP status"}},
		{"302 mutable", 302, `"302 sequence number less than current"`, mut, nil, outcome{Kind: "seq"}},
		{"302 mutable with cas", 302, ``, mut, &cas, outcome{Kind: "seq"}},
		{"302 immutable", 302, `"302 sequence number less than current"`, imm, nil, outcome{Kind: "protocol", Status: 302, Text: "unexpected HTTP status", Body: `"302 sequence number less than current"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := stubGrape(t, reply(tt.status, tt.body))
			_, err := h.Put(testCtx(t), tt.it, tt.cas)
			if diff := cmp.Diff(tt.want, outcomeOf("", err)); diff != "" {
				t.Errorf("Put outcome mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var followed atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
		io.WriteString(w, `"`+helloKey+`"`)
	}))
	t.Cleanup(elsewhere.Close)

	for _, status := range []int{301, 302, 307, 308} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h, rec := stubGrape(t, reply(status, "", "Location", elsewhere.URL+"/put"))
			for _, client := range []*http.Client{h.Client, nil, {}} {
				h.Client = client
				_, err := h.Put(testCtx(t), &bep44.Item{V: []byte("hello world")}, nil)
				if err == nil {
					t.Errorf("Put with client %v: no error for HTTP %d", client, status)
				}
			}
			if n := len(rec.all()); n != 3 {
				t.Errorf("the grape saw %d requests, want 3", n)
			}
		})
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("the Location was followed %d times", n)
	}
}

func TestGetAnswers(t *testing.T) {
	it := mutableItem(t, "foo", 7, "hello")
	mutable := answerJSON(t, it, nil)
	tests := []struct {
		name string
		body string
		want outcome
	}{
		{"empty body", "", outcome{Kind: "not found"}},
		{"grape error", `"ERR_GRAPE_HASH_FORMAT"`, outcome{Kind: "grape", Text: "ERR_GRAPE_HASH_FORMAT"}},
		{"grape error with control bytes", `"a\u001b[31mb"`, outcome{Kind: "grape", Text: "a\x1b[31mb"}},
		{"blank", "  \n", outcome{Kind: "protocol", Status: 200, Text: "a blank answer"}},
		{"not JSON", "ERR", outcome{Kind: "protocol", Status: 200, Text: "a get answer must be a JSON object, a JSON string or empty", Body: "ERR"}},
		{"array", `["v"]`, outcome{Kind: "protocol", Status: 200, Text: "a get answer must be a JSON object, a JSON string or empty", Body: `["v"]`}},
		{"truncated string", `"All queries`, outcome{Kind: "protocol", Status: 200, Text: "malformed JSON string", Body: `"All queries`}},
		{"truncated object", mutable[:40], outcome{Kind: "protocol", Status: 200, Text: "the answer is cut short", Body: mutable[:40]}},
		{"trailing garbage", `{"v":"x"} x`, outcome{Kind: "protocol", Status: 200, Text: "data after the answer's object", Body: `{"v":"x"} x`}},
		{"second object", `{"v":"x"}{}`, outcome{Kind: "protocol", Status: 200, Text: "data after the answer's object", Body: `{"v":"x"}{}`}},
		{"duplicated v", `{"v":"x","v":"y"}`, outcome{Kind: "protocol", Status: 200, Text: `key "v" appears twice`, Body: `{"v":"x","v":"y"}`}},
		{"duplicated v, escaped", `{"v":"x","\u0076":"y"}`, outcome{Kind: "protocol", Status: 200, Text: `key "v" appears twice`, Body: `{"v":"x","\u0076":"y"}`}},
		{"duplicated unknown key", `{"v":"x","n":1,"n":2}`, outcome{Kind: "protocol", Status: 200, Text: `key "n" appears twice`, Body: `{"v":"x","n":1,"n":2}`}},
		{"no v", `{"id":"ab"}`, outcome{Kind: "protocol", Status: 200, Text: "the answer has no v", Body: `{"id":"ab"}`}},
		{"v a number", `{"v":1}`, outcome{Kind: "protocol", Status: 200, Text: "v is a number, want a string", Body: `{"v":1}`}},
		{"v a Buffer", `{"v":{"type":"Buffer","data":[1]}}`, outcome{Kind: "protocol", Status: 200, Text: "v is an object, want a string", Body: `{"v":{"type":"Buffer","data":[1]}}`}},
		{"id null", `{"v":"x","id":null}`, outcome{Kind: "protocol", Status: 200, Text: "id is null, want a string", Body: `{"v":"x","id":null}`}},
		{"id not hex", `{"v":"x","id":"node-1"}`, outcome{Kind: "protocol", Status: 200, Text: "id is not hex", Body: `{"v":"x","id":"node-1"}`}},
		{"id with terminal escapes", `{"v":"x","id":"\u001b[2J"}`, outcome{Kind: "protocol", Status: 200, Text: "id is not hex", Body: `{"v":"x","id":"\u001b[2J"}`}},
		{"id too long", `{"v":"x","id":"` + strings.Repeat("ab", 65) + `"}`, outcome{Kind: "protocol", Status: 200, Text: "id is 130 characters, want at most 128 hex digits"}},
		{"id in capitals, token empty", `{"v":"x","id":"AB","token":""}`, outcome{Key: "ok"}},
		{"token not hex", `{"v":"x","token":"\u009b31m"}`, outcome{Kind: "protocol", Status: 200, Text: "token is not hex", Body: `{"v":"x","token":"\u009b31m"}`}},
		{"token too long", `{"v":"x","token":"` + strings.Repeat("0", 129) + `"}`, outcome{Kind: "protocol", Status: 200, Text: "token is 129 characters, want at most 128 hex digits"}},
		{"token a number", `{"v":"x","token":5}`, outcome{Kind: "protocol", Status: 200, Text: "token is a number, want a string or null", Body: `{"v":"x","token":5}`}},
		{"token an array", `{"v":"x","token":[]}`, outcome{Kind: "protocol", Status: 200, Text: "token is an array, want a string or null", Body: `{"v":"x","token":[]}`}},
		{"k short", edit(t, mutable, `"k":"`, `"k":"`, 2), outcome{Kind: "protocol", Status: 200, Text: "k is 62 characters, want 64 hex digits"}},
		{"k not hex", edit(t, mutable, `"k":"`, `"k":"zz`, 2), outcome{Kind: "protocol", Status: 200, Text: "k is not hex"}},
		{"k a boolean", `{"v":"x","k":true}`, outcome{Kind: "protocol", Status: 200, Text: "k is a boolean, want a string", Body: `{"v":"x","k":true}`}},
		{"sig short", edit(t, mutable, `"sig":"`, `"sig":"`, 2), outcome{Kind: "protocol", Status: 200, Text: "sig is 126 characters, want 128 hex digits"}},
		{"seq a string", edit(t, mutable, `"seq":7`, `"seq":"7"`, 0), outcome{Kind: "protocol", Status: 200, Text: "seq is a string, want an integer"}},
		{"seq a fraction", edit(t, mutable, `"seq":7`, `"seq":7.0`, 0), outcome{Kind: "protocol", Status: 200, Text: "seq is 7.0, want an integer without fraction or exponent"}},
		{"seq an exponent", edit(t, mutable, `"seq":7`, `"seq":7e0`, 0), outcome{Kind: "protocol", Status: 200, Text: "seq is 7e0, want an integer without fraction or exponent"}},
		{"seq over int64", edit(t, mutable, `"seq":7`, `"seq":9223372036854775808`, 0), outcome{Kind: "protocol", Status: 200, Text: "seq is 9223372036854775808, out of the int64 range"}},
		{"k without sig", `{"v":"x","k":"` + strings.Repeat("ab", 32) + `","seq":1}`, outcome{Kind: "protocol", Status: 200, Text: "a mutable answer needs k, sig and seq; got k true, sig false, seq true"}},
		{"sig without k", `{"v":"x","sig":"` + strings.Repeat("ab", 64) + `","seq":1}`, outcome{Kind: "protocol", Status: 200, Text: "a mutable answer needs k, sig and seq; got k false, sig true, seq true"}},
		{"seq alone: immutable, seq dropped", `{"v":"x","seq":1}`, outcome{Key: "ok"}},
		{"seq alone, not a number", `{"v":"x","seq":{"a":[1]}}`, outcome{Key: "ok"}},
		{"seq an object on a mutable answer", edit(t, mutable, `"seq":7`, `"seq":{"n":7}`, 0), outcome{Kind: "protocol", Status: 200, Text: "seq is an object, want an integer"}},
		{"other salt: for Fetch to refuse", edit(t, mutable, `"v":`, `"salt":"bar","v":`, 0), outcome{Key: "ok"}},
		{"salt not a string", edit(t, mutable, `"v":`, `"salt":[102,111,111],"v":`, 0), outcome{Kind: "protocol", Status: 200, Text: "salt is an array, want a string"}},
		{"not UTF-8", "{\"v\":\"\xff\"}", outcome{Kind: "protocol", Status: 200, Text: "the answer is not valid UTF-8", Body: `{"v":"."}`}},
		{"valid", mutable, outcome{Key: "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := stubGrape(t, reply(200, tt.body))
			a, err := h.Get(testCtx(t), it.Target(), []byte("foo"))
			got := outcomeOf("ok", err)
			if got.Kind == "protocol" && tt.want.Body == "" {
				got.Body = "" // long bodies: the excerpt is tested on its own
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Get outcome mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if (a == nil) == (err == nil) {
				t.Errorf("Get returned answer %v and error %v", a, err)
			}
		})
	}
}

// edit replaces the first old in s by new, and removes cut bytes after it.
func edit(t *testing.T, s, old, new string, cut int) string {
	t.Helper()
	i := strings.Index(s, old)
	if i < 0 {
		t.Fatalf("%q not in %s", old, s)
	}
	return s[:i] + new + s[i+len(old)+cut:]
}

func TestGetStatuses(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   outcome
	}{
		{413, "ERR_GRAPE_PAYLOAD_SIZE", outcome{Kind: "protocol", Status: 413, Text: "unexpected HTTP status", Body: "ERR_GRAPE_PAYLOAD_SIZE"}},
		{500, "ERR_GRAPE_PAYLOAD_INVALID\n", outcome{Kind: "protocol", Status: 500, Text: "unexpected HTTP status", Body: "ERR_GRAPE_PAYLOAD_INVALID"}},
		{301, `"301 CAS mismatch"`, outcome{Kind: "protocol", Status: 301, Text: "unexpected HTTP status", Body: `"301 CAS mismatch"`}},
		{503, "", outcome{Kind: "protocol", Status: 503, Text: "unexpected HTTP status"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			h, _ := stubGrape(t, reply(tt.status, tt.body))
			_, err := h.Get(testCtx(t), bep44.ImmutableTarget([]byte("x")), nil)
			if diff := cmp.Diff(tt.want, outcomeOf("", err)); diff != "" {
				t.Errorf("Get outcome mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetAnswerFields(t *testing.T) {
	it := mutableItem(t, "foo", 7, "héllo \"w\"")
	body := answerJSON(t, it, func(m map[string]any) {
		m["token"] = "cafe"
		m["salt"] = "foo"
		m["nodes"] = map[string]any{"type": "Buffer", "data": []int{1, 2}}
	})
	h, _ := stubGrape(t, reply(200, strings.ReplaceAll(body, ",", ",\n  ")))
	a, err := h.Get(testCtx(t), it.Target(), []byte("foo"))
	if err != nil {
		t.Fatal(err)
	}
	// Raw: the fields in the answer's order (json.Marshal sorted them), nodes left out.
	raw := strings.Replace(body, `,"nodes":{"data":[1,2],"type":"Buffer"}`, "", 1)
	salt := "foo"
	want := &Answer{Item: *it, ID: "0123456789abcdef0123456789abcdef01234567", Token: "cafe", Raw: []byte(raw), AnsweredSalt: &salt}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("answer mismatch (-want +got):\n%s", diff)
	}

	// An immutable item as another implementation's node answers it: nodes and seq 0,
	// which no check covers, are dropped.
	imm := &bep44.Item{V: []byte("hello world")}
	h, _ = stubGrape(t, reply(200, `{"id":"ab","nodes":{"type":"Buffer","data":[1,2]},"seq":0,"token":null,"v":"hello world"}`))
	a, err = h.Get(testCtx(t), imm.Target(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want = &Answer{Item: *imm, ID: "ab", Raw: []byte(`{"id":"ab","token":null,"v":"hello world"}`)}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("immutable answer mismatch (-want +got):\n%s", diff)
	}
}

func TestNotFoundNamesTarget(t *testing.T) {
	h, _ := stubGrape(t, reply(200, ""))
	target := bep44.ImmutableTarget([]byte("x"))
	_, err := h.Get(testCtx(t), target, nil)
	if diff := cmp.Diff(target.String()+": not found", errorText(err)); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
}

// endless writes until the client goes away, to show that reading stops at the limit.
func endless(prefix string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("a", 4096))
		io.WriteString(w, prefix)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			default:
			}
		}
	}
}

func TestAnswerTooLarge(t *testing.T) {
	for _, prefix := range []string{`"`, `{"v":"`, ""} {
		h, _ := stubGrape(t, endless(prefix))
		h.MaxAnswer = 1000
		_, err := h.Put(testCtx(t), &bep44.Item{V: []byte("x")}, nil)
		if !errors.Is(err, ErrAnswerTooLarge) {
			t.Errorf("Put with an endless answer %q...: error %v, want ErrAnswerTooLarge", prefix, err)
		}
		h.MaxAnswer = 0 // the default limit
		_, err = h.Get(testCtx(t), bep44.ImmutableTarget([]byte("x")), nil)
		if !errors.Is(err, ErrAnswerTooLarge) {
			t.Errorf("Get with an endless answer %q...: error %v, want ErrAnswerTooLarge", prefix, err)
		}
	}

	// Exactly at the limit is fine.
	h, _ := stubGrape(t, reply(200, `"`+helloKey+`"`))
	h.MaxAnswer = int64(len(helloKey) + 2)
	if _, err := h.Put(testCtx(t), &bep44.Item{V: []byte("hello world")}, nil); err != nil {
		t.Errorf("Put with an answer of MaxAnswer bytes: %v", err)
	}
}

func TestContext(t *testing.T) {
	release := make(chan struct{})
	h, _ := stubGrape(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	// A grape that sends its headers and then stalls in the body.
	stalling, _ := stubGrape(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"v":"`)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})

	calls := map[string]func(ctx context.Context, h *HTTP) error{
		"put": func(ctx context.Context, h *HTTP) error {
			_, err := h.Put(ctx, &bep44.Item{V: []byte("x")}, nil)
			return err
		},
		"get": func(ctx context.Context, h *HTTP) error {
			_, err := h.Get(ctx, bep44.ImmutableTarget([]byte("x")), nil)
			return err
		},
	}
	for name, call := range calls {
		for server, h := range map[string]*HTTP{"silent": h, "stalling": stalling} {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			err := call(ctx, h)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s to a %s grape past the deadline: error %v, want one wrapping context.DeadlineExceeded", name, server, err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := call(ctx, h); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error %v, want one wrapping context.Canceled", name, err)
		}
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRequestShape(t *testing.T) {
	it := mutableItem(t, "foo", 42, "hello")
	unsalted := mutableItem(t, "", 1, "hi")
	k := fmt.Sprintf("%x", it.K)
	cas := int64(41)
	h, rec := stubGrape(t, reply(200, `"`+helloKey+`"`))
	ctx := testCtx(t)
	h.Put(ctx, &bep44.Item{V: []byte("hello world")}, nil)
	h.Put(ctx, it, &cas)
	h.Put(ctx, unsalted, nil)
	h.Get(ctx, it.Target(), []byte("foo"))
	h.Get(ctx, unsalted.Target(), nil)
	h.Get(ctx, unsalted.Target(), []byte{})

	post := func(path string, data map[string]any) request {
		return request{Method: "POST", Path: path, UserAgent: "grenache/test", ContentType: "application/json", Body: map[string]any{"data": data}}
	}
	want := []request{
		post("/put", map[string]any{"v": "hello world"}),
		post("/put", map[string]any{"v": "hello", "seq": 42.0, "k": k, "sig": fmt.Sprintf("%x", it.Sig), "salt": "foo", "cas": 41.0}),
		post("/put", map[string]any{"v": "hi", "seq": 1.0, "k": k, "sig": fmt.Sprintf("%x", unsalted.Sig)}),
		post("/get", map[string]any{"hash": it.Target().String(), "salt": "foo"}),
		post("/get", map[string]any{"hash": unsalted.Target().String()}),
		post("/get", map[string]any{"hash": unsalted.Target().String()}),
	}
	got := rec.all()
	rids := map[string]bool{}
	for i := range got {
		rid, _ := got[i].Body["rid"].(string)
		if !uuidRE.MatchString(rid) {
			t.Errorf("request %d: rid %q is not a random UUID", i, rid)
		}
		if rids[rid] {
			t.Errorf("request %d: rid %q used twice", i, rid)
		}
		rids[rid] = true
		delete(got[i].Body, "rid")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
}

func TestPutRefuses(t *testing.T) {
	it := mutableItem(t, "foo", 1, "hello")
	with := func(f func(it *bep44.Item)) *bep44.Item {
		c := *it
		f(&c)
		return &c
	}
	cas := int64(1)
	bigCas := int64(bep44.MaxSeq + 1)
	tests := []struct {
		name string
		it   *bep44.Item
		cas  *int64
		want string
	}{
		{"value not UTF-8", &bep44.Item{V: []byte{0xff}}, nil, "the value is not valid UTF-8: the grape carries values as text and would store other bytes"},
		{"cas on immutable", &bep44.Item{V: []byte("x")}, &cas, "cas applies to mutable items only"},
		{"JSON salt", with(func(it *bep44.Item) { it.Salt = []byte(`"foo"`) }), nil, "the salt is a quoted JSON string: the grape would parse it and drop the quotes, so the item could never be verified"},
		{"short key", with(func(it *bep44.Item) { it.K = it.K[:31] }), nil, "wrong key size: public key is 31 bytes, want 32"},
		{"short sig", with(func(it *bep44.Item) { it.Sig = it.Sig[:63] }), nil, "invalid signature: signature is 63 bytes, want 64"},
		{"seq over 2^53", with(func(it *bep44.Item) { it.Seq = bep44.MaxSeq + 1 }), nil, "sequence number out of range: 9007199254740993 is outside 0..9007199254740992"},
		{"cas over 2^53", it, &bigCas, "cas: sequence number out of range: 9007199254740993 is outside 0..9007199254740992"},
	}
	h := refuse(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Put(testCtx(t), tt.it, tt.cas)
			if diff := cmp.Diff(tt.want, errorText(err)); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := h.Get(testCtx(t), it.Target(), []byte("[1]")); err == nil {
		t.Errorf("Get with a JSON array salt: no error")
	}
}

func TestNewHTTP(t *testing.T) {
	tests := []struct {
		host string
		port int
		tls  bool
		want string
	}{
		{"127.0.0.1", 30002, false, "http://127.0.0.1:30002"},
		{"localhost", 443, true, "https://localhost:443"},
		{"::1", 30002, false, "http://[::1]:30002"},
		{"[::1]", 30002, false, "http://[::1]:30002"},
		{"fe80::1%eth0", 1, false, "http://[fe80::1%25eth0]:1"},
	}
	for _, tt := range tests {
		h := NewHTTP(tt.host, tt.port, tt.tls, time.Second, "grenache/1", 0)
		if diff := cmp.Diff(tt.want, h.URL); diff != "" {
			t.Errorf("NewHTTP(%q, %d, %t) URL mismatch (-want +got):\n%s", tt.host, tt.port, tt.tls, diff)
		}
		if h.UserAgent != "grenache/1" || h.Client == nil {
			t.Errorf("NewHTTP(%q): user agent %q, client %v", tt.host, h.UserAgent, h.Client)
		}
	}

	// The client it makes, one-shot or pooled, works against a local server and keeps 301
	// as an answer, whatever its Location: a malformed one is not even parsed.
	for _, location := range []string{"/elsewhere", "http://[::1"} {
		for _, pool := range []int{0, 4} {
			srv := httptest.NewServer(reply(301, "", "Location", location))
			t.Cleanup(srv.Close)
			h := NewHTTP("127.0.0.1", portOf(t, srv.URL), false, time.Second, "grenache/1", pool)
			cas := int64(1)
			if _, err := h.Put(testCtx(t), mutableItem(t, "", 2, "x"), &cas); !errors.Is(err, ErrCASMismatch) {
				t.Errorf("pool %d, Location %q: Put through NewHTTP's client: error %v, want ErrCASMismatch", pool, location, err)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	if !errors.Is(ErrCASMismatch, bep44.ErrCASMismatch) || bep44.Code(ErrCASMismatch) != 301 {
		t.Errorf("ErrCASMismatch does not carry bep44.ErrCASMismatch")
	}
	if !errors.Is(ErrSeqNotNewer, bep44.ErrSeqTooLow) || bep44.Code(ErrSeqNotNewer) != 302 {
		t.Errorf("ErrSeqNotNewer does not carry bep44.ErrSeqTooLow")
	}
	tests := []struct {
		err  error
		want string
	}{
		{&GrapeError{"All queries failed"}, "the grape answered: All queries failed"},
		{&GrapeError{"a\x1b[2Jb"}, `the grape answered: "a\x1b[2Jb"`},
		{&GrapeError{strings.Repeat("x", 200)}, "the grape answered: " + strings.Repeat("x", 200)},
		{&GrapeError{strings.Repeat("x", 201)}, "the grape answered: " + strings.Repeat("x", 200) + "... (201 bytes)"},
		{&GrapeError{"x" + strings.Repeat("é", 100)}, "the grape answered: x" + strings.Repeat("é", 99) + "... (201 bytes)"},
		{&GrapeError{strings.Repeat("\x1b", 300)}, `the grape answered: "` + strings.Repeat(`\x1b`, 200) + `"... (300 bytes)`},
		{&ProtocolError{Status: 413, Reason: "unexpected HTTP status", Body: "ERR_GRAPE_PAYLOAD_SIZE"}, `unexpected answer from the grape (HTTP 413): unexpected HTTP status: "ERR_GRAPE_PAYLOAD_SIZE"`},
		{&ProtocolError{Status: 404, Reason: "unexpected HTTP status"}, `unexpected answer from the grape (HTTP 404): unexpected HTTP status`},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
			t.Errorf("Error() mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct{ in, want string }{
		{"", ""},
		{"  ERR_GRAPE_PAYLOAD_SIZE\n", "ERR_GRAPE_PAYLOAD_SIZE"},
		{"a\nb\tc\x00d\x1b", "a b c.d."},
		{"caf\xc3\xa9 \xff", "café ."},
		{"\uFFFD", "\uFFFD"},
		{long, long[:100] + "..."},
		{strings.Repeat("é", 60), strings.Repeat("é", 50) + "..."},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, excerpt([]byte(tt.in))); diff != "" {
			t.Errorf("excerpt(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

// TestHeaderLimit: the client NewHTTP makes, one-shot or pooled, reads at most
// MaxHeaderBytes of headers, and says so in one way.
func TestHeaderLimit(t *testing.T) {
	for _, size := range []int{MaxHeaderBytes / 2, 2 * MaxHeaderBytes} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Padding", strings.Repeat("a", size))
			io.WriteString(w, `"`+helloKey+`"`)
		}))
		t.Cleanup(srv.Close)
		for _, pool := range []int{0, 4} {
			h := NewHTTP("127.0.0.1", portOf(t, srv.URL), false, time.Second, "grenache/1", pool)
			_, err := h.Put(testCtx(t), &bep44.Item{V: []byte("hello world")}, nil)
			tooLarge := errors.Is(err, ErrAnswerTooLarge) && strings.HasSuffix(err.Error(), ": the grape's answer is too large: its headers exceed 65536 bytes")
			if tooLarge != (size > MaxHeaderBytes) || tooLarge != (err != nil) {
				t.Errorf("pool %d, %d bytes of headers: error %v", pool, size, err)
			}
		}
	}
}

// TestClosedWithoutAnswer: a connection closed before a whole answer is named so. Closed
// at once, net/http may word it as EOF, a reset or, under load, a closed idle connection:
// the test runs each a few times.
func TestClosedWithoutAnswer(t *testing.T) {
	for _, answer := range []string{"", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", "closed at once"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				if answer != "closed at once" {
					http.ReadRequest(bufio.NewReader(c))
					io.WriteString(c, answer)
				}
				c.Close()
			}
		}()
		for i := 0; i < 20; i++ {
			h := &HTTP{URL: "http://" + ln.Addr().String()}
			_, err = h.Put(testCtx(t), &bep44.Item{V: []byte("hello world")}, nil)
			const want = "the grape closed the connection before a complete answer: "
			if err == nil || !strings.HasPrefix(err.Error(), want) && !strings.Contains(err.Error(), "connection reset by peer") {
				t.Errorf("answer %q: error %v, want it to start with %q", answer, err, want)
			}
		}
	}
}

// TestNoCompression: the client NewHTTP makes asks for no compression and inflates
// nothing: a gzip answer is bytes that are not JSON.
func TestNoCompression(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	io.WriteString(zw, `{"v":"hello world"}`)
	zw.Close()
	var accept atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept.Store(r.Header.Get("Accept-Encoding"))
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(zipped.Bytes())
	}))
	t.Cleanup(srv.Close)
	for _, pool := range []int{0, 4} {
		accept.Store("unset")
		h := NewHTTP("127.0.0.1", portOf(t, srv.URL), false, time.Second, "grenache/1", pool)
		_, err := h.Get(testCtx(t), bep44.ImmutableTarget([]byte("hello world")), nil)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Reason != "a get answer must be a JSON object, a JSON string or empty" {
			t.Errorf("pool %d: Get of a gzip answer: error %v, want the answer refused as not JSON", pool, err)
		}
		if got := accept.Load(); got != "" {
			t.Errorf("pool %d: Accept-Encoding %q, want none", pool, got)
		}
	}
}
