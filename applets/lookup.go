package applets

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/urfave/cli/v2"

	"grenache/grape"
)

var lookupApplet = &applet{
	name:      "lookup",
	usage:     "print the peers (host:port) announced for a service",
	argsUsage: "SERVICE...",
	about: "Asks the grape for the peers that announced each SERVICE and prints one of them, at\n" +
		"random (-r, the default), the first (-f), the last (-l), or all of them on one line,\n" +
		"separated by spaces (-a). Each selector given prints its own line, in the order -a, -f,\n" +
		"-l, -r, whatever order they were given in. Every peer is checked before anything is\n" +
		"printed: host:port, with an IP address or host name and a port from 1 to 65535; an\n" +
		"answer with any other peer is an error and none of its peers is printed.\n" +
		"A SERVICE without peers gets a warning on standard error and nothing on standard output.",
	exitCodes: "exit codes: 0 a peer was printed for at least one SERVICE (the others are reported on\n" +
		"standard error), 1 failure (grape unreachable, an error or a malformed answer) and none\n" +
		"printed, 2 invalid usage or input (nothing sent), 3 no peer is announced for any SERVICE.\n",
	flags: func() []cli.Flag {
		return append(grapeFlags(),
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "print every peer, on one line, separated by spaces"},
			&cli.BoolFlag{Name: "first", Aliases: []string{"f"}, Usage: "print the first peer of the grape's answer"},
			&cli.BoolFlag{Name: "last", Aliases: []string{"l"}, Usage: "print the last peer of the grape's answer"},
			&cli.BoolFlag{Name: "random", Aliases: []string{"r"}, Usage: "print a peer picked at random (the default)"},
		)
	},
	run: runLookup,
}

// lookupSelectors are lookup's output selectors, in the order their lines are printed.
var lookupSelectors = []string{"all", "first", "last", "random"}

func runLookup(r *runCtx) error {
	if r.NArg() == 0 {
		return usagef("give at least one SERVICE")
	}
	services := r.Args().Slice()
	for _, s := range services {
		if err := grape.CheckService(s); err != nil {
			return usagef("%v", err)
		}
	}
	var selectors []string
	for _, s := range lookupSelectors {
		if r.Bool(s) {
			selectors = append(selectors, s)
		}
	}
	if len(selectors) == 0 {
		selectors = []string{"random"}
	}
	d, err := r.grapeOptions()
	if err != nil {
		return err
	}
	printed, failed := false, false
	for _, service := range services {
		ctx, cancel := d.context(context.Background())
		peers, err := grape.Peers(ctx, d.transport, service)
		cancel()
		if err != nil {
			failed = true
			err = d.explain(err)
			if errors.Is(err, grape.ErrPeer) {
				err = withHints(fmt.Errorf("lookup of service %q: %w", service, err), "nothing was printed for this service: the grape or a node it asked answered a malformed peer")
			} else {
				err = fmt.Errorf("lookup of service %q: %w", service, err)
			}
			report(r.prog, r.stderr, err)
			continue
		}
		if len(peers) == 0 {
			r.warnf("service %s not available.", service)
			continue
		}
		for _, s := range selectors {
			var line string
			switch s {
			case "all":
				line = strings.Join(peers, " ")
			case "first":
				line = peers[0]
			case "last":
				line = peers[len(peers)-1]
			case "random":
				line = peers[rand.IntN(len(peers))]
			}
			if _, err := fmt.Fprintln(r.stdout, line); err != nil {
				return err
			}
		}
		printed = true
	}
	switch {
	case printed:
		return nil
	case failed:
		return exitOnly(ExitFailure)
	}
	return exitOnly(ExitNotFound)
}
