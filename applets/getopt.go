package applets

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

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
	add := func(name, value string, hasValue bool) { // name is known
		// Canonical names: urfave/cli refuses two forms of one option (-s a --salt b),
		// where getopt lets the last one win.
		name = canon[name]
		order = append(order, name)
		if hasValue {
			name += "=" + value
		}
		out = append(out, "-"+name)
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
		if known {
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
