// Command grapes starts a local network of grapes (scripts/grape.js) on free
// loopback ports and keeps it until it is told to stop.
//
//	go run ./scripts/grapes [-n N] [-logs DIR]
//
// Run it from the repository root. It installs the grapes' Node packages
// when they are missing (npm ci from scripts/package-lock.json), starts N
// grapes (default 2) that bootstrap to each other only, waits until they are
// connected, and prints shell assignments on standard output:
//
//	GRAPE1_PORT=41235
//	GRAPE2_PORT=40113
//	GRENACHE_PORT=41235
//
// then closes standard output, so that a script can read up to its end
// (under `go run`, which keeps its own standard output open, read up to the
// GRENACHE_PORT line instead). It
// stops the grapes, by their PIDs, on SIGINT (Ctrl-C), SIGTERM or SIGHUP, and
// when its standard input is a pipe that closes: a script that runs it as a
// coprocess (scripts/demo.sh) stops it by closing that pipe, or by exiting.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"grenache/grape/grapenet"
)

func main() {
	os.Exit(run())
}

func run() int {
	n := flag.Int("n", 2, "number of grapes")
	logs := flag.String("logs", "", "folder for the grapes' logs (default: a temporary folder, removed at the end)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./scripts/grapes [-n N] [-logs DIR]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 || *n < 1 {
		flag.Usage()
		return 2
	}
	if *logs != "" {
		if err := os.MkdirAll(*logs, 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "grapes: error: %v\n", err)
			return 1
		}
	}

	// Caught from the start: a signal during the start stops what started.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)

	net, err := grapenet.Launch(*n, grapenet.Options{Dir: *logs, Install: true, InstallOutput: os.Stderr})
	if err != nil {
		fmt.Fprintf(os.Stderr, "grapes: error: %v\n", err)
		return 1
	}
	for i, g := range net.Grapes {
		fmt.Printf("GRAPE%d_PORT=%d\n", i+1, g.APIPort)
	}
	fmt.Printf("GRENACHE_PORT=%d\n", net.Grapes[0].APIPort)
	os.Stdout.Close()
	for i, g := range net.Grapes {
		fmt.Fprintf(os.Stderr, "grapes: grape %d: pid %d, API http://127.0.0.1:%d, DHT udp 127.0.0.1:%d\n", i+1, g.Pid(), g.APIPort, g.DHTPort)
	}
	fmt.Fprintf(os.Stderr, "grapes: logs in %s\n", net.Dir())
	fmt.Fprintf(os.Stderr, "grapes: use them from another shell: export GRENACHE_PORT=%d\n", net.Grapes[0].APIPort)

	stdinClosed := make(chan struct{})
	if watchStdin() {
		fmt.Fprintf(os.Stderr, "grapes: Ctrl-C or closing standard input stops them\n")
		go func() {
			io.Copy(io.Discard, os.Stdin)
			close(stdinClosed)
		}()
	} else {
		fmt.Fprintf(os.Stderr, "grapes: Ctrl-C stops them\n")
	}

	select {
	case s := <-sig:
		fmt.Fprintf(os.Stderr, "grapes: %v: stopping the grapes\n", s)
	case <-stdinClosed:
		fmt.Fprintf(os.Stderr, "grapes: standard input closed: stopping the grapes\n")
	}
	if err := net.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "grapes: error: %v\n", err)
		return 1
	}
	return 0
}

// watchStdin: only a pipe or a socket on standard input is a way to stop.
// A terminal is not (reading it from the background would suspend us), nor
// /dev/null, which a shell gives a background job and which ends at once.
func watchStdin() bool {
	st, err := os.Stdin.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0
}
