//go:build integration

package applets

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdReadme writes the first ```sh block after the README's heading HEADING
// (any level) to FILE in the script's work folder, so that the script runs
// the example as the README gives it: readme HEADING FILE
func cmdReadme(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: readme HEADING FILE")
	}
	f, err := os.Open(filepath.Join("..", "README.md"))
	ts.Check(err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	var block []string
	found, in := false, false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !found:
			found = strings.HasPrefix(line, "#") && strings.TrimSpace(strings.TrimLeft(line, "#")) == args[0]
		case !in && line == "```sh":
			in = true
		case in && line == "```":
			ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(strings.Join(block, "\n")+"\n"), 0o644))
			return
		case in:
			block = append(block, line)
		}
	}
	ts.Check(sc.Err())
	ts.Fatalf("README.md has no ```sh block under a heading %q", args[0])
}
