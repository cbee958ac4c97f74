// Package applets holds grenache's command-line programs (keygen, put, get),
// the registry that dispatches to them busybox style, their shared options,
// messages and exit codes. Only main.go calls os.Exit.
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
	flags     func() []cli.Flag
	run       func(*runCtx) error
}

// registry lists every applet, in the order --help shows them. Kept literal so
// that a reader sees the whole program at a glance; TestRegistry refuses
// duplicates and checks that the Makefile installs a link for each.
var registry = []*applet{keygenApplet, putApplet, getApplet}

func lookup(name string) *applet {
	for _, a := range registry {
		if a.name == name {
			return a
		}
	}
	return nil
}

// streams are the standard streams an applet uses instead of os.Std*.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// Main runs the applet named by the base name of args[0] (grenache-put) or,
// for the grenache binary itself, by args[1] (grenache put), and returns the
// exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := &streams{stdin, stdout, stderr}
	base := "grenache"
	if len(args) > 0 {
		base = filepath.Base(args[0])
		args = args[1:]
	}
	if name, ok := strings.CutPrefix(base, "grenache-"); ok {
		if a := lookup(name); a != nil {
			return a.main(base, args, s)
		}
		fmt.Fprintf(stderr, "%s: error: no applet %q in this grenache binary\n", base, name)
		listApplets(stderr)
		return ExitUsage
	}
	if len(args) == 0 {
		listApplets(stdout)
		return ExitOK
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		listApplets(stdout)
		return ExitOK
	case "-V", "--version", "-version":
		fmt.Fprintln(stdout, versionLine())
		return ExitOK
	}
	if a := lookup(args[0]); a != nil {
		return a.main("grenache "+a.name, args[1:], s)
	}
	if strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "grenache: error: unknown option %q\n", args[0])
	} else {
		fmt.Fprintf(stderr, "grenache: error: unknown applet %q\n", args[0])
	}
	listApplets(stderr)
	return ExitUsage
}

func listApplets(w io.Writer) {
	fmt.Fprintf(w, "usage: grenache APPLET [OPTION]... [ARG]...\n"+
		"   or: grenache-APPLET [OPTION]... [ARG]...\n\n"+
		"Stores and fetches signed items on the Grenache DHT through a grape.\n\napplets:\n")
	for _, a := range registry {
		fmt.Fprintf(w, "  %-8s %s\n", a.name, a.usage)
	}
	fmt.Fprintf(w, "\n'grenache APPLET --help' describes an applet; 'grenache --version' prints the version.\n")
}
