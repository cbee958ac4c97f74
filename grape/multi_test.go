package grape

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"grenache/bep44"
)

// closedGrape returns the transport of a grape on a loopback port where nothing
// listens: connections to it are refused.
func closedGrape(t *testing.T) *HTTP {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return NewHTTP("127.0.0.1", port, false, 2*time.Second, "grenache/test", 0)
}

// countingGrape is a stub grape answering every request with status and body, and
// counting them.
func countingGrape(t *testing.T, status int, body string) (*HTTP, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		reply(status, body)(w, r)
	}))
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	return NewHTTP("127.0.0.1", port, false, 2*time.Second, "grenache/test", 0), &n
}

func TestMultiSkipsRefusedGrape(t *testing.T) {
	it := mutableItem(t, "", 1, "hello")
	dead := closedGrape(t)
	live, n := countingGrape(t, 200, answerJSON(t, it, nil))
	m := &Multi{Grapes: []*HTTP{dead, live}}
	a, err := Fetch(testCtx(t), m, it.Target(), nil)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if string(a.Item.V) != "hello" || n.Load() != 1 {
		t.Errorf("got %q after %d requests to the live grape, want \"hello\" after 1", a.Item.V, n.Load())
	}

	imm, err := bep44.NewImmutable([]byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	putLive, pn := countingGrape(t, 200, `"`+imm.Target().String()+`"`)
	if _, err := Store(testCtx(t), &Multi{Grapes: []*HTTP{dead, putLive}}, imm, nil); err != nil || pn.Load() != 1 {
		t.Errorf("Store: %v after %d requests, want nil after 1", err, pn.Load())
	}
}

// An answer of any kind from a grape is the answer: the next grape is never asked.
func TestMultiNeverRetriesAnAnswer(t *testing.T) {
	it := mutableItem(t, "", 1, "hello")
	cas := int64(0)
	for _, tc := range []struct {
		name   string
		status int
		body   string
		put    bool
		want   func(error) bool
	}{
		{"not found", 200, "", false, func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"grape message", 200, `"All queries failed"`, false, func(err error) bool {
			var ge *GrapeError
			return errors.As(err, &ge) && ge.Message == "All queries failed"
		}},
		{"bad answer", 200, `[1]`, false, func(err error) bool { var pe *ProtocolError; return errors.As(err, &pe) }},
		{"server error", 500, `oops`, false, func(err error) bool { var pe *ProtocolError; return errors.As(err, &pe) }},
		{"failed verification", 200, answerJSON(t, it, func(m map[string]any) { m["v"] = "tampered" }), false,
			func(err error) bool { return err != nil && !errors.Is(err, ErrNotFound) }},
		{"301 cas mismatch", 301, "", true, func(err error) bool { return errors.Is(err, ErrCASMismatch) }},
		{"302 seq not newer", 302, "", true, func(err error) bool { return errors.Is(err, ErrSeqNotNewer) }},
		{"put grape message", 200, `"All queries failed"`, true, func(err error) bool { var ge *GrapeError; return errors.As(err, &ge) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, n := countingGrape(t, tc.status, tc.body)
			second, n2 := countingGrape(t, 200, answerJSON(t, it, nil))
			m := &Multi{Grapes: []*HTTP{first, second}}
			var err error
			if tc.put {
				_, err = Store(testCtx(t), m, it, &cas)
			} else {
				_, err = Fetch(testCtx(t), m, it.Target(), nil)
			}
			if !tc.want(err) {
				t.Errorf("error %v is not the first grape's answer", err)
			}
			var at *At
			if tc.name != "failed verification" && (!errors.As(err, &at) || at.Addr != first.Addr()) {
				t.Errorf("error %v does not name the grape at %s", err, first.Addr())
			}
			if n.Load() != 1 || n2.Load() != 0 {
				t.Errorf("%d requests to the first grape and %d to the second, want 1 and 0", n.Load(), n2.Load())
			}
		})
	}
}

// A connection the grape closes after the request was sent is never retried: a put
// may have been stored.
func TestMultiNeverRetriesAfterSending(t *testing.T) {
	closing := rawGrape(t, false, 2*time.Second, func(c net.Conn) {
		buf := make([]byte, 4096)
		c.Read(buf) // the request; then the connection closes, unanswered
	})
	second, n2 := countingGrape(t, 200, `"x"`)
	it := mutableItem(t, "", 1, "hello")
	_, err := (&Multi{Grapes: []*HTTP{closing, second}}).Put(testCtx(t), it, nil)
	if err == nil || n2.Load() != 0 {
		t.Errorf("Put: %v with %d requests to the second grape, want an error and none", err, n2.Load())
	}
}

func TestMultiAllUnreachable(t *testing.T) {
	a, b := closedGrape(t), closedGrape(t)
	m := &Multi{Grapes: []*HTTP{a, b}}
	_, err := m.Get(testCtx(t), mutableItem(t, "", 1, "x").Target(), nil)
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v (%T) is no *UnreachableError", err, err)
	}
	want := "cannot connect to any grape: " + a.Addr() + " (connection refused), " + b.Addr() + " (connection refused)"
	if err.Error() != want {
		t.Errorf("error\n %s\nwant\n %s", err, want)
	}
}

// One context bounds the request over every grape tried: a grape that takes the
// request and never answers ends it at the deadline, and the grapes after it are
// not tried.
func TestMultiDeadline(t *testing.T) {
	silent := rawGrape(t, false, 2*time.Second, func(c net.Conn) {
		io.Copy(io.Discard, c) // takes the request, never answers, until the client gives up
	})
	third, n3 := countingGrape(t, 200, "")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&Multi{Grapes: []*HTTP{closedGrape(t), silent, third}}).Get(ctx, mutableItem(t, "", 1, "x").Target(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s after a deadline of 300ms", d)
	}
	if n3.Load() != 0 {
		t.Errorf("%d requests to the grape after the silent one, want none", n3.Load())
	}
	var at *At
	if !errors.As(err, &at) || at.Addr != silent.Addr() {
		t.Errorf("error %v does not name the silent grape %s", err, silent.Addr())
	}
}

// Rotate starts each request at the next grape in turn; a refused grape's turn goes to
// the one after it.
func TestMultiRotate(t *testing.T) {
	a, na := countingGrape(t, 200, "")
	b, nb := countingGrape(t, 200, "")
	c, nc := countingGrape(t, 200, "")
	m := &Multi{Grapes: []*HTTP{a, b, c}, Rotate: true}
	target := mutableItem(t, "", 1, "x").Target()
	for range 7 {
		if _, err := m.Get(testCtx(t), target, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get: %v", err)
		}
	}
	if got := []int32{na.Load(), nb.Load(), nc.Load()}; got[0] != 3 || got[1] != 2 || got[2] != 2 {
		t.Errorf("requests per grape %v, want [3 2 2]", got)
	}
	d, nd := countingGrape(t, 200, "")
	m = &Multi{Grapes: []*HTTP{closedGrape(t), d}, Rotate: true}
	for range 4 {
		if _, err := m.Get(testCtx(t), target, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get: %v", err)
		}
	}
	if nd.Load() != 4 {
		t.Errorf("%d requests to the live grape, want all 4", nd.Load())
	}
}

func TestUnreachable(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(live)
	cancel()
	timeout := &net.OpError{Op: "dial", Net: "tcp", Err: &timeoutError{}}
	for _, tc := range []struct {
		ctx  context.Context
		err  error
		want bool
	}{
		{live, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{live, timeout, true},
		{live, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.EHOSTUNREACH}, true},
		{done, timeout, false},
		{live, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, false},
		{live, &net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}, false},
		{live, ErrNotFound, false},
		{live, context.DeadlineExceeded, false},
	} {
		if got := Unreachable(tc.ctx, tc.err); got != tc.want {
			t.Errorf("Unreachable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if r := dialReason(timeout); !regexp.MustCompile(`^connect timeout$`).MatchString(r) {
		t.Errorf("dialReason(timeout) = %q", r)
	}
	if r := dialReason(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Name: "nowhere", Err: "no such host", IsNotFound: true}}); !strings.Contains(r, "no such host") {
		t.Errorf("dialReason(DNS) = %q", r)
	}
}

type timeoutError struct{}

func (*timeoutError) Error() string   { return "i/o timeout" }
func (*timeoutError) Timeout() bool   { return true }
func (*timeoutError) Temporary() bool { return true }

// Lookup and announce go through the same rule: a refused grape is skipped, an
// answer is final, even one that is an error (an announce no node took).
func TestMultiLookupAnnounce(t *testing.T) {
	live, n := countingGrape(t, 200, `["127.0.0.1:4100"]`)
	peers, err := (&Multi{Grapes: []*HTTP{closedGrape(t), live}}).Lookup(testCtx(t), "svc")
	if err != nil || len(peers) != 1 || peers[0] != "127.0.0.1:4100" || n.Load() != 1 {
		t.Errorf("Lookup: %q, %v after %d requests to the live grape, want [127.0.0.1:4100] after 1", peers, err, n.Load())
	}
	none, n0 := countingGrape(t, 200, `0`)
	other, n1 := countingGrape(t, 200, `1`)
	_, err = Announce(testCtx(t), &Multi{Grapes: []*HTTP{closedGrape(t), none, other}}, "svc", 4100)
	if !errors.Is(err, ErrNotIndexed) || n0.Load() != 1 || n1.Load() != 0 {
		t.Errorf("Announce: %v with %d and %d requests, want ErrNotIndexed from the first grape reached and none to the next", err, n0.Load(), n1.Load())
	}
	if _, err := (&Multi{}).Lookup(testCtx(t), "svc"); err == nil {
		t.Errorf("Lookup with no grape: no error")
	}
}
