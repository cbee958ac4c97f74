package applets

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"
)

// flagVersion replaces urfave's -v/--version, since -v is get's --value (as in the original).
const flagVersion = "version"

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
	flags := a.allFlags()
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
3 not found, 4 verification failed or an older version than one seen (nothing printed),
5 conflict (CAS mismatch or sequence number not newer: read again and retry).
`

// lastOf returns which of names was given last on the command line, or def.
func (r *runCtx) lastOf(def string, names ...string) string {
	for i := len(r.order) - 1; i >= 0; i-- {
		if slices.Contains(names, r.order[i]) {
			return r.order[i]
		}
	}
	return def
}

// allFlags are the applet's options as urfave/cli gets them (it adds --help):
// the applet's own and --version.
func (a *applet) allFlags() []cli.Flag {
	return append(a.flags(), &cli.BoolFlag{Name: flagVersion, Aliases: []string{"V"}, Usage: "print the version and exit"})
}

// exitText is the exit codes paragraph of the applet's --help.
func (a *applet) exitText() string { return cmp.Or(a.exitCodes, networkExitCodes) }
