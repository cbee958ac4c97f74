package grape

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rpcRequest is what a stub worker saw of one request.
type rpcRequest struct {
	Method, Path, Compress, ContentType string
	RID, Service                        string
	Payload                             json.RawMessage
}

// stubWorker starts a worker that decodes each request (inflating it when grc-compress
// says gzip), records it and lets answer write the reply, given the request's rid.
func stubWorker(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, rid string)) (worker string, seen func() []rpcRequest) {
	t.Helper()
	var reqs []rpcRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading the request: %v", err)
		}
		if r.Header.Get("grc-compress") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Errorf("request body is not gzip: %v", err)
				return
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Errorf("request body is broken gzip: %v", err)
			}
		}
		var parts []json.RawMessage
		if err := json.Unmarshal(body, &parts); err != nil || len(parts) != 3 {
			t.Errorf("request body %q is not [rid, service, payload]", body)
			return
		}
		req := rpcRequest{Method: r.Method, Path: r.URL.Path, Compress: r.Header.Get("grc-compress"), ContentType: r.Header.Get("Content-Type"), Payload: parts[2]}
		json.Unmarshal(parts[0], &req.RID)
		json.Unmarshal(parts[1], &req.Service)
		reqs = append(reqs, req)
		answer(w, r, req.RID)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), func() []rpcRequest { return reqs }
}

// rpcAnswer replies body, with %s replaced by the request's rid, gzipped when zip.
func rpcAnswer(status int, body string, zip bool) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, rid string) {
		out := []byte(strings.ReplaceAll(body, "%s", rid))
		if zip {
			out = gzipped(out)
		}
		w.WriteHeader(status)
		w.Write(out)
	}
}

func gzipped(b []byte) []byte {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	return z.Bytes()
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRPCCall(t *testing.T) {
	for _, zip := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", zip), func(t *testing.T) {
			worker, seen := stubWorker(t, rpcAnswer(200, `["%s",null,{"got":[1,"two"]}]`, zip))
			c := NewRPC(time.Second, "grenache/test", zip)
			data, err := c.Call(testCtx(t), worker, "rpc:test", json.RawMessage(`{"action":"echo","args":[1,"<two>"]}`))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(`{"got":[1,"two"]}`, string(data)); diff != "" {
				t.Errorf("data mismatch (-want +got):\n%s", diff)
			}
			reqs := seen()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if !uuidPattern.MatchString(r.RID) {
				t.Errorf("rid %q is not a version 4 UUID", r.RID)
			}
			want := rpcRequest{Method: "POST", Path: "/", Compress: map[bool]string{false: "none", true: "gzip"}[zip],
				RID: r.RID, Service: "rpc:test", Payload: json.RawMessage(`{"action":"echo","args":[1,"<two>"]}`)}
			if diff := cmp.Diff(want, r); diff != "" {
				t.Errorf("request mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRPCFreshRID(t *testing.T) {
	worker, seen := stubWorker(t, rpcAnswer(200, `["%s",null,1]`, false))
	c := NewRPC(time.Second, "", false)
	for range 2 {
		if _, err := c.Call(testCtx(t), worker, "s", json.RawMessage(`1`)); err != nil {
			t.Fatal(err)
		}
	}
	if r := seen(); r[0].RID == r[1].RID {
		t.Errorf("two requests with the same rid %q", r[0].RID)
	}
}

// A worker whose gzip failed answers plain: taken. One that was not asked for gzip must
// not send it.
func TestRPCGzipAnswers(t *testing.T) {
	worker, _ := stubWorker(t, rpcAnswer(200, `["%s",null,"plain"]`, false))
	if data, err := NewRPC(time.Second, "", true).Call(testCtx(t), worker, "s", json.RawMessage(`null`)); err != nil || string(data) != `"plain"` {
		t.Errorf("gzip asked, plain answer: got %s, %v", data, err)
	}
	worker, _ = stubWorker(t, rpcAnswer(200, `["%s",null,"zipped"]`, true))
	_, err := NewRPC(time.Second, "", false).Call(testCtx(t), worker, "s", json.RawMessage(`null`))
	var pe *WorkerProtocolError
	if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "did not ask") {
		t.Errorf("gzip not asked, gzip answer: got %v, want a WorkerProtocolError", err)
	}
}

func TestRPCAnswers(t *testing.T) {
	long := strings.Repeat("é", 300)
	for _, tc := range []struct {
		name   string
		status int
		body   string
		zip    bool // the answer is gzipped, and the request asked for it
		data   string
		err    string // regexp; "" for success
	}{
		{name: "data", body: `["%s",null,{"a":1}]`, data: `{"a":1}`},
		{name: "whitespace", body: " [ \"%s\" ,\n null , [1, 2] ] \n", data: `[1, 2]`},
		{name: "null data", body: `["%s",null,null]`, data: `null`},
		{name: "string data", body: `["%s",null,"x\u0001y"]`, data: `"x\u0001y"`},
		{name: "gzip", body: `["%s",null,true]`, zip: true, data: `true`},
		{name: "error", body: `["%s","ERR_API_NO_HANDLER",null]`, err: `^the worker at \S+ answered: ERR_API_NO_HANDLER$`},
		{name: "error with data", body: `["%s","boom",{"a":1}]`, err: `answered: boom$`},
		{name: "empty error", body: `["%s","",null]`, err: `answered an error with an empty message$`},
		{name: "terminal escapes", body: `["%s","\u001b[31mred\u0007",null]`, err: `answered: "\\x1b\[31mred\\a"$`},
		{name: "long error", body: `["%s","` + long + `",null]`, err: `answered: (é){100}\.\.\. \(600 bytes\)$`},
		{name: "empty", body: ``, err: `an empty answer$`},
		{name: "object", body: `{"rid":"%s"}`, err: `not a JSON array \[rid, error, data\]`},
		{name: "null", body: `null`, err: `not a JSON array`},
		{name: "two", body: `["%s",null]`, err: `an array of 2, not`},
		{name: "four", body: `["%s",null,1,2]`, err: `an array of 4, not`},
		{name: "trailing", body: `["%s",null,1]x`, err: `not a JSON array`},
		{name: "numeric rid", body: `[1,null,1]`, err: `rid is not a string`},
		{name: "null rid", body: `[null,"ERR_HEADER_PARSE_GR",null]`, err: `rid is not a string`},
		{name: "other rid", body: `["%s-x",null,1]`, err: `the answer is to request \S+-x, not to this one`},
		{name: "numeric error", body: `["%s",5,1]`, err: `error is neither a string nor null`},
		{name: "object error", body: `["%s",{"message":"x"},1]`, err: `error is neither a string nor null`},
		{name: "not UTF-8", body: "[\"%s\",null,\"\xff\"]", err: `not valid UTF-8`},
		{name: "status 500", status: 500, body: `["%s",null,1]`, err: `\(HTTP 500\): unexpected HTTP status`},
		{name: "broken gzip", body: "\x1f\x8b\x08\x00garbage", err: `a broken gzip answer`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status := tc.status
			if status == 0 {
				status = 200
			}
			worker, _ := stubWorker(t, rpcAnswer(status, tc.body, tc.zip))
			c := NewRPC(time.Second, "", tc.zip || strings.HasPrefix(tc.body, "\x1f\x8b"))
			data, err := c.Call(testCtx(t), worker, "s", json.RawMessage(`{}`))
			if tc.err == "" {
				if err != nil || string(data) != tc.data {
					t.Errorf("got %s, %v; want %s", data, err, tc.data)
				}
				return
			}
			if err == nil || !regexp.MustCompile(tc.err).MatchString(err.Error()) {
				t.Errorf("error %v, want one matching %q", err, tc.err)
			}
			var we *WorkerError
			var pe *WorkerProtocolError
			if !errors.As(err, &we) && !errors.As(err, &pe) {
				t.Errorf("error %T is neither a WorkerError nor a WorkerProtocolError", err)
			}
		})
	}
}

// A request the worker cannot read gets no answer at all: only the caller's deadline
// ends the wait.
func TestRPCNoAnswer(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	worker, _ := stubWorker(t, func(w http.ResponseWriter, r *http.Request, rid string) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := NewRPC(time.Second, "", false).Call(ctx, worker, "s", json.RawMessage(`1`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %s, want about 200ms", d)
	}
}

// An answer over MaxAnswer, as sent or once inflated, is refused after reading at most
// about MaxAnswer bytes of it.
func TestRPCAnswerBounded(t *testing.T) {
	const limit = 1 << 20
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for _, tc := range []struct {
		name   string
		zip    bool
		answer func(w http.ResponseWriter, r *http.Request, rid string)
	}{
		{"plain", false, func(w http.ResponseWriter, r *http.Request, rid string) {
			fmt.Fprintf(w, `["%s",null,"`, rid)
			for range 1024 { // 64 MiB, unless the client hangs up first
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			io.WriteString(w, `"]`)
		}},
		{"gzip bomb", true, func(w http.ResponseWriter, r *http.Request, rid string) {
			zw := gzip.NewWriter(w)
			fmt.Fprintf(zw, `["%s",null,"`, rid)
			for range 1024 { // 64 MiB inflated, some 64 KiB sent
				if _, err := zw.Write(chunk); err != nil {
					return
				}
			}
			io.WriteString(zw, `"]`)
			zw.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			worker, _ := stubWorker(t, tc.answer)
			c := NewRPC(time.Second, "", tc.zip)
			c.MaxAnswer = limit
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := c.Call(testCtx(t), worker, "s", json.RawMessage(`1`))
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrRPCAnswerTooLarge) {
				t.Errorf("error %v, want ErrRPCAnswerTooLarge", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*limit {
				t.Errorf("allocated %d bytes for an answer bounded at %d", alloc, limit)
			}
		})
	}
}

func TestRPCBadWorker(t *testing.T) {
	for _, w := range []string{"", "127.0.0.1", ":80", "127.0.0.1:"} {
		if _, err := NewRPC(time.Second, "", false).Call(testCtx(t), w, "s", json.RawMessage(`1`)); err == nil || !strings.Contains(err.Error(), "is not HOST:PORT") {
			t.Errorf("worker %q: error %v, want is not HOST:PORT", w, err)
		}
	}
	if _, err := rpcBody("r", "s", json.RawMessage(`{`)); err == nil {
		t.Errorf("rpcBody took a payload that is not JSON")
	}
	if _, err := rpcBody("r", "s\xff", json.RawMessage(`1`)); err == nil {
		t.Errorf("rpcBody took a service name that is not UTF-8")
	}
	b, err := rpcBody("r", "a<b", json.RawMessage(`{"x":"<&>"}`))
	if err != nil || string(b) != `["r","a<b",{"x":"<&>"}]` {
		t.Errorf("rpcBody = %s, %v; want it as given, unescaped", b, err)
	}
}

// A worker that closes the connection inside its answer: the error says so and keeps
// io.ErrUnexpectedEOF in its chain.
func TestRPCCutAnswer(t *testing.T) {
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
			http.ReadRequest(bufio.NewReader(c))
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[\"rid\""))
			c.Close()
		}
	}()
	_, err = NewRPC(time.Second, "", false).Call(testCtx(t), ln.Addr().String(), "s", json.RawMessage(`1`))
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "the worker closed the connection before a complete answer") {
		t.Errorf("error %v, want the worker's cut answer (io.ErrUnexpectedEOF)", err)
	}
}
