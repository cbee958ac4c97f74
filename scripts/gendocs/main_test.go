package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"grenache/applets"
)

func generateAll(t *testing.T) (applets.Manual, string) {
	t.Helper()
	m, dir := applets.Docs(), t.TempDir()
	if err := generate(m, dir, "v0-test"); err != nil {
		t.Fatal(err)
	}
	return m, dir
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var sections = []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT", "EXIT STATUS", "FILES"}

// TestManPages checks that each applet's page has every section, each of its
// options by every name, and each variable and file; and grenache(1) names
// every applet. Where groff is installed, it must format every page without
// a warning.
func TestManPages(t *testing.T) {
	m, dir := generateAll(t)
	pages := map[string]string{"grenache.1": read(t, filepath.Join(dir, "man", "grenache.1"))}
	for _, a := range m.Applets {
		if !strings.Contains(pages["grenache.1"], `\fB`+roff(a.Name)+`\fR`) {
			t.Errorf("grenache.1 does not list %s", a.Name)
		}
		name := "grenache-" + a.Name + ".1"
		page := read(t, filepath.Join(dir, "man", name))
		pages[name] = page
		if !strings.HasPrefix(strings.SplitN(page, "\n.SH NAME\n", 2)[1], roff("grenache-"+a.Name+" - "+a.Usage)+"\n") {
			t.Errorf("%s: NAME line is not %q", name, a.Usage)
		}
		options := section(page, "OPTIONS")
		for _, f := range a.Flags {
			for _, n := range f.Names {
				dashed := "-" + n
				if len(n) > 1 {
					dashed = "-" + dashed
				}
				if !strings.Contains(options, `\fB`+roff(dashed)+`\fR`) {
					t.Errorf("%s: OPTIONS lacks %s", name, dashed)
				}
			}
			if !strings.Contains(options, roff(sentence(f.Usage))) {
				t.Errorf("%s: OPTIONS lacks the text of --%s", name, f.Names[0])
			}
			for _, v := range f.EnvVars {
				if !strings.Contains(section(page, "ENVIRONMENT"), `\fB`+roff(v)+`\fR`) {
					t.Errorf("%s: ENVIRONMENT lacks %s", name, v)
				}
			}
		}
		if !strings.Contains(section(page, "EXIT STATUS"), roff(strings.TrimSuffix(a.ExitCodes, ".")[1:])) {
			t.Errorf("%s: EXIT STATUS is not the applet's exit codes", name)
		}
	}
	for name, page := range pages {
		for _, s := range sections {
			if !strings.Contains(page, "\n.SH "+s+"\n") {
				t.Errorf("%s has no %s section", name, s)
			}
		}
		for _, f := range m.Files {
			if !strings.Contains(section(page, "FILES"), roff(f.Name)) {
				t.Errorf("%s: FILES lacks %s", name, f.Name)
			}
		}
	}
	if _, err := exec.LookPath("groff"); err != nil {
		t.Log("groff is not installed: the pages were not formatted")
		return
	}
	for name := range pages {
		out, err := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z", filepath.Join(dir, "man", name)).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff %s: %v\n%s", name, err, out)
		}
	}
}

// section is the text of a man page's section, up to the next one.
func section(page, name string) string {
	_, rest, _ := strings.Cut(page, "\n.SH "+name+"\n")
	text, _, _ := strings.Cut(rest, "\n.SH ")
	return text
}

// TestBash checks that each bash file parses and completes, for grenache
// APPLET and for grenache-APPLET, the applet names and every option.
func TestBash(t *testing.T) {
	m, dir := generateAll(t)
	complete := func(file string, words ...string) []string {
		t.Helper()
		script := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _grenache; printf '%s\n' "${COMPREPLY[@]}"`
		out, err := exec.Command("bash", append([]string{"-c", script, "bash", file}, words...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("bash %v: %v\n%s", words, err, out)
		}
		return strings.Fields(string(out))
	}
	main := filepath.Join(dir, "bash", "grenache")
	if out, err := exec.Command("bash", "-n", main).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	got := complete(main, "grenache", "")
	for _, a := range m.Applets {
		if !slices.Contains(got, a.Name) {
			t.Errorf("grenache <TAB> offers %v, not %s", got, a.Name)
		}
		link := filepath.Join(dir, "bash", "grenache-"+a.Name)
		if read(t, link) != read(t, main) {
			t.Errorf("bash/grenache-%s differs from bash/grenache", a.Name)
		}
		want, valued := optionWords(a)
		for _, words := range [][]string{{"grenache", a.Name, "-"}, {"grenache-" + a.Name, "-"}} {
			if diff := strings.Join(complete(link, words...), " "); diff != strings.Join(want, " ") {
				t.Errorf("%v <TAB> offers %s, want %s", words, diff, strings.Join(want, " "))
			}
		}
		for _, v := range valued {
			if got := complete(link, "grenache-"+a.Name, v, "-"); len(got) != 0 {
				t.Errorf("the value of %s %s completes to options %v", a.Name, v, got)
			}
		}
	}
	if got := complete(main, "grenache", "help", ""); len(got) != len(m.Applets) {
		t.Errorf("grenache help <TAB> offers %v", got)
	}
}

// TestZshFish checks that the zsh and fish files parse, and that fish
// completes every option, where those shells are installed.
func TestZshFish(t *testing.T) {
	m, dir := generateAll(t)
	zsh := read(t, filepath.Join(dir, "zsh", "_grenache"))
	for _, a := range m.Applets {
		if !strings.Contains(strings.SplitN(zsh, "\n", 2)[0], " grenache-"+a.Name) {
			t.Errorf("the #compdef line does not name grenache-%s", a.Name)
		}
	}
	if _, err := exec.LookPath("zsh"); err == nil {
		if out, err := exec.Command("zsh", "-n", filepath.Join(dir, "zsh", "_grenache")).CombinedOutput(); err != nil {
			t.Errorf("zsh -n: %v\n%s", err, out)
		}
	} else {
		t.Log("zsh is not installed: _grenache was not parsed")
	}
	if _, err := exec.LookPath("fish"); err != nil {
		t.Log("fish is not installed: its files were not parsed")
		return
	}
	for _, a := range m.Applets {
		for _, cmd := range []string{"grenache", "grenache-" + a.Name} {
			file := filepath.Join(dir, "fish", cmd+".fish")
			line := cmd + " --"
			if cmd == "grenache" {
				line = "grenache " + a.Name + " --"
			}
			out, err := exec.Command("fish", "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, file, line).CombinedOutput()
			if err != nil {
				t.Fatalf("fish %s: %v\n%s", file, err, out)
			}
			for _, f := range a.Flags {
				if !strings.Contains(string(out), "--"+f.Names[0]+"\t") {
					t.Errorf("fish: %q <TAB> lacks --%s:\n%s", line, f.Names[0], out)
				}
			}
		}
	}
}
