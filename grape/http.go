package grape

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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
}

// NewHTTP returns the HTTP transport of the grape at host:port, over TLS when useTLS,
// giving up on connecting (and on the TLS handshake) after connectTimeout when it is
// positive. host may be a name, an IPv4 or an IPv6 address, bracketed or not. pool is how
// many connections are kept alive for later requests; 0 is for a process that sends one
// request: each goes on a connection of its own (see transport).
func NewHTTP(host string, port int, useTLS bool, connectTimeout time.Duration, userAgent string, pool int) *HTTP {
	scheme := "http"
	if useTLS {
		scheme = "https"
		useFallbackRoots()
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	// An IPv6 zone ("fe80::1%eth0") must be escaped inside a URL.
	host = strings.ReplaceAll(host, "%", "%25")
	d := &dialer{net: net.Dialer{Timeout: connectTimeout}}
	// HTTP/1.1 only (no ForceAttemptHTTP2): grapes serve nothing else (Node's http and
	// https servers), and make build leaves net/http's HTTP/2 out (nethttpomithttp2), so
	// tests and the binary speak the same protocol.
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment, // as curl did; never used for loopback
		DialContext:            d.dial,
		TLSHandshakeTimeout:    connectTimeout,
		MaxResponseHeaderBytes: MaxHeaderBytes,
		// Grapes never compress, and the original client never asked them to. Asking
		// would have net/http inflate whatever a grape sends as gzip (a small answer can
		// inflate to gigabytes, though reading stops at MaxAnswer) and report a cut gzip
		// stream as a cut connection.
		DisableCompression:  true,
		MaxIdleConnsPerHost: pool,
	}
	return &HTTP{
		URL:       scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)),
		Client:    &http.Client{Transport: &transport{tr, pool <= 0, connectTimeout}, CheckRedirect: noRedirect},
		UserAgent: userAgent,
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
	body, status, err := h.exchange(ctx, "get", payload)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		return nil, fmt.Errorf("%s: %w", target, ErrNotFound)
	}
	trimmed := bytes.TrimLeft(body, jsonSpace)
	if len(trimmed) == 0 {
		return nil, &ProtocolError{Status: status, Reason: "a blank answer"}
	}
	switch trimmed[0] {
	case '"':
		return nil, grapeMessage(status, body)
	case '{':
		return decodeAnswer(body, salt)
	}
	return nil, &ProtocolError{Status: status, Reason: "a get answer must be a JSON object, a JSON string or empty", Body: excerpt(body)}
}

// exchange posts payload to URL/op and returns the answer's body, which must come with
// HTTP 200.
func (h *HTTP) exchange(ctx context.Context, op string, payload []byte) ([]byte, int, error) {
	resp, err := h.post(ctx, op, payload)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := h.read(ctx, resp)
	if err != nil {
		return nil, resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, &ProtocolError{Status: resp.StatusCode, Reason: "unexpected HTTP status", Body: excerpt(body)}
	}
	return body, resp.StatusCode, nil
}

// grapeMessage reads a JSON string answer as the grape's error.
func grapeMessage(status int, body []byte) error {
	var s string
	if !utf8.Valid(body) || json.Unmarshal(body, &s) != nil {
		return &ProtocolError{Status: status, Reason: "malformed JSON string", Body: excerpt(body)}
	}
	return &GrapeError{Message: s}
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
	resp, err := h.client().Do(req)
	if err != nil {
		return nil, ctxError(ctx, closedEarly("the grape", err))
	}
	return resp, nil
}

// closedEarly words an error of a connection that ended before a complete answer as
// such, for who (the grape, the worker), keeping io.EOF or io.ErrUnexpectedEOF in its
// chain. net/http says "http: server closed idle connection", an unexported error, for a
// connection the server closed before the request was written; that, and a write to a
// connection already closed (EPIPE), are as much an EOF as the others.
func closedEarly(who string, err error) error {
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s closed the connection before a complete answer: %w", who, err)
	case strings.Contains(err.Error(), "http: server closed idle connection") || errors.Is(err, syscall.EPIPE):
		return fmt.Errorf("%s closed the connection before a complete answer: %w (%w)", who, io.EOF, err)
	}
	return err
}

// client returns h.Client, or the default one, never following redirects.
func (h *HTTP) client() *http.Client { return noRedirectClient(h.Client) }

// noRedirectClient returns c, or the default client when c is nil, never following
// redirects: a shallow copy shares the transport and its connections.
func noRedirectClient(c *http.Client) *http.Client {
	if c == nil {
		return &http.Client{CheckRedirect: noRedirect}
	}
	cc := *c
	cc.CheckRedirect = noRedirect
	return &cc
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
