package grape

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Service discovery: a worker announces a service name and the port it serves it on
// through its grape; clients look the name up and get "host:port" peers.

var (
	// ErrServiceName is a service name a grape cannot take: empty, not UTF-8, or holding
	// control characters.
	ErrServiceName = errors.New("invalid service name")

	// ErrNotIndexed is an announce answered 0: no node took it.
	ErrNotIndexed = errors.New("no node took the announcement (the grape answered 0)")

	// ErrPeer is a peer in a lookup answer that is not host:port with a valid IP address
	// or host name and a port from 1 to 65535.
	ErrPeer = errors.New("invalid peer")
)

// CheckService refuses a service name that is empty, not valid UTF-8 or holds control
// characters (which would also reach the user's terminal in messages).
func CheckService(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty", ErrServiceName)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrServiceName, s)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %q holds control characters", ErrServiceName, s)
	}
	return nil
}

// checkAnnouncePort refuses a port outside 1..65535. A grape reads 0 as its own DHT
// port, which is never the port a service listens on.
func checkAnnouncePort(port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d is not from 1 to 65535", port)
	}
	return nil
}

// lookupBody is the body of a lookup request for service.
func lookupBody(service string) ([]byte, error) {
	if err := CheckService(service); err != nil {
		return nil, err
	}
	return envelope(service)
}

// announceBody is the body of an announce request: {"rid": ..., "data": [service, port]},
// the port a JSON number (a grape refuses a string with ERR_GRAPE_SERVICE_PORT).
func announceBody(service string, port int) ([]byte, error) {
	if err := CheckService(service); err != nil {
		return nil, err
	}
	if err := checkAnnouncePort(port); err != nil {
		return nil, err
	}
	return envelope([]any{service, port})
}

// Lookup asks for the peers announced for service and returns them as answered,
// unchecked (see Peers); none is an empty list, not an error. The answer must be a JSON
// array of strings; a JSON string is the grape's error.
func (h *HTTP) Lookup(ctx context.Context, service string) ([]string, error) {
	payload, err := lookupBody(service)
	if err != nil {
		return nil, err
	}
	body, status, err := h.exchange(ctx, "lookup", payload)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.Trim(body, jsonSpace)
	if len(trimmed) > 0 && trimmed[0] == '"' {
		return nil, grapeMessage(status, body)
	}
	bad := &ProtocolError{Status: status, Reason: "a lookup answer must be a JSON array of strings or a JSON string", Body: excerpt(body)}
	if len(trimmed) == 0 || trimmed[0] != '[' || !utf8.Valid(body) {
		return nil, bad
	}
	var raw []json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return nil, bad
	}
	peers := make([]string, 0, len(raw))
	for _, r := range raw {
		var p string
		if len(r) == 0 || r[0] != '"' || json.Unmarshal(r, &p) != nil {
			return nil, bad
		}
		peers = append(peers, p)
	}
	return peers, nil
}

// Announce announces service on port and returns the number the grape answered: how
// many nodes took it, unchecked (see the package function Announce). The answer must be
// a JSON number, a whole one from 0 up; a JSON string is the grape's error.
func (h *HTTP) Announce(ctx context.Context, service string, port int) (int, error) {
	payload, err := announceBody(service, port)
	if err != nil {
		return 0, err
	}
	body, status, err := h.exchange(ctx, "announce", payload)
	if err != nil {
		return 0, err
	}
	trimmed := bytes.Trim(body, jsonSpace)
	if len(trimmed) > 0 && trimmed[0] == '"' {
		return 0, grapeMessage(status, body)
	}
	n, err := strconv.Atoi(string(trimmed))
	if err != nil || n < 0 || strings.Trim(string(trimmed), "0123456789") != "" || len(trimmed) > 1 && trimmed[0] == '0' {
		return 0, &ProtocolError{Status: status, Reason: "an announce answer must be a whole JSON number or a JSON string", Body: excerpt(body)}
	}
	return n, nil
}

// jsonSpace is the white space JSON allows around a value.
const jsonSpace = " \t\r\n"

// Peers looks service up and returns its peers once every one has passed CheckPeer; if
// one fails, the error says which and no peer is returned: an answer holding one
// malformed peer is not trusted for the others either. None is an empty list.
func Peers(ctx context.Context, t Transport, service string) ([]string, error) {
	peers, err := t.Lookup(ctx, service)
	if err != nil {
		return nil, err
	}
	for _, p := range peers {
		if err := CheckPeer(p); err != nil {
			return nil, err
		}
	}
	return peers, nil
}

// Announce announces service on port and returns how many nodes took it; none is
// ErrNotIndexed.
func Announce(ctx context.Context, t Transport, service string, port int) (int, error) {
	n, err := t.Announce(ctx, service, port)
	if err != nil {
		return n, err
	}
	if n < 1 {
		return n, ErrNotIndexed
	}
	return n, nil
}

// CheckPeer accepts "host:port" where host is an IPv4 address, an IPv6 address in
// brackets or a host name (letters, digits, '-', '_' and dots; no label starts with '-',
// and the last label is not all digits), and port is 1 to 65535 in decimal without
// leading zeros. Nothing else can reach a script's `for a in $(grenache-lookup ...)`.
func CheckPeer(p string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q in the grape's answer: %s", ErrPeer, p, why) }
	host, port, err := net.SplitHostPort(p)
	if err != nil {
		return bad("not host:port")
	}
	if port == "" || strings.Trim(port, "0123456789") != "" || port[0] == '0' {
		return bad("the port is not a decimal number from 1 to 65535")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad("the port is not a decimal number from 1 to 65535")
	}
	if strings.HasPrefix(p, "[") {
		if !strings.Contains(host, ":") || net.ParseIP(host) == nil {
			return bad("not an IPv6 address in brackets")
		}
		return nil
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if !isHostName(host) {
		return bad("the host is no IP address or host name")
	}
	return nil
}

// isHostName reports whether h is a host name: 1 to 253 bytes, labels of 1 to 63
// letters, digits, '-' or '_', none starting or ending with '-', the last not all digits.
func isHostName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}
