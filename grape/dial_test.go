package grape

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"grenache/bep44"
)

// noDNS makes every DNS query of the transport's dialer fail, and counts them.
func noDNS(t *testing.T, h *HTTP) *atomic.Int32 {
	t.Helper()
	tr, ok := h.Client.Transport.(*transport)
	if !ok {
		t.Fatalf("NewHTTP's client has transport %T", h.Client.Transport)
	}
	var queries atomic.Int32
	// NewHTTP's dialer, with a resolver of the test's; the one-shot exchange dials
	// through the pool's DialContext too.
	d := &dialer{net: net.Dialer{Timeout: time.Second, Resolver: &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		queries.Add(1)
		return nil, errors.New("no DNS in this test")
	}}}}
	tr.DialContext = d.dial
	return &queries
}

// TestLocalhost: a localhost name (RFC 6761) reaches a grape on loopback without a DNS
// query, on the pool and on a one-shot exchange. A root without /etc/hosts (a FROM
// scratch container) has nothing else to resolve it with.
func TestLocalhost(t *testing.T) {
	srv := httptest.NewServer(reply(200, ""))
	t.Cleanup(srv.Close)
	port := portOf(t, srv.URL)
	var target bep44.Target
	for _, host := range []string{"localhost", "LocalHost.", "grape.localhost", "a.b.LOCALHOST."} {
		for _, pool := range []int{0, 4} {
			h := NewHTTP(host, port, false, time.Second, "grenache/1", pool)
			queries := noDNS(t, h)
			if _, err := h.Get(testCtx(t), target, nil); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s, pool %d: Get: error %v, want ErrNotFound from the server on 127.0.0.1", host, pool, err)
			}
			if n := queries.Load(); n != 0 {
				t.Errorf("%s, pool %d: %d DNS queries, want none", host, pool, n)
			}
		}
	}

	// The control: any other name is resolved, and the test's resolver sees it.
	for _, host := range []string{"grape.invalid", "localhost.invalid", "notlocalhost"} {
		h := NewHTTP(host, port, false, time.Second, "grenache/1", 0)
		queries := noDNS(t, h)
		if _, err := h.Get(testCtx(t), target, nil); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Get: error %v, want a failed lookup", host, err)
		}
		if queries.Load() == 0 {
			t.Errorf("%s: no DNS query, want the name resolved", host)
		}
	}
}

// TestLocalhostOrder: a localhost name tries each loopback address in turn, and when
// none answers, says so with the first address's error.
func TestLocalhostOrder(t *testing.T) {
	srv := httptest.NewServer(reply(200, ""))
	t.Cleanup(srv.Close)
	port := portOf(t, srv.URL)
	saved := loopback
	t.Cleanup(func() { loopback = saved })
	var target bep44.Target

	// Nothing listens on 127.0.0.3 (the server is on 127.0.0.1 only): refused, then the next.
	loopback = []string{"127.0.0.3", "127.0.0.1"}
	for _, pool := range []int{0, 4} {
		h := NewHTTP("localhost", port, false, time.Second, "grenache/1", pool)
		if _, err := h.Get(testCtx(t), target, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("pool %d: Get: error %v, want ErrNotFound from the second address", pool, err)
		}
	}

	loopback = []string{"127.0.0.3", "127.0.0.4"}
	h := NewHTTP("localhost", port, false, time.Second, "grenache/1", 0)
	_, err := h.Get(testCtx(t), target, nil)
	var oe *net.OpError
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &oe) || oe.Addr == nil || oe.Addr.String() != net.JoinHostPort("127.0.0.3", strconv.Itoa(port)) {
		t.Errorf("Get with no loopback address answering: error %v, want connection refused on 127.0.0.3", err)
	}
}

func TestIsLocalhost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "localhost.": true, "grape.localhost": true,
		"x.y.localhost.": true, "localhostx": false, "notlocalhost": false, "localhost.com": false,
		"127.0.0.1": false, "": false, ".": false, "localhost..": false,
	} {
		if got := IsLocalhost(host); got != want {
			t.Errorf("IsLocalhost(%q) = %t, want %t", host, got, want)
		}
	}
}
