package grape

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"grenache/bep44"
)

// rawGrape listens on loopback and hands every connection to serve. It returns NewHTTP's
// one-shot transport for it, with the connect timeout connect.
func rawGrape(t *testing.T, useTLS bool, connect time.Duration, serve func(c net.Conn)) *HTTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return NewHTTP("127.0.0.1", ln.Addr().(*net.TCPAddr).Port, useTLS, connect, "grenache/1", 0)
}

// answerWith reads one request from c and writes s.
func answerWith(s string) func(net.Conn) {
	return func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if req, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			io.Copy(io.Discard, req.Body)
		}
		io.WriteString(c, s)
	}
}

// sentRequest is what a server saw of a request, as a grape reads it.
type sentRequest struct {
	Method, URI, Host, UserAgent, ContentType, AcceptEncoding string
	ContentLength                                             int64
	Close                                                     bool
	Data                                                      any
}

// TestOneShotRequest: a one-shot request is the request a pool sends, plus
// Connection: close.
func TestOneShotRequest(t *testing.T) {
	for _, pool := range []int{8, 0} {
		var got []sentRequest
		var mu sync.Mutex
		h := rawGrape(t, false, time.Second, func(c net.Conn) {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			for {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				raw, _ := io.ReadAll(req.Body)
				var body struct{ Data any }
				json.Unmarshal(raw, &body)
				mu.Lock()
				got = append(got, sentRequest{req.Method, req.RequestURI, req.Host, req.UserAgent(), req.Header.Get("Content-Type"),
					req.Header.Get("Accept-Encoding"), req.ContentLength, req.Close, body.Data})
				mu.Unlock()
				key := `"` + helloKey + `"`
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(key))+"\r\n\r\n"+key)
			}
		})
		h = NewHTTP("127.0.0.1", portOf(t, h.URL), false, time.Second, "grenache/1", pool)
		oneShot := pool == 0
		if _, err := h.Put(testCtx(t), &bep44.Item{V: []byte("hello world")}, nil); err != nil {
			t.Fatalf("pool %d: Put: %v", pool, err)
		}
		h.Get(testCtx(t), bep44.ImmutableTarget([]byte("hello world")), []byte("salt"))
		h.Client.CloseIdleConnections() // ends the server's loop on a kept-alive connection
		host := strings.TrimPrefix(h.URL, "http://")
		want := []sentRequest{
			{"POST", "/put", host, "grenache/1", "application/json", "", 0, oneShot, map[string]any{"v": "hello world"}},
			{"POST", "/get", host, "grenache/1", "application/json", "", 0, oneShot, map[string]any{"hash": helloKey, "salt": "salt"}},
		}
		mu.Lock()
		for i := range got {
			got[i].ContentLength = 0 // checked below: it depends on the random rid
		}
		mu.Unlock()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pool %d: requests mismatch (-want +got):\n%s", pool, diff)
		}
	}
}

// TestOneShotAnswers: answers read by the one-shot exchange give the errors and results
// the client's would.
func TestOneShotAnswers(t *testing.T) {
	key := `"` + helloKey + `"`
	ok := "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(key)) + "\r\n\r\n" + key
	type outcome struct {
		Key string
		Is  string // the error it wraps, by name
		Msg string // part of the error text
	}
	// A connection closed before the request is read may also be reset: the two read
	// alike to users ("closed the connection without answering").
	sentinels := map[string]error{"closed": io.EOF, "reset": syscall.ECONNRESET, "unexpected EOF": io.ErrUnexpectedEOF, "too large": ErrAnswerTooLarge}
	tests := []struct {
		name  string
		serve func(net.Conn)
		want  outcome
	}{
		{"a grape's answer", answerWith(ok), outcome{Key: helloKey}},
		{"closed at once", func(net.Conn) {}, outcome{Is: "closed"}},
		{"closed after the request", answerWith(""), outcome{Is: "closed", Msg: "the grape closed the connection before a complete answer"}},
		{"closed within the headers", answerWith("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"), outcome{Is: "unexpected EOF"}},
		{"body shorter than its length", answerWith("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + key), outcome{Is: "unexpected EOF"}},
		{"1xx answers first", answerWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </>\r\n\r\n" + ok), outcome{Key: helloKey}},
		{"headers just under the limit", answerWith("HTTP/1.1 200 OK\r\nX-Padding: " + strings.Repeat("a", MaxHeaderBytes-200) + "\r\n" + ok[len("HTTP/1.1 200 OK\r\n"):]), outcome{Key: helloKey}},
		{"headers over the limit", answerWith("HTTP/1.1 200 OK\r\nX-Padding: " + strings.Repeat("a", MaxHeaderBytes) + "\r\n" + ok[len("HTTP/1.1 200 OK\r\n"):]),
			outcome{Is: "too large", Msg: "its headers exceed 65536 bytes"}},
		{"1xx answers over the limit", answerWith(strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", MaxHeaderBytes/20) + ok), outcome{Is: "too large", Msg: "its headers exceed 65536 bytes"}},
		{"not HTTP", answerWith("SSH-2.0-OpenSSH_9.6\r\n"), outcome{Msg: `malformed HTTP response "SSH-2.0-OpenSSH_9.6"`}},
		{"101 Switching Protocols", answerWith("HTTP/1.1 101 Switching Protocols\r\n\r\n" + key), outcome{Msg: "unexpected answer from the grape (HTTP 101)"}},
		{"gzip is not inflated", answerWith("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + strconv.Itoa(len(key)) + "\r\n\r\n" + key), outcome{Key: helloKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := rawGrape(t, false, time.Second, tt.serve)
			target, err := h.Put(testCtx(t), &bep44.Item{V: []byte("hello world")}, nil)
			var got outcome
			if err == nil {
				got.Key = target.String()
			} else {
				for name, s := range sentinels {
					if errors.Is(err, s) {
						got.Is = name
					}
				}
				if got.Is == "reset" {
					got.Is = "closed"
				}
				got.Msg = tt.want.Msg
				if !strings.Contains(err.Error(), tt.want.Msg) {
					got.Msg = err.Error()
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Put: outcome mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// TestOneShotStopsReading: past MaxAnswer the connection is closed, not read to its end.
func TestOneShotStopsReading(t *testing.T) {
	const total = 64 << 20
	var written atomic.Int64
	h := rawGrape(t, false, time.Second, func(c net.Conn) {
		answerWith("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")(c)
		chunk := "8000\r\n" + strings.Repeat("a", 0x8000) + "\r\n"
		for written.Load() < total {
			n, err := io.WriteString(c, chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	_, err := h.Get(testCtx(t), bep44.ImmutableTarget([]byte("x")), nil)
	if !errors.Is(err, ErrAnswerTooLarge) {
		t.Errorf("Get of an endless answer: error %v, want ErrAnswerTooLarge", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for n := written.Load(); time.Now().Before(deadline); n = written.Load() {
		time.Sleep(50 * time.Millisecond)
		if written.Load() == n {
			break
		}
	}
	if n := written.Load(); n >= total {
		t.Errorf("the server wrote all %d bytes: the client read on", n)
	}
}

// TestOneShotContext: the context bounds the dial, the head and the body, and its error
// is the one wrapped.
func TestOneShotContext(t *testing.T) {
	release := make(chan struct{})
	silent := rawGrape(t, false, time.Second, func(c net.Conn) { <-release })
	stalling := rawGrape(t, false, time.Second, func(c net.Conn) {
		answerWith("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"v\":\"")(c)
		<-release
	})
	t.Cleanup(func() { close(release) }) // before the servers' cleanups, which wait for them
	for name, h := range map[string]*HTTP{"silent": silent, "stalling": stalling} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := h.Get(ctx, bep44.ImmutableTarget([]byte("x")), nil)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("get from a %s grape past the deadline: error %v, want one wrapping context.DeadlineExceeded", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := silent.Get(ctx, bep44.ImmutableTarget([]byte("x")), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("get with a cancelled context: error %v, want one wrapping context.Canceled", err)
	}
}

// TestOneShotTLS: the handshake is verified against the system's roots, bounded by the
// connect timeout, and a plain HTTP server is named so.
func TestOneShotTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `"`+helloKey+`"`)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	h := NewHTTP("127.0.0.1", p, true, time.Second, "grenache/1", 0)
	_, err := h.Put(testCtx(t), &bep44.Item{V: []byte("hello world")}, nil)
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Errorf("put to a server with an unknown certificate: error %v, want a certificate verification error", err)
	}

	plain := rawGrape(t, false, time.Second, answerWith("HTTP/1.1 400 Bad Request\r\n\r\n"))
	h = NewHTTP("127.0.0.1", portOf(t, plain.URL), true, time.Second, "grenache/1", 0)
	if _, err := h.Put(testCtx(t), &bep44.Item{V: []byte("hello world")}, nil); !errors.Is(err, http.ErrSchemeMismatch) {
		t.Errorf("TLS to a plain HTTP server: error %v, want http.ErrSchemeMismatch", err)
	}

	release := make(chan struct{})
	silent := rawGrape(t, false, time.Second, func(c net.Conn) { <-release })
	t.Cleanup(func() { close(release) }) // before the server's cleanup, which waits for it
	h = NewHTTP("127.0.0.1", portOf(t, silent.URL), true, 50*time.Millisecond, "grenache/1", 0)
	_, err = h.Put(testCtx(t), &bep44.Item{V: []byte("hello world")}, nil)
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no TLS handshake within 50ms (the connect timeout)") {
		t.Errorf("TLS to a silent server: error %v, want the connect timeout named", err)
	}
}

func portOf(t *testing.T, u string) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOneShotWritable: the one-shot exchange sends what it writes as the pool would, with
// no proxy; the pool sends the rest.
func TestOneShotWritable(t *testing.T) {
	viaProxy := func(*http.Request) (*url.URL, error) { return url.Parse("http://127.0.0.1:1") }
	badProxy := func(*http.Request) (*url.URL, error) { return nil, errors.New("invalid proxy") }
	tests := []struct {
		name   string
		url    string
		header []string
		proxy  func(*http.Request) (*url.URL, error)
		want   bool
	}{
		{"an address", "http://127.0.0.1:30002", nil, nil, true},
		{"a proxy applies", "http://127.0.0.1:30002", nil, viaProxy, false},
		{"the proxy setting is invalid", "http://127.0.0.1:30002", nil, badProxy, false},
		{"TLS", "https://127.0.0.1:30002", nil, nil, true},
		{"a name", "http://grape.invalid:30002", nil, nil, true},
		{"an IPv6 address", "http://[::1]:30002", nil, nil, true},
		{"user info", "http://u:p@127.0.0.1:30002", nil, nil, true},
		{"an IPv6 zone", "http://[fe80::1%25eth0]:30002", nil, nil, false},
		{"a name not in ASCII", "http://grapé.invalid:30002", nil, nil, false},
		{"another scheme", "ftp://127.0.0.1:30002", nil, nil, false},
		{"no host", "http:///get", nil, nil, false},
		{"a line break in the user agent", "http://127.0.0.1:30002", []string{"User-Agent", "grenache/1\r\nX: y"}, nil, false},
		{"a header name that is no token", "http://127.0.0.1:30002", []string{"X Y", "z"}, nil, false},
	}
	for _, tt := range tests {
		h := NewHTTP("127.0.0.1", 30002, false, time.Second, "grenache/1", 0)
		tr := h.Client.Transport.(*transport)
		tr.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
		if tt.proxy != nil {
			tr.Proxy = tt.proxy
		}
		req, err := http.NewRequest(http.MethodPost, tt.url+"/get", nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		req.Header.Set("Content-Type", "application/json")
		if tt.header != nil {
			req.Header[tt.header[0]] = []string{tt.header[1]}
		}
		if got := tr.writable(req); got != tt.want {
			t.Errorf("%s: writable %t, want %t", tt.name, got, tt.want)
		}
	}
}

// TestNewHTTPPool: pool 0 sends each request on a connection of its own; pool N keeps N
// connections alive for the next requests.
func TestNewHTTPPool(t *testing.T) {
	for _, pool := range []int{0, 1, 8} {
		// Rounds of as many requests at once as the pool keeps (one for pool 0): the
		// server holds the answers until the whole round has arrived, so the first round
		// opens n connections and the later ones reuse them.
		const rounds = 3
		n := int64(max(pool, 1))
		var accepted, arrived atomic.Int64
		h := rawGrape(t, false, time.Second, func(c net.Conn) {
			accepted.Add(1)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			for {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				round := (arrived.Add(1) + n - 1) / n
				for deadline := time.Now().Add(5 * time.Second); arrived.Load() < round*n && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
				key := `"` + helloKey + `"`
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(key))+"\r\n\r\n"+key)
			}
		})
		h = NewHTTP("127.0.0.1", portOf(t, h.URL), false, time.Second, "grenache/1", pool)
		for range rounds {
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					if _, err := h.Put(testCtx(t), &bep44.Item{V: []byte("hello world")}, nil); err != nil {
						t.Errorf("pool %d: Put: %v", pool, err)
					}
				})
			}
			wg.Wait()
		}
		h.Client.CloseIdleConnections()
		want := n
		if pool == 0 {
			want = rounds
		}
		if got := accepted.Load(); got != want {
			t.Errorf("pool %d: %d connections for %d requests, want %d", pool, got, rounds*n, want)
		}
	}
}
