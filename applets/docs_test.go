package applets

import (
	"bytes"
	"strings"
	"testing"
)

// TestDocs checks that Docs describes every applet of the registry with what
// its --help shows: usage, each option with its placeholder, default and
// variable, and the exit codes.
func TestDocs(t *testing.T) {
	m := Docs()
	if len(m.Applets) != len(registry) {
		t.Fatalf("Docs has %d applets, the registry %d", len(m.Applets), len(registry))
	}
	var list bytes.Buffer
	listApplets(&list)
	if !strings.Contains(list.String(), m.Summary+".") {
		t.Errorf("grenache's applet list does not say %q", m.Summary)
	}
	for i, d := range m.Applets {
		a := registry[i]
		var out, errs bytes.Buffer
		if code := a.main("grenache-"+a.name, []string{"--help"}, &streams{stdout: &out, stderr: &errs}); code != 0 {
			t.Fatalf("%s --help: exit %d: %s", a.name, code, errs.String())
		}
		help := out.String()
		if d.Name != a.name || !strings.Contains(help, "\n"+d.Usage+".\n") || !strings.Contains(help, d.ExitCodes) {
			t.Errorf("%s: name, usage or exit codes differ from --help:\n%+v", a.name, d)
		}
		if d.ArgsUsage != "" && !strings.Contains(help, "[OPTION]... "+d.ArgsUsage+"\n") {
			t.Errorf("%s: operands %q not in --help", a.name, d.ArgsUsage)
		}
		lines := map[string]string{}
		for _, l := range strings.Split(help, "\n") {
			if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "--") {
				lines[strings.TrimSuffix(f[0], ",")] = l
			}
		}
		if len(d.Flags) != len(lines) {
			t.Errorf("%s: Docs has %d options, --help %d", a.name, len(d.Flags), len(lines))
		}
		for _, f := range d.Flags {
			l, ok := lines["--"+f.Names[0]]
			want := []string{f.Usage}
			if f.Value != "" {
				want = append(want, "--"+f.Names[0]+" "+f.Value)
			}
			if f.Default != "" {
				want = append(want, `(default: "`+f.Default+`")`)
			}
			for _, v := range f.EnvVars {
				want = append(want, "$"+v)
			}
			for _, n := range f.Names[1:] {
				want = append(want, "-"+n)
			}
			for _, w := range want {
				if !ok || !strings.Contains(l, w) {
					t.Errorf("%s --%s: --help line %q lacks %q", a.name, f.Names[0], l, w)
				}
			}
		}
	}
}
