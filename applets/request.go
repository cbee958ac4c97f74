package applets

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"grenache/grape"
)

// request has no counterpart in the original tool: it is a Grenache RPC client, as
// grenache-nodejs-http's PeerRPCClient is, for scripts and for poking at a service.
//
// There is no ACTION on the wire: a request carries [rid, service, payload], and what
// the payload means is the service's business. The services built on Bitfinex's
// worker framework, and most others, take {"action": NAME, "args": [...]}, so that is
// what SERVICE ACTION ARGS... send; --payload sends any other JSON as it is.
var requestApplet = &applet{
	name:      "request",
	usage:     "call a Grenache RPC service on a worker and print its answer",
	argsUsage: "SERVICE ACTION | SERVICE --payload JSON",
	about: "Sends {\"action\": ACTION, \"args\": [...]} to a worker announced for SERVICE, as\n" +
		"grenache-nodejs-http's clients do, and prints the data it answers as compact JSON.\n" +
		"The args come from -a (a JSON value), -s (a string) and -n (a number), in the order given;\n" +
		"--payload JSON sends that JSON as the whole payload instead, and takes no ACTION.\n" +
		"The worker is one of those the grape knows for SERVICE, at random, or the one given with\n" +
		"-w HOST:PORT (then no grape is asked). An error the worker answers is printed on standard\n" +
		"error: exit 1. A worker gives no answer at all to a request it cannot read: --timeout,\n" +
		"which bounds the lookup and the call together, ends the wait (exit 1).\n\n" +
		"With --all, every worker the grape knows for SERVICE is called at once, and each gets one\n" +
		"JSON line, in the grape's order: {\"peer\": \"HOST:PORT\", \"data\": ...} or {\"peer\", \"error\",\n" +
		"\"exit\"}; the exit code is the highest of the workers'.",
	exitCodes: `exit codes: 0 success, 1 failure (the worker answered an error, gave no answer in time or
could not be reached; the grape failed), 2 invalid usage or input (nothing sent),
3 no worker is announced for SERVICE.
`,
	flags: func() []cli.Flag {
		args := &requestArgs{}
		flags := append(grapeFlags(),
			&cli.StringFlag{Name: "worker", Aliases: []string{"w"}, Usage: "call the worker at `HOST:PORT`, without asking the grape"})
		flags = append(flags, repeatable("arg", "a", "append the `JSON` value to the args (repeatable)", &requestArg{args, 'a'})...)
		flags = append(flags, repeatable("string", "s", "append the `STRING` to the args (repeatable)", &requestArg{args, 's'})...)
		flags = append(flags, repeatable("numeric", "n", "append the decimal `NUMBER` to the args (repeatable)", &requestArg{args, 'n'})...)
		return append(flags,
			&cli.StringFlag{Name: "payload", Usage: "send `JSON` as the whole payload, instead of ACTION and its args"},
			&cli.BoolFlag{Name: "raw", Aliases: []string{"r"}, Usage: "print an answer that is a string as it is, without quotes or escapes"},
			&cli.BoolFlag{Name: "all", Usage: "call every worker announced for SERVICE; one JSON line each"},
			&cli.BoolFlag{Name: "gzip", Aliases: []string{"z"}, Usage: "ask for gzip (grc-compress: gzip): the request and the answer travel compressed"},
		)
	},
	run: runRequest,
}

// requestArgs are the -a, -s and -n values in command-line order.
type requestArgs struct {
	list []argValue
}

type argValue struct {
	kind byte // 'a', 's' or 'n'
	text string
}

// requestArg is the cli.Generic of -a, -s and -n: each value given is appended to one
// shared list, so that their order across the three options is kept (and a comma is no
// separator, as it would be for a slice option).
type requestArg struct {
	args *requestArgs
	kind byte
}

func (a *requestArg) Set(s string) error {
	a.args.list = append(a.args.list, argValue{a.kind, s})
	return nil
}

func (a *requestArg) String() string { return "" }

// repeatable returns a repeatable option as two: --name and a hidden -short, sharing v.
// urfave/cli refuses both spellings of one option on a command line ("Cannot use two
// forms of the same flag"), which is fine for an option given once and wrong for one
// that collects values. --help shows them as one option.
func repeatable(name, short, usage string, v cli.Generic) []cli.Flag {
	shown := (&cli.GenericFlag{Name: name, Aliases: []string{short}, Usage: usage, Value: v}).String()
	return []cli.Flag{
		&shownFlag{&cli.GenericFlag{Name: name, Usage: usage, Value: v}, shown, short},
		&cli.GenericFlag{Name: short, Usage: usage, Value: v, Hidden: true},
	}
}

// shownFlag is a flag that --help shows as shown.
type shownFlag struct {
	*cli.GenericFlag
	shown string
	short string // the hidden flag's name, its other spelling
}

func (f *shownFlag) String() string { return f.shown }

func runRequest(r *runCtx) error {
	payload, service, err := r.requestPayload()
	if err != nil {
		return err
	}
	all, raw := r.Bool("all"), r.Bool("raw")
	if all && raw {
		return usagef("-r/--raw prints one answer; --all prints each as a JSON line")
	}
	var workers []string
	if r.IsSet("worker") {
		if workers, err = parseWorker(r.String("worker")); err != nil {
			return err
		}
	}
	d, err := r.grapeOptions()
	if err != nil {
		return err
	}
	ctx, cancel := d.context(context.Background())
	defer cancel()
	if workers == nil {
		// The same lookup, and the same check of every peer, as grenache lookup.
		workers, err = grape.Peers(ctx, d.transport, service)
		if err != nil {
			return d.explain(err)
		}
		if len(workers) == 0 {
			return withCode(ExitNotFound, fmt.Errorf("no worker is announced for service %q", service),
				"a worker announces itself through a grape every few minutes: is one running, under this name?",
				"to call a worker whose address you know: -w HOST:PORT")
		}
	}
	rpc := grape.NewRPC(d.connect, userAgent(), r.Bool("gzip"))
	call := func(worker string) (json.RawMessage, error) {
		data, err := rpc.Call(ctx, worker, service, payload)
		if err != nil {
			return nil, explainWorker(err, worker, d.timeout, d.connect)
		}
		return data, nil
	}
	if !all {
		worker := workers[rand.IntN(len(workers))]
		data, err := call(worker)
		if err != nil {
			return err
		}
		return writeAnswer(r.stdout, data, raw)
	}
	return r.requestAll(workers, call)
}

// requestPayload reads the operands and the args options: the payload to send and the
// service to send it to.
func (r *runCtx) requestPayload() (json.RawMessage, string, error) {
	args := r.Generic("arg").(*requestArg).args.list
	hasPayload := r.IsSet("payload")
	operands := r.Args().Slice()
	switch {
	case len(operands) == 0:
		return nil, "", usagef("give the SERVICE to call, and its ACTION")
	case hasPayload && len(operands) != 1:
		return nil, "", usagef("with --payload, give only SERVICE (got %d operands)", len(operands))
	case hasPayload && len(args) > 0:
		return nil, "", usagef("--payload is the whole payload: it takes no -a, -s or -n")
	case !hasPayload && len(operands) != 2:
		return nil, "", usagef("give exactly SERVICE and ACTION (got %d operands)", len(operands))
	}
	service := operands[0]
	if service == "" {
		return nil, "", usagef("the SERVICE name is empty")
	}
	if !utf8.ValidString(service) {
		return nil, "", usagef("the SERVICE name %q is not valid UTF-8", service)
	}
	if hasPayload {
		p, err := jsonArg("--payload", r.String("payload"))
		return p, service, err
	}
	action := operands[1]
	if action == "" {
		return nil, "", usagef("the ACTION is empty")
	}
	if !utf8.ValidString(action) {
		return nil, "", usagef("the ACTION %q is not valid UTF-8", action)
	}
	var b bytes.Buffer
	b.WriteString(`{"action":`)
	b.Write(jsonString(action))
	b.WriteString(`,"args":[`)
	for i, a := range args {
		if i > 0 {
			b.WriteByte(',')
		}
		var v []byte
		var err error
		switch a.kind {
		case 'a':
			v, err = jsonArg("-a/--arg", a.text)
		case 's':
			if !utf8.ValidString(a.text) {
				err = usagef("-s/--string %q is not valid UTF-8", a.text)
			}
			v = jsonString(a.text)
		case 'n':
			v, err = numberArg(a.text)
		}
		if err != nil {
			return nil, "", err
		}
		b.Write(v)
	}
	b.WriteString("]}")
	return b.Bytes(), service, nil
}

// jsonString is s as a JSON string, with <, > and & as they are.
func jsonString(s string) []byte {
	var b bytes.Buffer
	writeJSON(&b, s) // a bytes.Buffer takes every write
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// jsonArg checks that s is one JSON value in UTF-8 and returns it compacted.
func jsonArg(what, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, usagef("%s %q is not valid UTF-8", what, s)
	}
	var v json.RawMessage
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, usagef("%s %q is not a JSON value: %v", what, s, err)
	}
	var b bytes.Buffer
	json.Compact(&b, v)
	return b.Bytes(), nil
}

// isJSONNumber reports whether s is a JSON number as written: no sign but minus, no
// leading zeros, no hex, Inf or NaN, nothing around it. (No regexp: a package-level one
// would be compiled at the start of every grenache process.)
func isJSONNumber(s string) bool {
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	return s != "" && (s[0] == '-' || isDigit(s[0])) && isDigit(s[len(s)-1]) && json.Valid([]byte(s))
}

// numberArg reads -n: a decimal number, sent as written. It travels as a JavaScript
// number, so it must be finite as one.
func numberArg(s string) ([]byte, error) {
	if !isJSONNumber(s) {
		return nil, usagef("-n/--numeric %q is not a decimal number (like 42, -1.5 or 2e10; no leading zeros)", s)
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return nil, usagef("-n/--numeric %s is out of range for a JavaScript number", s)
	}
	return []byte(s), nil
}

// parseWorker reads -w HOST:PORT and returns it as net.JoinHostPort writes it.
func parseWorker(s string) ([]string, error) {
	bad := usagef("-w/--worker %q is not HOST:PORT (a host name or IP address, IPv6 in brackets, and a port)", s)
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return nil, bad
	}
	if host, err = checkHost(host, "worker host"); err != nil {
		return nil, bad
	}
	p, err := parsePort(port, "worker port")
	if err != nil {
		return nil, bad
	}
	return []string{net.JoinHostPort(host, strconv.Itoa(p))}, nil
}

// writeAnswer prints a worker's data: compact JSON, or with raw a string as it is.
func writeAnswer(w io.Writer, data json.RawMessage, raw bool) error {
	var out []byte
	var s string
	if raw && bytes.HasPrefix(bytes.TrimSpace(data), []byte(`"`)) && json.Unmarshal(data, &s) == nil {
		out = []byte(s)
	} else {
		var b bytes.Buffer
		if err := json.Compact(&b, data); err != nil {
			return err // cannot happen: DecodeRPCAnswer checked it
		}
		out = b.Bytes()
	}
	_, err := w.Write(append(out, '\n'))
	return err
}

// peerLine is one line of --all's output.
type peerLine struct {
	Peer  string          `json:"peer"`
	Data  json.RawMessage `json:"data,omitempty"`
	Error string          `json:"error,omitempty"`
	Exit  int             `json:"exit,omitempty"`
}

// requestAll calls every worker at once and prints one line each, in the workers'
// order, as soon as it and those before it have answered.
func (r *runCtx) requestAll(workers []string, call func(string) (json.RawMessage, error)) error {
	results := make([]chan peerLine, len(workers))
	for i, w := range workers {
		results[i] = make(chan peerLine, 1)
		go func() {
			data, err := call(w)
			if err != nil {
				results[i] <- peerLine{Peer: w, Error: err.Error(), Exit: exitCode(err)}
				return
			}
			results[i] <- peerLine{Peer: w, Data: data}
		}()
	}
	out := bufio.NewWriter(r.stdout)
	worst, failed := ExitOK, 0
	var werr error
	for i, ch := range results {
		line := <-ch
		if line.Exit != ExitOK {
			worst, failed = max(worst, line.Exit), failed+1
			fmt.Fprintf(r.stderr, "%s: error: %s\n", r.prog, line.Error)
		}
		if werr == nil {
			werr = writeJSON(out, line) // compacts data, keeps <, > and & as they are
		}
		if werr == nil && (i+1 == len(results) || len(results[i+1]) == 0) {
			werr = out.Flush()
		}
	}
	if werr != nil {
		return werr
	}
	if failed > 0 {
		return withCode(worst, fmt.Errorf("%d of %d workers failed", failed, len(workers)))
	}
	return nil
}

// explainWorker turns an error from calling a worker into the message and hints a user
// can act on, keeping its exit code.
func explainWorker(err error, worker string, timeout, connect time.Duration) error {
	var oe *net.OpError
	var ue *url.Error
	switch {
	case errors.As(err, &oe) && oe.Op == "dial" && oe.Timeout():
		return withCode(ExitFailure, fmt.Errorf("cannot connect to the worker at %s within %s", worker, min(connect, timeout)),
			"is its host up and reachable? a slow network may need a longer --connect-timeout")
	case errors.Is(err, context.DeadlineExceeded):
		return withCode(ExitFailure, fmt.Errorf("no answer from the worker at %s within %s", worker, timeout),
			"a worker sends no answer at all to a request it cannot read; a slow one may need a longer --timeout")
	case errors.Is(err, syscall.ECONNREFUSED):
		return withCode(ExitFailure, fmt.Errorf("cannot connect to the worker at %s: connection refused", worker),
			"the grape still lists a worker that stopped until its announcement expires: try again, or call them all with --all")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return withCode(ExitFailure, fmt.Errorf("the worker at %s closed the connection without a complete answer", worker))
	case errors.As(err, &ue):
		return withCode(ExitFailure, fmt.Errorf("talking to the worker at %s: %w", worker, ue.Err))
	}
	return err
}
