// Command gendocs writes grenache's man pages and shell completion scripts
// from the applets' own definitions (applets.Docs, what --help shows), at
// build time, so that the binary carries no documentation generator:
//
//	go run ./scripts/gendocs -out build -version v1.2.3
//
// It writes, for grenache and for each applet's link grenache-APPLET:
//
//	OUT/man/grenache.1, OUT/man/grenache-APPLET.1   man pages (roff, section 1)
//	OUT/bash/grenache, OUT/bash/grenache-APPLET     bash completion, one file per command name
//	OUT/zsh/_grenache                               zsh completion for every command name
//	OUT/fish/grenache.fish, grenache-APPLET.fish    fish completion, one file per command name
//
// bash and fish load a completion file by the command's name, hence one file
// per name; zsh reads the names from the #compdef line. The scripts complete
// applet names and options; they never run grenache.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"grenache/applets"
)

func main() {
	out := flag.String("out", "build", "folder to write man/, bash/, zsh/ and fish/ into")
	version := flag.String("version", "", "the version the man pages name")
	flag.Parse()
	if err := generate(applets.Docs(), *out, *version); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs: error:", err)
		os.Exit(1)
	}
}

// generate writes every file into out.
func generate(m applets.Manual, out, version string) error {
	files := map[string]string{
		"man/grenache.1":     manMain(m, version),
		"zsh/_grenache":      zsh(m),
		"bash/grenache":      bash(m),
		"fish/grenache.fish": fish(m, ""),
	}
	for _, a := range m.Applets {
		cmd := "grenache-" + a.Name
		files["man/"+cmd+".1"] = manApplet(m, a, version)
		files["bash/"+cmd] = bash(m)
		files["fish/"+cmd+".fish"] = fish(m, a.Name)
	}
	for name, text := range files {
		path := filepath.Join(out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}
