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
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"grenache/grape"
)

const (
	flagDelimiter = "delimiter"
	flagEvery     = "every"

	// minEvery bounds --every from below: a tighter loop only loads the grape.
	minEvery = 100 * time.Millisecond
)

var announceApplet = &applet{
	name:      "announce",
	usage:     "announce that a service listens on a port, for lookup to find",
	argsUsage: "[SERVICE,PORT]...",
	about: "Announces each SERVICE,PORT operand, or with none each line of standard input, as it\n" +
		"arrives (a FIFO kept open works: grenache-announce <>/run/grape/announce). The port is\n" +
		"1 to 65535, in decimal; the grape announces its own address with it. The service and\n" +
		"port are split at the last delimiter (-d, default ','), with spaces around either\n" +
		"ignored. On standard input, blank lines are skipped and '#' or ';' starts a comment\n" +
		"up to the end of the line. With --json, each operand or line is {\"data\": [SERVICE, PORT]}\n" +
		"(other fields ignored), and only whole lines starting with '#' or ';', or what follows\n" +
		"the object, are comments. An announcement counts once the grape answers that at least\n" +
		"one node took it. Nothing is printed on success.\n\n" +
		"Grapes forget an announcement after a while (their --dpa): --every DURATION announces\n" +
		"again and again, waiting between 0.5 and 1.5 times DURATION each time, until SIGINT or\n" +
		"SIGTERM ends it (exit 0); lines read later join the ones announced again. A failed\n" +
		"announcement is reported and the loop goes on.",
	exitCodes: "exit codes: 0 every announcement was taken (with --every: ended by SIGINT or SIGTERM),\n" +
		"1 failure (grape unreachable, an error, or no node took an announcement), 2 invalid\n" +
		"usage or input (a bad operand: nothing sent; a bad line of standard input is reported\n" +
		"and skipped). With several announcements, the highest code of theirs.\n",
	flags: func() []cli.Flag {
		return append(grapeFlags(),
			&cli.StringFlag{Name: flagDelimiter, Aliases: []string{"d"}, Value: ",", Usage: "the `TEXT` between the service and the port"},
			&cli.BoolFlag{Name: flagJSON, Aliases: []string{"j"}, Usage: `read {"data": [SERVICE, PORT]} objects instead`},
			&cli.StringFlag{Name: flagEvery, Usage: "announce again every `DURATION` (0.5 to 1.5 times it, drawn each time) until interrupted"},
		)
	},
	run: runAnnounce,
}

// announcement is a service and the port it is served on.
type announcement struct {
	service string
	port    int
}

// entryParser reads one operand or input line; it returns ok false for a
// line that is only a comment or blank.
type entryParser func(text string, stdin bool) (a announcement, ok bool, err error)

func runAnnounce(r *runCtx) error {
	delim := r.String(flagDelimiter)
	if delim == "" {
		return usagef("empty delimiter")
	}
	parse := entryParser(func(text string, stdin bool) (announcement, bool, error) { return parseDelimited(text, delim, stdin) })
	if r.Bool(flagJSON) {
		if r.IsSet(flagDelimiter) {
			return usagef("--delimiter and --json exclude each other")
		}
		parse = parseJSONEntry
	}
	var every time.Duration
	if r.IsSet(flagEvery) {
		var err error
		if every, err = parseDuration(r.String(flagEvery), "--every"); err != nil {
			return err
		}
		if every < minEvery {
			return usagef("--every %q is too short: at least %s", r.String(flagEvery), minEvery)
		}
	}
	var fixed []announcement
	for i, arg := range r.Args().Slice() {
		a, _, err := parse(arg, false)
		if err != nil {
			return usagef("operand %d (%q): %v", i+1, arg, err)
		}
		fixed = append(fixed, a)
	}
	d, err := r.grapeOptions()
	if err != nil {
		return err
	}
	an := &announcer{r: r, hinted: map[string]bool{}}
	an.send = func(ctx context.Context, a announcement) error {
		ctx, cancel := d.context(ctx)
		defer cancel()
		_, err := grape.Announce(ctx, d.transport, a.service, a.port)
		if err != nil && !errors.Is(err, grape.ErrNotIndexed) {
			err = d.explain(err)
		}
		return err
	}

	ctx := context.Background()
	if every > 0 {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	var lines <-chan inputLine
	if len(fixed) == 0 {
		lines = readLines(r.stdin)
	}
	err = an.run(ctx, fixed, lines, parse, every)
	if ctx.Err() != nil {
		return nil // interrupted: --every ends so
	}
	return err
}

// announcer announces and keeps the worst exit code.
type announcer struct {
	r      *runCtx
	send   func(context.Context, announcement) error
	worst  int
	hinted map[string]bool // each hint once
}

// run announces fixed, and the lines read as they arrive, and with every > 0
// all of them again after each wait, until ctx ends. It returns the exit code
// of the worst failure as an error, nil when all went well.
func (an *announcer) run(ctx context.Context, fixed []announcement, lines <-chan inputLine, parse entryParser, every time.Duration) error {
	all := append([]announcement(nil), fixed...)
	seen := map[announcement]bool{}
	for _, a := range fixed {
		seen[a] = true
	}
	an.announce(ctx, fixed)
	var tick <-chan time.Time
	var timer *time.Timer
	if every > 0 {
		timer = time.NewTimer(wait(every))
		defer timer.Stop()
		tick = timer.C
	}
	read := 0 // valid entries read from standard input
	for lines != nil || tick != nil {
		select {
		case <-ctx.Done():
			return nil
		case l, open := <-lines:
			if !open {
				lines = nil
				if read == 0 && an.worst == ExitOK {
					an.fail(usagef("no service to announce: give SERVICE,PORT operands or lines on standard input"))
				}
				if len(all) == 0 {
					tick = nil // nothing to announce again, ever
				}
				continue
			}
			a, ok, err := l.parse(parse)
			if err != nil {
				an.fail(err)
				continue
			}
			if !ok {
				continue
			}
			read++
			an.announce(ctx, []announcement{a})
			if !seen[a] {
				seen[a] = true
				all = append(all, a)
			}
		case <-tick:
			an.announce(ctx, all)
			timer.Reset(wait(every))
		}
	}
	if an.worst != ExitOK {
		return exitOnly(an.worst)
	}
	return nil
}

// announce sends each in turn, reporting failures, until ctx ends.
func (an *announcer) announce(ctx context.Context, as []announcement) {
	for _, a := range as {
		if ctx.Err() != nil {
			return
		}
		err := an.send(ctx, a)
		switch {
		case err == nil || ctx.Err() != nil:
		case errors.Is(err, grape.ErrNotIndexed):
			an.fail(withHints(fmt.Errorf("service %s has not been indexed: %w", a.service, err),
				"the grape has no peers that took it: start another grape and bootstrap them to each other"))
		default:
			an.fail(fmt.Errorf("unable to announce service %s on port %d: %w", a.service, a.port, err))
		}
	}
}

// fail reports err, its hints the first time each, and keeps its exit code.
func (an *announcer) fail(err error) {
	an.worst = max(an.worst, exitCode(err))
	fmt.Fprintf(an.r.stderr, "%s: error: %v\n", an.r.prog, err)
	for _, h := range hintsOf(err) {
		if !an.hinted[h] {
			an.hinted[h] = true
			an.r.hintf("%s", h)
		}
	}
}

// wait draws the time to the next round: between 0.5 and 1.5 times every, as
// grenache-nodejs-link spreads its announces.
func wait(every time.Duration) time.Duration {
	return every/2 + rand.N(every+1)
}

// inputLine is one line of standard input, or the error that ended reading.
type inputLine struct {
	n    int
	text string
	long bool
	err  error
}

// parse reads the line with p; errors name the line.
func (l inputLine) parse(p entryParser) (announcement, bool, error) {
	switch {
	case l.err != nil:
		return announcement{}, false, withCode(ExitFailure, fmt.Errorf("reading standard input: %w", l.err))
	case l.long:
		return announcement{}, false, usagef("line %d is longer than %d KiB", l.n, maxBatchLine>>10)
	}
	a, ok, err := p(l.text, true)
	if err != nil {
		return a, false, usagef("line %d (%q): %v", l.n, l.text, err)
	}
	return a, ok, nil
}

// readLines sends each line of in as soon as it is read; the channel closes
// at the end of in, or after a read error, sent as the last line.
func readLines(in io.Reader) <-chan inputLine {
	ch := make(chan inputLine)
	go func() {
		defer close(ch)
		br := bufio.NewReader(in)
		for n := 1; ; n++ {
			raw, long, err := readBatchLine(br)
			if err != nil {
				if err != io.EOF {
					ch <- inputLine{n: n, err: err}
				}
				return
			}
			ch <- inputLine{n: n, text: string(bytes.TrimSuffix(raw, []byte{'\r'})), long: long}
		}
	}()
	return ch
}

// blank is the white space around services, ports and comments.
const blank = " \t\r\n\v\f"

// parseDelimited reads SERVICE<delim>PORT, split at the last delim. On
// standard input, '#' or ';' starts a comment, and a line of nothing else is
// skipped (ok false).
func parseDelimited(text, delim string, stdin bool) (announcement, bool, error) {
	if stdin {
		if i := strings.IndexAny(text, "#;"); i >= 0 {
			text = text[:i]
		}
	}
	if strings.Trim(text, blank) == "" {
		if stdin {
			return announcement{}, false, nil
		}
		return announcement{}, false, errors.New("empty service name")
	}
	i := strings.LastIndex(text, delim)
	if i < 0 {
		return announcement{}, false, fmt.Errorf("no %q between the service and the port", delim)
	}
	return makeAnnouncement(strings.Trim(text[:i], blank), strings.Trim(text[i+len(delim):], blank))
}

// parseJSONEntry reads {"data": [SERVICE, PORT]}, PORT a number or a string
// of decimal digits. Other fields are ignored. On standard input, a line
// starting with '#' or ';' or blank is skipped, and after the object only a
// comment may follow.
func parseJSONEntry(text string, stdin bool) (announcement, bool, error) {
	t := strings.TrimLeft(text, blank)
	if stdin && (t == "" || t[0] == '#' || t[0] == ';') {
		return announcement{}, false, nil
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	var obj struct {
		Data *[]json.RawMessage `json:"data"`
	}
	if !strings.HasPrefix(t, "{") || dec.Decode(&obj) != nil {
		return announcement{}, false, errors.New(`not a JSON object {"data": [SERVICE, PORT]}`)
	}
	rest := strings.TrimLeft(t[dec.InputOffset():], blank)
	if rest != "" && !(stdin && (rest[0] == '#' || rest[0] == ';')) {
		return announcement{}, false, fmt.Errorf("%q follows the JSON object", rest)
	}
	if obj.Data == nil || len(*obj.Data) != 2 {
		return announcement{}, false, errors.New(`"data" is not [SERVICE, PORT]`)
	}
	var service string
	if err := json.Unmarshal((*obj.Data)[0], &service); err != nil {
		return announcement{}, false, errors.New("the service is not a JSON string")
	}
	raw := strings.TrimSpace(string((*obj.Data)[1]))
	port := raw
	if strings.HasPrefix(raw, `"`) {
		if err := json.Unmarshal([]byte(raw), &port); err != nil {
			return announcement{}, false, errors.New("invalid port number: not a JSON number or string")
		}
	}
	return makeAnnouncement(service, port)
}

// makeAnnouncement checks the service and reads the port: decimal 1..65535.
func makeAnnouncement(service, port string) (announcement, bool, error) {
	if service == "" {
		return announcement{}, false, errors.New("empty service name")
	}
	if err := grape.CheckService(service); err != nil {
		return announcement{}, false, err
	}
	n, err := parsePort(port, "port")
	if err != nil {
		return announcement{}, false, fmt.Errorf("invalid port number: %w", err)
	}
	return announcement{service, n}, true, nil
}
