package applets

import (
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"grenache/applets/state"
	"grenache/keystore"
)

// Manual is what generated documentation (man pages, shell completion; see
// scripts/gendocs) says about grenache: the applets of the registry, from the
// very definitions --help shows. The program itself never calls Docs, so the
// linker leaves all of this out of the binary.
type Manual struct {
	Summary     string      // one sentence: what grenache does
	Applets     []AppletDoc // in the registry's order
	Environment []DocItem   // variables read besides the options' own
	Files       []DocItem
}

// AppletDoc describes one applet.
type AppletDoc struct {
	Name      string // keygen: run as grenache keygen or grenache-keygen
	Usage     string // one line, without a final period
	ArgsUsage string // the operands, after [OPTION]...
	About     string // paragraphs separated by blank lines; may be ""
	ExitCodes string // the exit codes paragraph, without "exit codes: "
	Flags     []FlagDoc
}

// FlagDoc describes one option, as --help shows it.
type FlagDoc struct {
	Names   []string // without dashes, the long name first
	Value   string   // the value's placeholder (HOST), "" for a switch
	Usage   string   // with the placeholder in place
	Default string   // "" when none is shown
	EnvVars []string
}

// DocItem is a variable or a file and what it is for.
type DocItem struct{ Name, Text string }

// Docs returns the manual of every applet in the registry.
func Docs() Manual {
	m := Manual{
		Summary: summary,
		Environment: []DocItem{
			{"XDG_CONFIG_HOME", "the key pairs are in $XDG_CONFIG_HOME/grenache (default: $HOME/.config/grenache); only an absolute path counts"},
			{"XDG_STATE_HOME", "the state is in $XDG_STATE_HOME/grenache (default: $HOME/.local/state/grenache); only an absolute path counts"},
			{"HOME", "the fallback of both, and where the original grenache-cli kept its key pair"},
		},
		Files: []DocItem{
			{"$XDG_CONFIG_HOME/grenache/key", "the default key pair (\"" + keystore.DefaultName + "\"), mode 0600: it signs your mutable items"},
			{"$XDG_CONFIG_HOME/grenache/key.NAME", "a named key pair (keygen --name NAME, put --key-name NAME)"},
			{"$XDG_CONFIG_HOME/grenache/key[.NAME].bak.TIME", "a pair replaced by keygen --force"},
			{"$HOME/.grenache-cli/key, key.pub", "the original grenache-cli's key pair (\"" + keystore.LegacyName + "\"): read, never written; it signs when there is no default pair"},
			{"$XDG_STATE_HOME/grenache/" + state.SeqFile, "the highest sequence number seen or stored per mutable item, one \"HASH SEQ\" line each"},
		},
	}
	for _, a := range registry {
		d := AppletDoc{
			Name:      a.name,
			Usage:     a.usage,
			ArgsUsage: a.argsUsage,
			About:     a.about,
			ExitCodes: strings.TrimSpace(strings.TrimPrefix(a.exitText(), "exit codes: ")),
		}
		// As applet.main gives them to urfave, which adds --help.
		for _, f := range append(a.allFlags(), cli.HelpFlag) {
			if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
				continue // another spelling of a shown flag (see shownFlag)
			}
			d.Flags = append(d.Flags, flagDoc(f))
		}
		m.Applets = append(m.Applets, d)
	}
	return m
}

func flagDoc(f cli.Flag) FlagDoc {
	d := FlagDoc{Names: f.Names()}
	if s, ok := f.(*shownFlag); ok {
		d.Names = append(d.Names, s.short)
	}
	g, ok := f.(cli.DocGenerationFlag)
	if !ok {
		return d
	}
	d.EnvVars = g.GetEnvVars()
	d.Value, d.Usage = unquoteUsage(g.GetUsage())
	if g.TakesValue() {
		if d.Value == "" {
			d.Value = "value" // as --help says
		}
		d.Default = g.GetDefaultText()
		if d.Default == "" {
			d.Default = g.GetValue()
		}
		if u, err := strconv.Unquote(d.Default); err == nil {
			d.Default = u
		}
	} else {
		d.Value = ""
	}
	return d
}

// unquoteUsage splits a usage text into the placeholder between its first
// pair of backquotes and the text without them, as urfave's help does.
func unquoteUsage(usage string) (value, text string) {
	before, rest, ok := strings.Cut(usage, "`")
	if !ok {
		return "", usage
	}
	value, after, ok := strings.Cut(rest, "`")
	if !ok {
		return "", usage
	}
	return value, before + value + after
}
