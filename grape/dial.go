package grape

import (
	"context"
	"net"
	"strings"
)

// dialer dials a grape. A localhost name ("localhost", "grape.localhost", RFC 6761) is
// the loopback interface without asking any resolver: a root with no /etc/hosts (a FROM
// scratch container) would otherwise send a DNS query for it to 127.0.0.1:53 and fail.
// Other names and addresses go to net.Dialer as they are.
type dialer struct {
	net net.Dialer // a field, not embedded: its exported methods would all stay in the binary
}

// loopback is where a localhost name goes, in order: grapes listen on 127.0.0.1 unless
// told otherwise.
var loopback = []string{"127.0.0.1", "::1"}

func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !IsLocalhost(host) {
		return d.net.DialContext(ctx, network, addr)
	}
	var first error
	for _, ip := range loopback {
		conn, err := d.net.DialContext(ctx, network, net.JoinHostPort(ip, port))
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// IsLocalhost reports whether host is "localhost" or a name under it, with or without
// the root's trailing dot, in any case.
func IsLocalhost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}
