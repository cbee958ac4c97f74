//go:build integration

package grape

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"grenache/grape/grapenet"
)

// TestRPCRealWorker calls grenache-nodejs-http 0.7.13 workers (scripts/worker.js),
// announced through one real grape and found through the other.
func TestRPCRealWorker(t *testing.T) {
	net := grapenet.Start(t, 2)
	a := net.StartWorker(t, net.Grapes[0], "rpc:grenache:test", "A")
	b := net.StartWorker(t, net.Grapes[0], "rpc:grenache:test", "B")
	host, port := net.Grapes[1].Addr()
	h := NewHTTP(host, port, false, time.Second, "grenache/test", 0)

	workers, err := Peers(testCtx(t), h, "rpc:grenache:test")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(workers)
	want := []string{a.Addr, b.Addr}
	slices.Sort(want)
	if !slices.Equal(workers, want) {
		t.Errorf("lookup found %v, want %v", workers, want)
	}
	if none, err := Peers(testCtx(t), h, "rpc:grenache:nobody"); err != nil || len(none) != 0 {
		t.Errorf("lookup of a service nobody announced: %v, %v; want none", none, err)
	}

	for _, zip := range []bool{false, true} {
		c := NewRPC(time.Second, "grenache/test", zip)
		data, err := c.Call(testCtx(t), a.Addr, "rpc:grenache:test", json.RawMessage(`{"action":"echo","args":[1,"<two>",{"three":null}]}`))
		if err != nil || string(data) != `[1,"<two>",{"three":null}]` {
			t.Errorf("gzip=%v: echo answered %s, %v", zip, data, err)
		}
		data, err = c.Call(testCtx(t), b.Addr, "rpc:grenache:test", json.RawMessage(`{"action":"big","args":[300000]}`))
		if err != nil || string(data) != `"`+strings.Repeat("x", 300000)+`"` {
			t.Errorf("gzip=%v: big answered %d bytes, %v", zip, len(data), err)
		}
		_, err = c.Call(testCtx(t), a.Addr, "rpc:grenache:test", json.RawMessage(`{"action":"fail","args":["ERR_BOOM"]}`))
		var we *WorkerError
		if !errors.As(err, &we) || we.Message != "ERR_BOOM" || we.Worker != a.Addr {
			t.Errorf("gzip=%v: fail answered %v, want the WorkerError ERR_BOOM", zip, err)
		}
	}

	// What the worker does on the wire, pinned: asked for gzip, it deflates its answer;
	// a body it cannot parse gets no answer at all.
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	io.WriteString(zw, `["r1","rpc:grenache:test",{"action":"whoami"}]`)
	zw.Close()
	req, _ := http.NewRequest("POST", "http://"+a.Addr+"/", &z)
	req.Header.Set("grc-compress", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) || resp.Header.Get("Content-Type") != "" {
		t.Errorf("asked for gzip: HTTP %d, Content-Type %q, body %q; want 200, none, gzip", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	} else if zr, err := gzip.NewReader(bytes.NewReader(raw)); err != nil {
		t.Error(err)
	} else if plain, _ := io.ReadAll(zr); string(plain) != `["r1",null,"A"]` {
		t.Errorf("asked for gzip: answer %s, want [\"r1\",null,\"A\"]", plain)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, "POST", "http://"+a.Addr+"/", strings.NewReader(`not json`))
	if resp, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			resp.Body.Close()
		}
		t.Errorf("a malformed request: %v, want no answer before the deadline", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := NewRPC(time.Second, "", false).Call(ctx, a.Addr, "rpc:grenache:test", json.RawMessage(`{"action":"never"}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("an action that never answers: %v, want context.DeadlineExceeded", err)
	}
}
