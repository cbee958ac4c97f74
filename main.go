// Command grenache stores and fetches signed items on the Grenache DHT. It is
// one binary for every applet: grenache-put, grenache-get and the others are
// links to it, or subcommands (grenache put).
package main

import (
	"os"

	"grenache/applets"
)

func main() {
	os.Exit(applets.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
