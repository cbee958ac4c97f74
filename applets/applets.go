// Package applets holds grenache's command-line programs (keygen, put, get,
// lookup, announce, request), the registry that dispatches to them busybox style, their
// shared options, messages and exit codes. Only main.go calls os.Exit.
package applets

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
)

// applet is one program of the multi-call binary.
type applet struct {
	name      string
	usage     string
	argsUsage string
	about     string // a paragraph shown under the usage line of --help
	exitCodes string // the exit codes paragraph of --help; "" for networkExitCodes
	flags     func() []cli.Flag
	run       func(*runCtx) error
}

// registry lists every applet, in the order --help shows them. Kept literal so
// that a reader sees the whole program at a glance; TestRegistry refuses
// duplicates and checks that the Makefile installs a link for each.
var registry = []*applet{keygenApplet, putApplet, getApplet, lookupApplet, announceApplet, requestApplet}

func lookup(name string) *applet {
	for _, a := range registry {
		if a.name == name {
			return a
		}
	}
	return nil
}

// streams are the standard streams an applet uses instead of os.Std*, and the
// user's folders, resolved once.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	dirs           folders
}

// Main runs the applet named by the base name of args[0] (grenache-put) or,
// for the grenache binary itself, by args[1] (grenache put), and returns the
// exit code. Whatever ran, output that could not be written to stdout (a full
// disk, a closed pipe) is an error: exit 1.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	out := &outWriter{w: stdout}
	prog, code := dispatch(args, &streams{stdin, out, stderr, userFolders()})
	if out.err != nil && !out.err.reported {
		fmt.Fprintf(stderr, "%s: error: %v\n", prog, out.err)
		return ExitFailure
	}
	return code
}

// dispatch finds the applet and runs it; it returns the program name that
// messages start with and the exit code.
func dispatch(args []string, s *streams) (prog string, code int) {
	base := "grenache"
	if len(args) > 0 {
		base = filepath.Base(args[0])
		args = args[1:]
	}
	if name, ok := strings.CutPrefix(base, "grenache-"); ok {
		if a := lookup(name); a != nil {
			return base, a.main(base, args, s)
		}
		fmt.Fprintf(s.stderr, "%s: error: no applet %q in this grenache binary\n", base, name)
		listApplets(s.stderr)
		return base, ExitUsage
	}
	if len(args) == 0 {
		listApplets(s.stdout)
		return base, ExitOK
	}
	switch args[0] {
	case "help":
		// grenache help APPLET is grenache APPLET --help.
		if len(args) > 1 {
			if a := lookup(args[1]); a != nil {
				return "grenache " + a.name, a.main("grenache "+a.name, []string{"--help"}, s)
			}
			fmt.Fprintf(s.stderr, "grenache: error: unknown applet %q\n", args[1])
			listApplets(s.stderr)
			return base, ExitUsage
		}
		listApplets(s.stdout)
		return base, ExitOK
	case "-h", "--help", "-help":
		listApplets(s.stdout)
		return base, ExitOK
	case "-V", "--version", "-version":
		fmt.Fprintln(s.stdout, versionLine())
		return base, ExitOK
	}
	if a := lookup(args[0]); a != nil {
		return "grenache " + a.name, a.main("grenache "+a.name, args[1:], s)
	}
	if strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(s.stderr, "grenache: error: unknown option %s\n", args[0])
	} else {
		fmt.Fprintf(s.stderr, "grenache: error: unknown applet %q\n", args[0])
	}
	listApplets(s.stderr)
	return base, ExitUsage
}

// outWriter is standard output, remembering the first write error: every
// later write fails with it too, so that no output goes on after a gap.
type outWriter struct {
	w   io.Writer
	err *writeError
}

func (o *outWriter) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.w.Write(p)
	if err != nil {
		o.err = &writeError{err: err}
		return n, o.err
	}
	return n, nil
}

// writeError is a failed write to standard output. report marks it reported,
// so that Main does not report it twice.
type writeError struct {
	err      error
	reported bool
}

func (e *writeError) Error() string { return "cannot write to standard output: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// summary says what grenache does, in the applet list and the man pages.
const summary = "Stores and fetches signed items on the Grenache DHT, and finds, announces and calls services, through a grape"

func listApplets(w io.Writer) {
	fmt.Fprintf(w, "usage: grenache APPLET [OPTION]... [ARG]...\n"+
		"   or: grenache-APPLET [OPTION]... [ARG]...\n\n"+
		summary+".\n\napplets:\n")
	for _, a := range registry {
		fmt.Fprintf(w, "  %-9s %s\n", a.name, a.usage)
	}
	fmt.Fprintf(w, "\n'grenache APPLET --help' describes an applet; 'grenache --version' prints the version.\n")
}
