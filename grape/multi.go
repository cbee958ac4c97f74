package grape

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync/atomic"

	"grenache/bep44"
)

// Multi is several grapes. A request goes to the first grape that can be reached: one
// that cannot (its connection refused, timed out or without a route: nothing was sent)
// is skipped for the next, within the request's one context. An answer of any kind (an
// item, not found, a conflict, a grape's message, a bad answer) and any failure after
// the connection was made (a put may have been stored) is returned at once, never
// retried elsewhere.
//
// Errors come wrapped in an *At naming the grape that answered or failed; when no grape
// could be reached, the error is an *UnreachableError naming them all.
type Multi struct {
	Grapes []*HTTP
	// Rotate starts each request at the next grape in turn (the first request at the
	// first grape), spreading a batch's requests over the grapes; else every request
	// starts at the first.
	Rotate bool
	next   atomic.Uint64
}

// At is an error from the grape at Addr (host:port). Its message is Err's.
type At struct {
	Addr string
	Err  error
}

func (e *At) Error() string { return e.Err.Error() }
func (e *At) Unwrap() error { return e.Err }

// UnreachableError is a request no grape could be reached for: Errs[i] is why the grape
// at Addrs[i] could not.
type UnreachableError struct {
	Addrs []string
	Errs  []error
}

func (e *UnreachableError) Error() string {
	var b strings.Builder
	b.WriteString("cannot connect to any grape: ")
	for i, a := range e.Addrs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a + " (" + dialReason(e.Errs[i]) + ")")
	}
	return b.String()
}

// dialReason words why a connection could not be made, briefly.
func dialReason(err error) string {
	var oe *net.OpError
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && de.IsNotFound:
		return "no such host"
	case errors.As(err, &oe) && oe.Timeout():
		return "connect timeout"
	case errors.As(err, &oe) && oe.Err != nil:
		msg := oe.Err.Error()
		// "connect: connection refused" and the like: the system's words only.
		if _, after, ok := strings.Cut(msg, ": "); ok && !strings.Contains(after, ": ") {
			msg = after
		}
		return msg
	}
	return err.Error()
}

// Unreachable reports whether err is a failure to connect, which proves the request was
// never sent: a dial that failed (refused, timed out, no route, a name that does not
// resolve) while ctx is still live.
func Unreachable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// Addr is host:port of the grape h talks to, as its URL has it.
func (h *HTTP) Addr() string {
	u, err := url.Parse(h.URL)
	if err != nil || u.Host == "" {
		return h.URL
	}
	return u.Host
}

// try runs op on the grapes in turn, from the first or the next in rotation, until one
// can be reached.
func try[T any](ctx context.Context, m *Multi, op func(*HTTP) (T, error)) (T, error) {
	n := len(m.Grapes)
	var zero T
	if n == 0 {
		return zero, errors.New("no grape to talk to")
	}
	start := 0
	if m.Rotate {
		start = int((m.next.Add(1) - 1) % uint64(n))
	}
	var u UnreachableError
	for i := range n {
		h := m.Grapes[(start+i)%n]
		v, err := op(h)
		if err == nil {
			return v, nil
		}
		if !Unreachable(ctx, err) {
			return v, &At{Addr: h.Addr(), Err: err}
		}
		u.Addrs = append(u.Addrs, h.Addr())
		u.Errs = append(u.Errs, err)
	}
	return zero, &u
}

// Put stores it through the first grape that can be reached; see Transport.
func (m *Multi) Put(ctx context.Context, it *bep44.Item, cas *int64) (bep44.Target, error) {
	return try(ctx, m, func(h *HTTP) (bep44.Target, error) { return h.Put(ctx, it, cas) })
}

// Get asks the first grape that can be reached; see Transport.
func (m *Multi) Get(ctx context.Context, target bep44.Target, salt []byte) (*Answer, error) {
	return try(ctx, m, func(h *HTTP) (*Answer, error) { return h.Get(ctx, target, salt) })
}

// Lookup asks the first grape that can be reached; see Transport.
func (m *Multi) Lookup(ctx context.Context, service string) ([]string, error) {
	return try(ctx, m, func(h *HTTP) ([]string, error) { return h.Lookup(ctx, service) })
}

// Announce announces through the first grape that can be reached; see Transport.
func (m *Multi) Announce(ctx context.Context, service string, port int) (int, error) {
	return try(ctx, m, func(h *HTTP) (int, error) { return h.Announce(ctx, service, port) })
}
