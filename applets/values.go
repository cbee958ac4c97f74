package applets

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"grenache/bep44"
)

// parseNumber reads a decimal integer in 0..bep44.MaxSeq. Leading zeros are
// decimal, never octal; signs, spaces and other bases are refused.
func parseNumber(s, what string) (int64, error) {
	if s == "" {
		return 0, usagef("%s is empty", what)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, usagef("%s %q is not a whole number from 0 to 2^53 (decimal digits only)", what, s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > bep44.MaxSeq {
		return 0, usagef("%s %s is out of range: it must be at most 2^53 = %d (it travels as a JavaScript number)", what, s, uint64(bep44.MaxSeq))
	}
	return int64(n), nil
}

func parsePort(s, what string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 || strings.ContainsAny(s, "+-") {
		return 0, usagef("%s %q is not a number from 1 to 65535", what, s)
	}
	return int(n), nil
}

// maxDuration is the longest time.Duration, about 292 years.
const maxDuration = time.Duration(math.MaxInt64)

// parseDuration accepts Go durations (10s, 500ms) and plain seconds (2.5).
func parseDuration(s, what string) (time.Duration, error) {
	tooLarge := usagef("%s %q is too large: at most %s (about 292 years)", what, s, maxDuration.Truncate(time.Hour))
	notDuration := usagef("%s %q is not a duration (e.g. 10s, 500ms, or seconds: 2.5)", what, s)
	d, err := time.ParseDuration(s)
	if err != nil {
		// A duration time refuses although it is well formed is out of its range.
		if seconds, ok := durationSeconds(s); ok {
			if seconds > 0 {
				return 0, tooLarge
			}
			return 0, usagef("%s %q must be more than zero", what, s)
		}
		// Plain seconds: decimal digits, a point, an exponent (no hex, Inf or NaN).
		if strings.Trim(s, "0123456789.eE+-") != "" {
			return 0, notDuration
		}
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil && !errors.Is(ferr, strconv.ErrRange) {
			return 0, notDuration
		}
		if f <= 0 {
			return 0, usagef("%s %q must be more than zero", what, s)
		}
		if f*float64(time.Second) >= float64(maxDuration) {
			return 0, tooLarge
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d <= 0 {
		return 0, usagef("%s %q must be more than zero", what, s)
	}
	return d, nil
}

// durationUnits are time.ParseDuration's units in seconds.
var durationUnits = map[string]float64{"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}

// durationSeconds reads s as time.ParseDuration would, without its range
// limit: [-+]?(number unit)+, and returns it in seconds. ok is false when s
// is not in that form.
func durationSeconds(s string) (seconds float64, ok bool) {
	sign := 1.0
	if rest, neg := strings.CutPrefix(s, "-"); neg {
		s, sign = rest, -1
	} else {
		s = strings.TrimPrefix(s, "+")
	}
	if s == "" {
		return 0, false
	}
	for s != "" {
		i := strings.IndexFunc(s, func(c rune) bool { return (c < '0' || c > '9') && c != '.' })
		if i <= 0 || s[:i] == "." {
			return 0, false
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, false
		}
		s = s[i:]
		j := strings.IndexAny(s, "0123456789.")
		if j < 0 {
			j = len(s)
		}
		unit, known := durationUnits[s[:j]]
		if !known {
			return 0, false
		}
		seconds += n * unit
		s = s[j:]
	}
	return sign * seconds, true
}

// checkHost refuses host names that cannot be one: empty, with a scheme, a
// path, a port or white space, unbalanced brackets, or dotted numbers that
// are no IP address (127.0.0.256 would otherwise go to the resolver). An IPv6
// literal may come in brackets.
func checkHost(h, what string) (string, error) {
	bad := usagef("%s %q is not a host name or IP address", what, h)
	if h == "" {
		return "", usagef("the grape host is empty")
	}
	if strings.HasPrefix(h, "[") || strings.HasSuffix(h, "]") {
		inner := strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if len(inner) != len(h)-2 || !strings.Contains(inner, ":") || net.ParseIP(inner) == nil {
			return "", bad
		}
		return inner, nil
	}
	if net.ParseIP(h) != nil {
		return h, nil
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", bad
		}
	}
	// A name's last label is never all digits: such a "name" is a mistyped address.
	labels := strings.Split(strings.TrimSuffix(h, "."), ".")
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", bad
	}
	return h, nil
}

// grapeAddr is one grape of -g/--grape: a host as checkHost returns it, and its port,
// 0 when the entry gave none (-p/--port then).
type grapeAddr struct {
	host string
	port int
}

// checkGrapes reads -g/--grape: a comma-separated list of HOST or HOST:PORT entries
// (an IPv6 address with a port in brackets, [::1]:30002). A single HOST is checked by
// checkHost, with its messages; every entry must be well formed.
func checkGrapes(v, what string) ([]grapeAddr, error) {
	if v == "" {
		return nil, usagef("the grape host is empty")
	}
	var addrs []grapeAddr
	for _, e := range strings.Split(v, ",") {
		if e == "" {
			return nil, usagef("%s %q has an empty entry (entries are HOST or HOST:PORT, separated by commas)", what, v)
		}
		host, port, ok := splitGrape(e)
		if !ok {
			h, err := checkHost(e, what)
			if err != nil {
				return nil, err
			}
			addrs = append(addrs, grapeAddr{host: h})
			continue
		}
		if host == "" {
			return nil, usagef("%s %q has no host before its port", what, e)
		}
		h, err := checkHost(host, what)
		if err != nil {
			return nil, usagef("%s %q is not HOST:PORT with a host name or IP address", what, e)
		}
		p, err := parsePort(port, fmt.Sprintf("%s %q: port", what, e))
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, grapeAddr{host: h, port: p})
	}
	return addrs, nil
}

// splitGrape splits HOST:PORT or [IPv6]:PORT where PORT is decimal digits; ok is false
// when e has no such port (it is a host, or malformed: checkHost words it).
func splitGrape(e string) (host, port string, ok bool) {
	if strings.HasPrefix(e, "[") {
		i := strings.Index(e, "]")
		if i < 0 || !strings.HasPrefix(e[i+1:], ":") {
			return "", "", false
		}
		host, port = e[:i+1], e[i+2:]
	} else if strings.Count(e, ":") == 1 {
		host, port, _ = strings.Cut(e, ":")
	} else {
		return "", "", false
	}
	if port == "" || strings.Trim(port, "0123456789") != "" {
		return "", "", false
	}
	return host, port, true
}
