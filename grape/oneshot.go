package grape

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// transport is the http.RoundTripper of NewHTTP's client: a keep-alive pool, or, for a
// process that sends one request, one-shot exchanges. A one-shot exchange is one HTTP/1.1
// request on a connection of its own, written and read by the calling goroutine and
// closed with the answer's body: it skips the pool and its dial, read and write
// goroutines. It keeps what the pool does: the connect timeout on the dial and on the
// TLS handshake, TLS verified against the system's roots for the URL's host,
// MaxHeaderBytes over all headers, 1xx answers skipped (101 ends), no compression asked
// for, and the request's context bounding everything up to the body's Close. What it
// would not send as the pool does goes to the pool: a request through a proxy, with
// another scheme, a host not in plain ASCII or with a zone, or a header not in plain
// ASCII (which net/http refuses in its own words).
type transport struct {
	*http.Transport // the pool
	oneShot         bool
	connect         time.Duration
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var resp *http.Response
	var err error
	if t.oneShot && t.writable(req) {
		resp, err = t.exchange(req)
	} else if resp, err = t.Transport.RoundTrip(req); err != nil && strings.Contains(err.Error(), "server response headers exceeded") {
		err = errHeadersTooLarge // the pool's words (an unexported error) for the same limit
	}
	if resp != nil {
		// A grape's 3xx are DHT codes: no Location is followed, nor parsed (http.Client
		// fails on a malformed one before it asks CheckRedirect).
		resp.Header.Del("Location")
	}
	return resp, err
}

// writable reports whether exchange sends req as the pool would.
func (t *transport) writable(req *http.Request) bool {
	u := req.URL
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || !plainASCII(u.Host) || strings.Contains(u.Host, "%") {
		return false
	}
	for k, vs := range req.Header {
		if !plainASCII(k+strings.Join(vs, "")) || strings.ContainsAny(k, " \"(),/:;<=>?@[\\]{}") {
			return false
		}
	}
	proxy, err := t.Proxy(req)
	return err == nil && proxy == nil
}

// plainASCII reports whether s has printable ASCII only (space included), so that it can
// be written into a request head as it is.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// errHeadersTooLarge ends an answer whose headers, 1xx answers included, pass
// MaxHeaderBytes.
var errHeadersTooLarge = fmt.Errorf("%w: its headers exceed %d bytes", ErrAnswerTooLarge, MaxHeaderBytes)

// exchange sends req with Connection: close on a connection of its own and reads the
// answer's head. Closing the answer's body closes the connection.
func (t *transport) exchange(req *http.Request) (*http.Response, error) {
	ctx, u := req.Context(), req.URL
	port := cmp.Or(u.Port(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	conn, err := t.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err == nil && u.Scheme == "https" {
		conn, err = t.handshake(ctx, conn, u.Hostname())
	}
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	// Past the deadline or on cancel, every read and write on conn fails at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		stop()
		conn.Close()
		return nil, err
	}

	// The head as the pool writes it, and the body, in one write.
	one := *req
	one.Close = true
	if err := one.Write(conn); err != nil {
		return fail(err)
	}

	limit := &headerLimit{r: conn, n: MaxHeaderBytes}
	br := bufio.NewReader(limit)
	// As the pool does: a connection that ends before the first byte of an answer ends
	// with io.EOF (or a reset), not with ReadResponse's io.ErrUnexpectedEOF.
	if _, err := br.Peek(1); err != nil {
		return fail(err)
	}
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			if limit.n <= 0 {
				err = errHeadersTooLarge
			}
			return fail(err)
		}
		if resp.StatusCode >= 100 && resp.StatusCode <= 199 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue // informational: the answer follows
		}
		limit.n = -1 // the body is bounded by its reader (MaxAnswer)
		resp.Body = &exchangeBody{ReadCloser: resp.Body, conn: conn, stop: stop}
		return resp, nil
	}
}

// handshake runs the TLS handshake on conn within the connect timeout; on failure it
// closes conn. A tls.RecordHeaderError is returned as it is, for http.Client to name a
// plain HTTP server.
func (t *transport) handshake(ctx context.Context, conn net.Conn, host string) (net.Conn, error) {
	hctx := ctx
	if t.connect > 0 {
		var cancel context.CancelFunc
		hctx, cancel = context.WithTimeout(ctx, t.connect)
		defer cancel()
	}
	tc := tls.Client(conn, &tls.Config{ServerName: host})
	err := tc.HandshakeContext(hctx)
	if err == nil {
		return tc, nil
	}
	conn.Close()
	if ctx.Err() == nil && hctx.Err() != nil {
		return nil, fmt.Errorf("no TLS handshake within %s (the connect timeout)", t.connect)
	}
	return nil, err
}

// headerLimit reads from r until n bytes have been read, then fails with
// errHeadersTooLarge; n < 0 means no limit.
type headerLimit struct {
	r io.Reader
	n int64
}

func (l *headerLimit) Read(p []byte) (int, error) {
	if l.n < 0 {
		return l.r.Read(p)
	}
	if l.n == 0 {
		return 0, errHeadersTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// exchangeBody is the body of an answer read by exchange: closing it closes the
// connection, which no one else uses.
type exchangeBody struct {
	io.ReadCloser
	conn net.Conn
	stop func() bool
}

func (b *exchangeBody) Close() error {
	b.stop()
	err := b.conn.Close()
	// After the connection's end: closing an unread body reads it to its end.
	b.ReadCloser.Close()
	return err
}
