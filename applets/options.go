package applets

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"grenache/bep44"
	"grenache/grape"
)

// Names of the options every network applet takes, and their environment variables.
const (
	flagGrape          = "grape"
	flagPort           = "port"
	flagTLS            = "tls"
	flagTimeout        = "timeout"
	flagConnectTimeout = "connect-timeout"
	flagVersion        = "version"

	envGrape          = "GRENACHE_GRAPE"
	envPort           = "GRENACHE_PORT"
	envTLS            = "GRENACHE_TLS"
	envTimeout        = "GRENACHE_TIMEOUT"
	envConnectTimeout = "GRENACHE_CONNECT_TIMEOUT"

	defaultGrape          = "127.0.0.1"
	defaultPort           = "30002"
	defaultTimeout        = "10s"
	defaultConnectTimeout = "5s"
)

// versionFlag replaces urfave's -v/--version, since -v is get's --value (as in the original).
func versionFlag() cli.Flag {
	return &cli.BoolFlag{Name: flagVersion, Aliases: []string{"V"}, Usage: "print the version and exit"}
}

// grapeFlags are the options of every applet that talks to a grape. Numbers
// are read as strings and parsed here: urfave's integer flags accept octal
// (010 = 8) and hexadecimal, which the original's users never meant.
func grapeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagGrape, Aliases: []string{"g"}, Value: defaultGrape, EnvVars: []string{envGrape},
			Usage: "grape `HOST` (name or IP address)"},
		&cli.StringFlag{Name: flagPort, Aliases: []string{"p"}, Value: defaultPort, EnvVars: []string{envPort},
			Usage: "grape HTTP API `PORT`"},
		&cli.BoolFlag{Name: flagTLS, Aliases: []string{"t"}, EnvVars: []string{envTLS},
			Usage: "talk to the grape over HTTPS"},
		&cli.StringFlag{Name: flagTimeout, Value: defaultTimeout, EnvVars: []string{envTimeout},
			Usage: "give up after `DURATION` in all (e.g. 10s, 500ms, or seconds: 2.5)"},
		&cli.StringFlag{Name: flagConnectTimeout, Value: defaultConnectTimeout, EnvVars: []string{envConnectTimeout},
			Usage: "give up connecting after `DURATION`"},
	}
}

// runCtx is what an applet's run function works with.
type runCtx struct {
	*cli.Context
	*streams
	prog  string
	order []string // canonical names of the flags given, in command-line order
}

func (r *runCtx) warnf(format string, args ...any) {
	fmt.Fprintf(r.stderr, "%s: warning: "+format+"\n", append([]any{r.prog}, args...)...)
}

func (r *runCtx) hintf(format string, args ...any) {
	fmt.Fprintf(r.stderr, "%s: hint: "+format+"\n", append([]any{r.prog}, args...)...)
}

// main runs the applet with its arguments (without the program name).
func (a *applet) main(prog string, args []string, s *streams) int {
	flags := append(a.flags(), versionFlag())
	for _, f := range flags {
		if b, ok := f.(*cli.BoolFlag); ok {
			b.DisableDefaultText = true // "(default: false)" says nothing
		}
	}
	normalized, order, err := normalizeArgs(args, flags)
	if err == nil {
		err = checkBoolEnv(flags)
	}
	if err != nil {
		var uo *unknownOption
		if errors.As(err, &uo) {
			hint := fmt.Sprintf("'%s --help' lists the options", prog)
			if uo.suggestion != "" {
				hint = "did you mean " + uo.suggestion + "?"
			}
			err = withCode(ExitUsage, err, hint)
		}
		return report(prog, s.stderr, err)
	}
	app := &cli.App{
		CustomAppHelpTemplate: helpTemplate + a.exitText(),
		Name:                  prog,
		Usage:                 a.usage,
		UsageText:             prog + " [OPTION]... " + a.argsUsage,
		Description:           a.about,
		Flags:                 flags,
		HideVersion:           true,
		HideHelpCommand:       true,
		Writer:                s.stdout,
		ErrWriter:             s.stderr,
		ExitErrHandler:        func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return withCode(ExitUsage, err, fmt.Sprintf("'%s --help' lists the options", prog))
		},
		Action: func(c *cli.Context) error {
			if c.Bool(flagVersion) {
				fmt.Fprintln(s.stdout, versionLine())
				return nil
			}
			return a.run(&runCtx{Context: c, streams: s, prog: prog, order: order})
		},
	}
	return report(prog, s.stderr, app.Run(append([]string{prog}, normalized...)))
}

// helpTemplate is --help for every applet: usage, description, options, exit codes.
const helpTemplate = `usage: {{.UsageText}}

{{.Usage}}.
{{if .Description}}
{{.Description}}
{{end}}
options:{{range .VisibleFlags}}
   {{.}}{{end}}

`

// networkExitCodes are the exit codes of the applets that talk to a grape.
const networkExitCodes = `exit codes: 0 success, 1 failure (grape unreachable or error), 2 invalid usage or input,
3 not found, 4 verification failed (nothing printed), 5 conflict (CAS mismatch or
sequence number not newer: read again and retry).
`

// exitText is the exit codes paragraph of the applet's --help.
func (a *applet) exitText() string {
	if a.exitCodes != "" {
		return a.exitCodes
	}
	return networkExitCodes
}

// normalizeArgs rewrites a getopt-style command line into one that Go's flag
// package parses the same way: options may follow operands, short options
// may be bundled (-mt) or carry their value (-sfoo), and "--" ends the
// options. Every option comes out first, in order, as -name or -name=value,
// then "--" and the operands, so an operand that begins with "-" stays an
// operand. It also returns the canonical names of the options in the order
// given, for options where the last one wins.
func normalizeArgs(args []string, flags []cli.Flag) (out, order []string, err error) {
	canon := map[string]string{"help": "help", "h": "help"} // urfave adds --help/-h itself
	takesValue := map[string]bool{}
	for _, f := range flags {
		names := f.Names()
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range names {
			canon[n] = names[0]
			takesValue[n] = !isBool
		}
	}
	var operands []string
	add := func(name, value string, hasValue bool) {
		if c, ok := canon[name]; ok {
			order = append(order, c)
		}
		dash := "-"
		if len(name) > 1 {
			dash = "--"
		}
		if hasValue {
			out = append(out, dash+name+"="+value)
		} else {
			out = append(out, dash+name)
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			operands = append(operands, args[i+1:]...)
			break
		}
		if a == "-" || !strings.HasPrefix(a, "-") {
			operands = append(operands, a)
			continue
		}
		body := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if name, value, ok := strings.Cut(body, "="); ok {
			if _, known := canon[name]; !known {
				return nil, nil, newUnknownOption(strings.TrimSuffix(a, "="+value), name, canon)
			}
			add(name, value, true)
			continue
		}
		_, known := canon[body]
		if (strings.HasPrefix(a, "--") || len(body) == 1) && !known {
			return nil, nil, newUnknownOption(a, body, canon)
		}
		if strings.HasPrefix(a, "--") || len(body) == 1 || known {
			if takesValue[body] {
				if i+1 >= len(args) {
					return nil, nil, usagef("option %s needs a value", a)
				}
				i++
				add(body, args[i], true)
			} else {
				add(body, "", false)
			}
			continue
		}
		// Bundled short options: -mt, -sfoo, -ms foo.
		for j := 0; j < len(body); j++ {
			c := body[j : j+1]
			if _, known := canon[c]; !known {
				u := newUnknownOption("-"+c, body, canon)
				u.in = a
				return nil, nil, u
			}
			if !takesValue[c] {
				add(c, "", false)
				continue
			}
			if j+1 < len(body) {
				add(c, body[j+1:], true)
			} else if i+1 < len(args) {
				i++
				add(c, args[i], true)
			} else {
				return nil, nil, usagef("option -%s needs a value", c)
			}
			break
		}
	}
	return append(append(out, "--"), operands...), order, nil
}

// unknownOption is an option the applet does not have, as typed, with the
// nearest of the applet's long options when one is close.
type unknownOption struct {
	typed      string // as typed: --mutabel, -x
	in         string // the bundle it was found in (-mxz), if any
	suggestion string // --mutable, or ""
}

func (e *unknownOption) Error() string {
	if e.in != "" {
		return fmt.Sprintf("unknown option %s in %s", e.typed, e.in)
	}
	return "unknown option " + e.typed
}

// newUnknownOption reports typed, whose name is name (without dashes),
// suggesting the long option that name is a unique prefix of, else the
// nearest by edit distance when it is close: at most one edit in four
// letters, and never more than two.
func newUnknownOption(typed, name string, canon map[string]string) *unknownOption {
	e := &unknownOption{typed: typed}
	var prefixed []string
	best, bestDist := "", 3
	for n := range canon {
		if len(n) < 2 {
			continue
		}
		if len(name) >= 2 && strings.HasPrefix(n, name) {
			prefixed = append(prefixed, canon[n])
		}
		d := editDistance(name, n)
		if d < bestDist || d == bestDist && n < best {
			best, bestDist = n, d
		}
	}
	slices.Sort(prefixed)
	prefixed = slices.Compact(prefixed)
	switch {
	case len(prefixed) == 1:
		e.suggestion = "--" + prefixed[0]
	case best != "" && bestDist <= max(1, len(name)/4) && bestDist < len(name):
		e.suggestion = "--" + best
	}
	return e
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent bytes.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// checkBoolEnv refuses a boolean option's environment variable that is set to
// something other than a boolean; empty counts as unset.
func checkBoolEnv(flags []cli.Flag) error {
	for _, f := range flags {
		b, ok := f.(*cli.BoolFlag)
		if !ok {
			continue
		}
		for _, env := range b.EnvVars {
			if v := os.Getenv(env); v != "" {
				if _, err := strconv.ParseBool(v); err != nil {
					return usagef("%s %q is not a boolean (1, true, 0 or false; empty is unset)", env, v)
				}
			}
		}
	}
	return nil
}

// option returns a string option's value and what to call it in messages:
// what, when it was given on the command line, else its environment variable
// env when that is set and not empty, else def. An empty variable counts as
// unset, as it does for GRENACHE_TLS.
func (r *runCtx) option(flag, env, def, what string) (value, name string) {
	if slices.Contains(r.order, flag) {
		return r.String(flag), what
	}
	if v := os.Getenv(env); v != "" {
		return v, env
	}
	return def, what
}

// lastOf returns which of names was given last on the command line, or def.
func (r *runCtx) lastOf(def string, names ...string) string {
	for i := len(r.order) - 1; i >= 0; i-- {
		for _, n := range names {
			if r.order[i] == n {
				return n
			}
		}
	}
	return def
}

// parseNumber reads a decimal integer in 0..bep44.MaxSeq. Leading zeros are
// decimal, never octal; signs, spaces and other bases are refused.
func parseNumber(what, s string) (int64, error) {
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

func parsePort(what, s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 || strings.ContainsAny(s, "+-") {
		return 0, usagef("%s %q is not a number from 1 to 65535", what, s)
	}
	return int(n), nil
}

// maxDuration is the longest time.Duration, about 292 years.
const maxDuration = time.Duration(math.MaxInt64)

// parseDuration accepts Go durations (10s, 500ms) and plain seconds (2.5).
func parseDuration(what, s string) (time.Duration, error) {
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

// swap puts an option's name before its value, as the parse functions take them.
func swap(value, name string) (string, string) { return name, value }

// checkHost refuses host names that cannot be one: empty, with a scheme, a
// path, a port or white space, unbalanced brackets, or dotted numbers that
// are no IP address (127.0.0.256 would otherwise go to the resolver). An IPv6
// literal may come in brackets.
func checkHost(h, what string) (string, error) {
	bad := usagef("%s %q is not a host name or IP address (give the port with -p)", what, h)
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

// dial holds what a network applet needs to reach a grape.
type dial struct {
	transport *grape.HTTP
	timeout   time.Duration // for each operation
	connect   time.Duration // for each connection
	where     string        // host:port, for messages
}

// grapeOptions reads and checks the common network options.
func (r *runCtx) grapeOptions() (*dial, error) {
	host, err := checkHost(r.option(flagGrape, envGrape, defaultGrape, "grape host"))
	if err != nil {
		return nil, err
	}
	port, err := parsePort(swap(r.option(flagPort, envPort, defaultPort, "port")))
	if err != nil {
		return nil, err
	}
	timeout, err := parseDuration(swap(r.option(flagTimeout, envTimeout, defaultTimeout, "--timeout")))
	if err != nil {
		return nil, err
	}
	connect, err := parseDuration(swap(r.option(flagConnectTimeout, envConnectTimeout, defaultConnectTimeout, "--connect-timeout")))
	if err != nil {
		return nil, err
	}
	pool := 0 // one request per process: a connection of its own, no pool
	if r.Bool(flagBatch) {
		pool, _ = strconv.Atoi(r.String(flagJobs)) // checked by runBatch before anything is sent
	}
	return &dial{
		transport: grape.NewHTTP(host, port, r.Bool(flagTLS), connect, userAgent(), pool),
		timeout:   timeout,
		connect:   connect,
		where:     net.JoinHostPort(host, strconv.Itoa(port)),
	}, nil
}

// context bounds one operation by --timeout.
func (d *dial) context(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d.timeout)
}
