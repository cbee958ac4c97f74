package applets

import (
	"context"
	"fmt"
	"net"
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
		&cli.StringFlag{Name: flagGrape, Aliases: []string{"g"}, Value: "127.0.0.1", EnvVars: []string{envGrape},
			Usage: "grape `HOST` (name or IP address)"},
		&cli.StringFlag{Name: flagPort, Aliases: []string{"p"}, Value: "30002", EnvVars: []string{envPort},
			Usage: "grape HTTP API `PORT`"},
		&cli.BoolFlag{Name: flagTLS, Aliases: []string{"t"}, EnvVars: []string{envTLS},
			Usage: "talk to the grape over HTTPS"},
		&cli.StringFlag{Name: flagTimeout, Value: "10s", EnvVars: []string{envTimeout},
			Usage: "give up after `DURATION` in all (e.g. 10s, 500ms, or seconds: 2.5)"},
		&cli.StringFlag{Name: flagConnectTimeout, Value: "5s", EnvVars: []string{envConnectTimeout},
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
	if err != nil {
		return report(prog, s.stderr, err)
	}
	app := &cli.App{
		CustomAppHelpTemplate: helpTemplate,
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

exit codes: 0 success, 1 failure (grape unreachable or error), 2 invalid usage or input,
3 not found, 4 verification failed (nothing printed), 5 conflict (CAS mismatch or
sequence number not newer: read again and retry).
`

// normalizeArgs rewrites a getopt-style command line into one that Go's flag
// package parses the same way: options may follow operands, short options
// may be bundled (-mt) or carry their value (-sfoo), and "--" ends the
// options. Every option comes out first, in order, as -name or -name=value,
// then "--" and the operands, so an operand that begins with "-" stays an
// operand. It also returns the canonical names of the options in the order
// given, for options where the last one wins.
func normalizeArgs(args []string, flags []cli.Flag) (out, order []string, err error) {
	canon := map[string]string{}
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
			add(name, value, true)
			continue
		}
		_, known := canon[body]
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

func parsePort(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 || strings.ContainsAny(s, "+-") {
		return 0, usagef("port %q is not a number from 1 to 65535", s)
	}
	return int(n), nil
}

// parseDuration accepts Go durations (10s, 500ms) and plain seconds (2.5).
func parseDuration(what, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0, usagef("%s %q is not a duration (e.g. 10s, 500ms, or seconds: 2.5)", what, s)
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d <= 0 {
		return 0, usagef("%s %q must be more than zero", what, s)
	}
	return d, nil
}

// checkHost refuses host names that cannot be one: empty, with a scheme, a
// path, a port or white space, unbalanced brackets, or dotted numbers that
// are no IP address (127.0.0.256 would otherwise go to the resolver). An IPv6
// literal may come in brackets.
func checkHost(h string) (string, error) {
	bad := usagef("grape host %q is not a host name or IP address (give the port with -p)", h)
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
	host, err := checkHost(r.String(flagGrape))
	if err != nil {
		return nil, err
	}
	port, err := parsePort(r.String(flagPort))
	if err != nil {
		return nil, err
	}
	timeout, err := parseDuration("--timeout", r.String(flagTimeout))
	if err != nil {
		return nil, err
	}
	connect, err := parseDuration("--connect-timeout", r.String(flagConnectTimeout))
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
