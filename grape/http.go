package grape

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"grenache/bep44"
)

// DefaultMaxAnswer bounds what is read of an answer when HTTP.MaxAnswer is 0. The largest
// real answer, a mutable item with a 1000-byte value escaped as JSON, is a few KiB.
const DefaultMaxAnswer = 64 << 10

// MaxHeaderBytes bounds the headers of an answer (1xx answers included) read by the
// client NewHTTP makes. A grape sends about 150 bytes; net/http's default, 10 MiB, let a
// hostile grape make the client allocate tens of megabytes before giving up.
const MaxHeaderBytes = 64 << 10

// HTTP is the HTTP API of a grape: POST URL/put and URL/get with a JSON body.
type HTTP struct {
	URL       string       // base, e.g. "http://127.0.0.1:30002"
	Client    *http.Client // nil: a default client; redirects are never followed either way
	UserAgent string       // e.g. "grenache/<version>"
	MaxAnswer int64        // bytes read at most from an answer; 0 means DefaultMaxAnswer

	// OneShot sends each request as one HTTP/1.1 exchange on a connection of its own,
	// written and read by the calling goroutine and closed after the answer, as long as
	// Client is still the one NewHTTP made and no proxy applies to URL (otherwise Client
	// sends it). It is for a process that sends one request: it skips net/http's
	// connection pool and its dial, read and write goroutines, which cost a grenache get
	// or put process about 0.35 ms of its 4 ms. Leave it false for many requests, which
	// share keep-alive connections.
	// The limits, the timeouts and the TLS verification are those of NewHTTP's client.
	OneShot bool

	own     *http.Client  // the client NewHTTP made
	connect time.Duration // NewHTTP's connect timeout: the dial and the TLS handshake
}

// NewHTTP returns the HTTP transport of the grape at host:port, over TLS when useTLS,
// giving up on connecting (and on the TLS handshake) after connectTimeout when it is
// positive. host may be a name, an IPv4 or an IPv6 address, bracketed or not.
func NewHTTP(host string, port int, useTLS bool, connectTimeout time.Duration, userAgent string) *HTTP {
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	// An IPv6 zone ("fe80::1%eth0") must be escaped inside a URL.
	host = strings.ReplaceAll(host, "%", "%25")
	dialer := &net.Dialer{Timeout: connectTimeout}
	// HTTP/1.1 only (no ForceAttemptHTTP2): grapes serve nothing else (Node's http and
	// https servers), and make build leaves net/http's HTTP/2 out (nethttpomithttp2), so
	// tests and the binary speak the same protocol.
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment, // as curl did; never used for loopback
		DialContext:            dialer.DialContext,
		TLSHandshakeTimeout:    connectTimeout,
		MaxResponseHeaderBytes: MaxHeaderBytes,
		// Grapes never compress, and the original client never asked them to. Asking
		// would have net/http inflate whatever a grape sends as gzip (a small answer can
		// inflate to gigabytes, though reading stops at MaxAnswer) and report a cut gzip
		// stream as a cut connection.
		DisableCompression: true,
	}
	c := &http.Client{Transport: tr, CheckRedirect: noRedirect}
	return &HTTP{
		URL:       scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)),
		Client:    c,
		UserAgent: userAgent,
		own:       c,
		connect:   connectTimeout,
	}
}

// noRedirect keeps 301 and 302 as answers: a grape uses them for DHT error codes.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// putData is the data of a put request. Seq, k and sig are sent for mutable items only,
// salt only when not empty, cas only when given.
type putData struct {
	V    string `json:"v"`
	Seq  *int64 `json:"seq,omitempty"`
	K    string `json:"k,omitempty"`
	Sig  string `json:"sig,omitempty"`
	Salt string `json:"salt,omitempty"`
	Cas  *int64 `json:"cas,omitempty"`
}

// getData is the data of a get request. An empty salt is harmless to the grape (it skips
// falsy salts) but is left out all the same: no salt means none.
type getData struct {
	Hash string `json:"hash"`
	Salt string `json:"salt,omitempty"`
}

// PutBody is the body of a put request for it: {"rid": <fresh id>, "data": {...}}.
// Items the grape would mangle are refused: see CheckValue and CheckSalt; seq and cas
// must be within 0..bep44.MaxSeq, as the grape reads them as JavaScript numbers.
func PutBody(it *bep44.Item, cas *int64) ([]byte, error) {
	if err := CheckValue(it.V); err != nil {
		return nil, err
	}
	d := putData{V: string(it.V)}
	if it.Mutable() {
		if len(it.K) != bep44.PublicKeySize {
			return nil, fmt.Errorf("%w: public key is %d bytes, want %d", bep44.ErrKeySize, len(it.K), bep44.PublicKeySize)
		}
		if len(it.Sig) != bep44.SignatureSize {
			return nil, fmt.Errorf("%w: signature is %d bytes, want %d", bep44.ErrInvalidSignature, len(it.Sig), bep44.SignatureSize)
		}
		if err := CheckSalt(it.Salt); err != nil {
			return nil, err
		}
		if err := bep44.CheckSeq(it.Seq); err != nil {
			return nil, err
		}
		seq := it.Seq
		d.Seq, d.K, d.Sig, d.Salt = &seq, hex.EncodeToString(it.K), hex.EncodeToString(it.Sig), string(it.Salt)
		if cas != nil {
			if err := bep44.CheckSeq(*cas); err != nil {
				return nil, fmt.Errorf("cas: %w", err)
			}
			c := *cas
			d.Cas = &c
		}
	} else if cas != nil {
		return nil, errors.New("cas applies to mutable items only")
	}
	return envelope(d)
}

// GetBody is the body of a get request for the item under target, with salt for a
// salted mutable item. A salt the grape would mangle is refused (see CheckSalt).
func GetBody(target bep44.Target, salt []byte) ([]byte, error) {
	if err := CheckSalt(salt); err != nil {
		return nil, err
	}
	return envelope(getData{Hash: target.String(), Salt: string(salt)})
}

// envelope wraps data as the grape wants it, with a fresh request id.
func envelope(data any) ([]byte, error) {
	rid, err := newRID()
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		RID  string `json:"rid"`
		Data any    `json:"data"`
	}{rid, data})
}

// Put sends a put and returns the key the grape answered; see PutBody for what is
// refused before anything is sent.
func (h *HTTP) Put(ctx context.Context, it *bep44.Item, cas *int64) (bep44.Target, error) {
	var zero bep44.Target
	payload, err := PutBody(it, cas)
	if err != nil {
		return zero, err
	}
	resp, err := h.post(ctx, "put", payload)
	if err != nil {
		return zero, err
	}
	defer resp.Body.Close()
	// DHT codes 301 and 302; the body and any Location do not matter. A grape sends 301
	// only for a put with cas and 302 only for a mutable put: either status for another
	// put is no conflict, and saying so would send the user after a writer that is not.
	switch {
	case resp.StatusCode == http.StatusMovedPermanently && cas != nil:
		return zero, ErrCASMismatch
	case resp.StatusCode == http.StatusFound && it.Mutable():
		return zero, ErrSeqNotNewer
	}
	body, err := h.read(ctx, resp)
	if err != nil {
		return zero, err
	}
	if resp.StatusCode != http.StatusOK {
		return zero, &ProtocolError{Status: resp.StatusCode, Reason: "unexpected HTTP status", Body: excerpt(body)}
	}
	var s *string // a pointer, since json.Unmarshal takes null for an empty string
	if !utf8.Valid(body) || json.Unmarshal(body, &s) != nil || s == nil {
		return zero, &ProtocolError{Status: resp.StatusCode, Reason: "a put answer must be a JSON string", Body: excerpt(body)}
	}
	if !isKey(*s) {
		return zero, &GrapeError{Message: *s}
	}
	t, err := bep44.ParseTarget(*s)
	if err != nil { // cannot happen after isKey, but a wrong key must never pass silently
		return zero, &ProtocolError{Status: resp.StatusCode, Reason: err.Error(), Body: excerpt(body)}
	}
	return t, nil
}

// isKey reports whether s is a key as grapes write them: 40 lowercase hex digits.
func isKey(s string) bool {
	if len(s) != 2*len(bep44.Target{}) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Get sends a get and returns the answer as the grape gave it, unverified (see Fetch).
// Answer.Item.Salt is salt.
func (h *HTTP) Get(ctx context.Context, target bep44.Target, salt []byte) (*Answer, error) {
	payload, err := GetBody(target, salt)
	if err != nil {
		return nil, err
	}
	resp, err := h.post(ctx, "get", payload)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := h.read(ctx, resp)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &ProtocolError{Status: resp.StatusCode, Reason: "unexpected HTTP status", Body: excerpt(body)}
	}
	if len(body) == 0 {
		return nil, fmt.Errorf("%s: %w", target, ErrNotFound)
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, &ProtocolError{Status: resp.StatusCode, Reason: "a blank answer"}
	}
	switch trimmed[0] {
	case '"':
		var s string
		if !utf8.Valid(body) || json.Unmarshal(body, &s) != nil {
			return nil, &ProtocolError{Status: resp.StatusCode, Reason: "malformed JSON string", Body: excerpt(body)}
		}
		return nil, &GrapeError{Message: s}
	case '{':
		return decodeAnswer(body, salt)
	}
	return nil, &ProtocolError{Status: resp.StatusCode, Reason: "a get answer must be a JSON object, a JSON string or empty", Body: excerpt(body)}
}

// post sends payload to URL/op.
func (h *HTTP) post(ctx context.Context, op string, payload []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(h.URL, "/")+"/"+op, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if h.UserAgent != "" {
		req.Header.Set("User-Agent", h.UserAgent)
	}
	var resp *http.Response
	if h.oneShot(req) {
		if resp, err = h.exchange(ctx, req, payload); err != nil {
			// Worded as http.Client words its errors, so that both read alike.
			err = &url.Error{Op: "Post", URL: req.URL.String(), Err: err}
		}
	} else {
		resp, err = h.client().Do(req)
	}
	if err != nil {
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			err = fmt.Errorf("the grape closed the connection before a complete answer: %w", err)
		case strings.Contains(err.Error(), "http: server closed idle connection") || errors.Is(err, syscall.EPIPE):
			// net/http's word, an unexported error, for a connection the server closed
			// before the request was written, and a write to a connection the grape has
			// closed: as much an EOF as the others.
			err = fmt.Errorf("the grape closed the connection before a complete answer: %w (%w)", io.EOF, err)
		}
		return nil, ctxError(ctx, err)
	}
	return resp, nil
}

// proxyFor is the proxy NewHTTP's client would use for a request (a variable for tests:
// net/http reads the environment once per process).
var proxyFor = http.ProxyFromEnvironment

// oneShot reports whether req is to be sent by exchange rather than by h.Client. Any
// case exchange does not handle as net/http would goes to the client: a proxy, another
// client, an unusual URL or user agent (net/http refuses the latter with its own words).
func (h *HTTP) oneShot(req *http.Request) bool {
	if !h.OneShot || h.Client == nil || h.Client != h.own {
		return false
	}
	u := req.URL
	if u.Scheme != "http" && u.Scheme != "https" || u.User != nil || !plainASCII(u.Host) || strings.Contains(u.Host, "%") || !plainASCII(h.UserAgent) {
		return false
	}
	proxy, err := proxyFor(req)
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

// exchange sends req, whose body is payload, on a connection of its own and reads the
// answer's head. Closing the answer's body closes the connection. It keeps what
// NewHTTP's client does: the connect timeout on the dial and the TLS handshake, TLS
// verified against the system's roots for the URL's host, MaxHeaderBytes over all
// headers, 1xx answers skipped (101 ends), no redirects followed, no compression asked
// for, and ctx bounding everything up to the body's Close.
func (h *HTTP) exchange(ctx context.Context, req *http.Request, payload []byte) (*http.Response, error) {
	u := req.URL
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	dialer := net.Dialer{Timeout: h.connect}
	conn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, err
	}
	if u.Scheme == "https" {
		if conn, err = h.handshake(ctx, conn, u.Hostname()); err != nil {
			return nil, err
		}
	}
	// Past the deadline or on cancel, every read and write on conn fails at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		stop()
		conn.Close()
		return nil, err
	}

	// One write: the head, as net/http would write it for this request, and the body.
	msg := make([]byte, 0, 256+len(payload))
	msg = append(msg, "POST "...)
	msg = append(msg, u.RequestURI()...)
	msg = append(msg, " HTTP/1.1\r\nHost: "...)
	msg = append(msg, u.Host...)
	if h.UserAgent != "" {
		msg = append(msg, "\r\nUser-Agent: "...)
		msg = append(msg, h.UserAgent...)
	}
	msg = append(msg, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	msg = strconv.AppendInt(msg, int64(len(payload)), 10)
	msg = append(msg, "\r\nConnection: close\r\n\r\n"...)
	msg = append(msg, payload...)
	if _, err := conn.Write(msg); err != nil {
		return fail(err)
	}

	limit := &headerLimit{r: conn, n: MaxHeaderBytes}
	br := bufio.NewReader(limit)
	// As net/http does: a connection that ends before the first byte of an answer ends
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

// handshake runs the TLS handshake on conn as NewHTTP's client would, within the
// connect timeout.
func (h *HTTP) handshake(ctx context.Context, conn net.Conn, host string) (net.Conn, error) {
	hctx := ctx
	if h.connect > 0 {
		var cancel context.CancelFunc
		hctx, cancel = context.WithTimeout(ctx, h.connect)
		defer cancel()
	}
	tc := tls.Client(conn, &tls.Config{ServerName: host})
	err := tc.HandshakeContext(hctx)
	if err == nil {
		return tc, nil
	}
	conn.Close()
	var rec tls.RecordHeaderError
	switch {
	case ctx.Err() == nil && hctx.Err() != nil:
		return nil, fmt.Errorf("no TLS handshake within %s (the connect timeout)", h.connect)
	case errors.As(err, &rec) && string(rec.RecordHeader[:]) == "HTTP/":
		return nil, http.ErrSchemeMismatch
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

// client returns h.Client, or the default one, never following redirects.
func (h *HTTP) client() *http.Client {
	if h.Client == nil {
		return &http.Client{CheckRedirect: noRedirect}
	}
	c := *h.Client // a shallow copy shares the transport and its connections
	c.CheckRedirect = noRedirect
	return &c
}

// read reads the body, at most MaxAnswer bytes.
func (h *HTTP) read(ctx context.Context, resp *http.Response) ([]byte, error) {
	limit := h.MaxAnswer
	if limit <= 0 {
		limit = DefaultMaxAnswer
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, ctxError(ctx, fmt.Errorf("reading the grape's answer: %w", err))
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes (HTTP %d)", ErrAnswerTooLarge, limit, resp.StatusCode)
	}
	return body, nil
}

// ctxError makes sure an error caused by the context's end matches ctx.Err() with
// errors.Is, whatever the HTTP stack made of it.
func ctxError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %v", cerr, err)
	}
	return err
}

// newRID returns a random UUID (version 4): the original client sent one per request.
func newRID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
