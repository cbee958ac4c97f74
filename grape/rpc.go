package grape

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is a Grenache RPC client, beside the grape transport: it calls the workers
// that grapes only point to. The wire format is grenache-nodejs-http's (0.7.13; 1.0.x
// sends the same): POST http://HOST:PORT/ with the JSON body [rid, service, payload] and
// the header grc-compress: gzip or none. With gzip the worker inflates the body and
// deflates its answer. The answer is [rid, error message or null, data], HTTP 200, no
// Content-Type. A body the worker cannot parse gets no answer at all: the caller's
// context must carry a deadline.

// DefaultMaxRPCAnswer bounds a worker's answer when RPC.MaxAnswer is 0, as sent and again
// after gunzip. Workers answer what their service computes, so the bound is far above
// a grape's; it keeps a hostile or broken worker from filling memory.
const DefaultMaxRPCAnswer = 16 << 20

// ErrRPCAnswerTooLarge is a worker's answer over RPC.MaxAnswer bytes, as sent or inflated;
// reading stops there.
var ErrRPCAnswerTooLarge = errors.New("the worker's answer is too large")

// RPC calls Grenache RPC services on workers.
type RPC struct {
	Client    *http.Client // nil: a default client; redirects are never followed either way
	UserAgent string
	MaxAnswer int64 // bytes of an answer read at most, as sent and inflated; 0: DefaultMaxRPCAnswer
	Gzip      bool  // send grc-compress: gzip, a gzipped body, and take a gzipped answer
}

// NewRPC returns a client whose requests each go on a connection of their own (see
// transport), giving up on connecting after connectTimeout when it is positive.
func NewRPC(connectTimeout time.Duration, userAgent string, gzip bool) *RPC {
	// The grapes' dialer: a worker at localhost is reached without a resolver too.
	d := &dialer{net: net.Dialer{Timeout: connectTimeout}}
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            d.dial,
		MaxResponseHeaderBytes: MaxHeaderBytes,
		// Compression is grc-compress's business, not Content-Encoding's.
		DisableCompression: true,
		DisableKeepAlives:  true,
	}
	return &RPC{
		Client:    &http.Client{Transport: &transport{tr, true, connectTimeout}, CheckRedirect: noRedirect},
		UserAgent: userAgent,
		Gzip:      gzip,
	}
}

// WorkerError is an error a worker answered: the second element of its answer.
type WorkerError struct {
	Worker  string // host:port
	Message string
}

func (e *WorkerError) Error() string {
	if e.Message == "" {
		return "the worker at " + e.Worker + " answered an error with an empty message"
	}
	return "the worker at " + e.Worker + " answered: " + shown(e.Message)
}

// WorkerProtocolError is an answer that is not a Grenache RPC answer to the request sent.
type WorkerProtocolError struct {
	Worker string // host:port
	Status int    // HTTP status
	Reason string // what was wrong
	Body   string // a short printable excerpt of the answer
}

func (e *WorkerProtocolError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "unexpected answer from the worker at %s (HTTP %d): %s", e.Worker, e.Status, e.Reason)
	if e.Body != "" {
		fmt.Fprintf(&b, ": %q", e.Body)
	}
	return b.String()
}

// rpcBody is the body of a request: [rid, service, payload], payload as it is (valid
// JSON, compacted by the caller if it cares).
func rpcBody(rid, service string, payload json.RawMessage) ([]byte, error) {
	if !utf8.ValidString(service) {
		return nil, errors.New("the service name is not valid UTF-8")
	}
	if !json.Valid(payload) || !utf8.Valid(payload) {
		return nil, errors.New("the payload is not valid JSON")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode([]any{rid, service, payload}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Call sends payload to service on the worker at host:port (an IPv6 address in brackets)
// and returns the data it answered, as sent. An error answered is a *WorkerError.
func (c *RPC) Call(ctx context.Context, worker, service string, payload json.RawMessage) (json.RawMessage, error) {
	host, port, err := net.SplitHostPort(worker)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("worker %q is not HOST:PORT", worker)
	}
	rid, err := newRID()
	if err != nil {
		return nil, err
	}
	body, err := rpcBody(rid, service, payload)
	if err != nil {
		return nil, err
	}
	compress := "none"
	if c.Gzip {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(body)
		if err := zw.Close(); err != nil {
			return nil, err
		}
		body, compress = z.Bytes(), "gzip"
	}
	// A zone ("fe80::1%eth0") must be escaped inside a URL.
	url := "http://" + net.JoinHostPort(strings.ReplaceAll(host, "%", "%25"), port) + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("grc-compress", compress)
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	client := noRedirectClient(c.Client)
	resp, err := client.Do(req)
	if err != nil {
		return nil, ctxError(ctx, closedEarly("the worker", err))
	}
	defer resp.Body.Close()
	raw, err := c.read(ctx, resp, worker)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &WorkerProtocolError{Worker: worker, Status: resp.StatusCode, Reason: "unexpected HTTP status", Body: excerpt(raw)}
	}
	return DecodeRPCAnswer(raw, rid, worker)
}

// read reads an answer, at most MaxAnswer bytes, and inflates it when it is gzip. A
// worker deflates its answer when the request asked for it, and sends it plain when its
// deflating failed; one that was not asked must not: its answer is refused.
func (c *RPC) read(ctx context.Context, resp *http.Response, worker string) ([]byte, error) {
	limit := c.MaxAnswer
	if limit <= 0 {
		limit = DefaultMaxRPCAnswer
	}
	tooLarge := func(what string) error {
		return fmt.Errorf("%w: %s over %d bytes (HTTP %d from %s)", ErrRPCAnswerTooLarge, what, limit, resp.StatusCode, worker)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, ctxError(ctx, fmt.Errorf("reading the worker's answer: %w", closedEarly("the worker", err)))
	}
	if int64(len(body)) > limit {
		return nil, tooLarge("")
	}
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b { // gzip's magic number; no JSON starts so
		return body, nil
	}
	if !c.Gzip {
		return nil, &WorkerProtocolError{Worker: worker, Status: resp.StatusCode, Reason: "a gzip answer to a request that did not ask for one (grc-compress: none)"}
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(zr, limit+1))
	}
	if err != nil {
		return nil, &WorkerProtocolError{Worker: worker, Status: resp.StatusCode, Reason: "a broken gzip answer: " + err.Error()}
	}
	if int64(len(body)) > limit {
		return nil, tooLarge("inflated to")
	}
	return body, nil
}

// DecodeRPCAnswer checks an answer to the request rid and returns its data: the answer
// must be a JSON array of three: rid, the same string as the request's; an error, a
// string (then a *WorkerError is returned, even for an empty one, which the Node client
// would take for none) or null; and the data, any JSON value. worker names the worker
// in errors.
func DecodeRPCAnswer(body []byte, rid, worker string) (json.RawMessage, error) {
	bad := func(reason string) error {
		return &WorkerProtocolError{Worker: worker, Status: http.StatusOK, Reason: reason, Body: excerpt(body)}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, bad("an empty answer")
	}
	if !utf8.Valid(body) {
		return nil, bad("the answer is not valid UTF-8")
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(body, &parts); err != nil || parts == nil {
		return nil, bad("the answer is not a JSON array [rid, error, data]")
	}
	if len(parts) != 3 {
		return nil, bad(fmt.Sprintf("the answer is an array of %d, not [rid, error, data]", len(parts)))
	}
	var gotRID *string
	if json.Unmarshal(parts[0], &gotRID) != nil || gotRID == nil {
		return nil, bad("the answer's rid is not a string")
	}
	if *gotRID != rid {
		return nil, bad(fmt.Sprintf("the answer is to request %s, not to this one (%s)", shown(*gotRID), rid))
	}
	var msg *string
	if json.Unmarshal(parts[1], &msg) != nil {
		return nil, bad("the answer's error is neither a string nor null")
	}
	if msg != nil {
		return nil, &WorkerError{Worker: worker, Message: *msg}
	}
	return parts[2], nil
}
