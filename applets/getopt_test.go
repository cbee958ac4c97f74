package applets

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNormalizeArgs runs the getopt-style pre-pass over put's options.
func TestNormalizeArgs(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		out       []string
		order     []string
		err       string // "": no error
		suggested string // the unknown option's suggestion
	}{
		{name: "bundle of booleans", args: []string{"-mt", "v"},
			out: []string{"-mutable", "-tls", "--", "v"}, order: []string{"mutable", "tls"}},
		{name: "short option with its value", args: []string{"-sfoo", "v"},
			out: []string{"-salt=foo", "--", "v"}, order: []string{"salt"}},
		{name: "bundle ending in an option that takes the next argument", args: []string{"-ms", "foo", "v"},
			out: []string{"-mutable", "-salt=foo", "--", "v"}, order: []string{"mutable", "salt"}},
		{name: "bundle ending in an option with its value", args: []string{"-mn5", "v"},
			out: []string{"-mutable", "-number=5", "--", "v"}, order: []string{"mutable", "number"}},
		{name: "long option=value keeps later equals signs", args: []string{"--salt=a=b", "v"},
			out: []string{"-salt=a=b", "--", "v"}, order: []string{"salt"}},
		{name: "long option=empty value", args: []string{"--salt=", "v"},
			out: []string{"-salt=", "--", "v"}, order: []string{"salt"}},
		{name: "long option then its value", args: []string{"--salt", "x", "v"},
			out: []string{"-salt=x", "--", "v"}, order: []string{"salt"}},
		{name: "options after operands", args: []string{"v1", "-m", "v2", "--port", "1", "v3"},
			out: []string{"-mutable", "-port=1", "--", "v1", "v2", "v3"}, order: []string{"mutable", "port"}},
		{name: "double dash ends the options", args: []string{"-m", "--", "-t", "--port", "--"},
			out: []string{"-mutable", "--", "-t", "--port", "--"}, order: []string{"mutable"}},
		{name: "lone dash is an operand", args: []string{"-", "-m"},
			out: []string{"-mutable", "--", "-"}, order: []string{"mutable"}},
		{name: "dash as a short option's value", args: []string{"-s", "-", "v"},
			out: []string{"-salt=-", "--", "v"}, order: []string{"salt"}},
		{name: "dash as a long option's value", args: []string{"--salt", "-"},
			out: []string{"-salt=-", "--"}, order: []string{"salt"}},
		{name: "double dash as an option's value", args: []string{"-s", "--", "v"},
			out: []string{"-salt=--", "--", "v"}, order: []string{"salt"}},
		{name: "negative-looking value of an option", args: []string{"-n", "-5", "v"},
			out: []string{"-number=-5", "--", "v"}, order: []string{"number"}},
		{name: "negative-looking operands after double dash", args: []string{"-n", "5", "--", "-1", "-m"},
			out: []string{"-number=5", "--", "-1", "-m"}, order: []string{"number"}},
		{name: "repeated option, in order, by its canonical name", args: []string{"-n", "1", "--number=2", "-c3"},
			out: []string{"-number=1", "-number=2", "-cas=3", "--"}, order: []string{"number", "number", "cas"}},
		{name: "help, long and short", args: []string{"--help", "-h"},
			out: []string{"-help", "-help", "--"}, order: []string{"help", "help"}},
		{name: "no arguments", args: nil, out: []string{"--"}},
		{name: "both forms of one option: the last wins", args: []string{"-s", "a", "--salt", "b", "v"},
			out: []string{"-salt=a", "-salt=b", "--", "v"}, order: []string{"salt", "salt"}},

		{name: "short option without its value", args: []string{"v", "-s"}, err: "option -s needs a value"},
		{name: "long option without its value", args: []string{"--salt"}, err: "option --salt needs a value"},
		{name: "bundle without its last value", args: []string{"-ms"}, err: "option -s needs a value"},
		{name: "unknown long option, misspelt", args: []string{"--mutabel"},
			err: "unknown option --mutabel", suggested: "--mutable"},
		{name: "unknown long option, a prefix", args: []string{"v", "--connect"},
			err: "unknown option --connect", suggested: "--connect-timeout"},
		{name: "unknown long option=value", args: []string{"--tiemout=5s"},
			err: "unknown option --tiemout", suggested: "--timeout"},
		{name: "unknown long option, nothing near", args: []string{"--frobnicate"},
			err: "unknown option --frobnicate"},
		{name: "unknown short option", args: []string{"-x"}, err: "unknown option -x"},
		{name: "unknown short option in a bundle", args: []string{"-mxt"}, err: "unknown option -x in -mxt"},
		{name: "long option with one dash", args: []string{"-mutabel"},
			err: "unknown option -u in -mutabel", suggested: "--mutable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, order, err := normalizeArgs(tt.args, putApplet.flags())
			if tt.err != "" {
				if err == nil {
					t.Fatalf("normalizeArgs(%q) = %q, want error %q", tt.args, out, tt.err)
				}
				if diff := cmp.Diff(tt.err, err.Error()); diff != "" {
					t.Errorf("error mismatch (-want +got):\n%s", diff)
				}
				var uo *unknownOption
				if errors.As(err, &uo) {
					if diff := cmp.Diff(tt.suggested, uo.suggestion); diff != "" {
						t.Errorf("suggestion mismatch (-want +got):\n%s", diff)
					}
				} else if exitCode(err) != ExitUsage || tt.suggested != "" {
					t.Errorf("error %v: exit code %d, want %d and an unknown option", err, exitCode(err), ExitUsage)
				}
				return
			}
			if err != nil {
				t.Fatalf("normalizeArgs(%q): %v", tt.args, err)
			}
			if diff := cmp.Diff(tt.out, out); diff != "" {
				t.Errorf("args mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.order, order); diff != "" {
				t.Errorf("order mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
