package applets

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/urfave/cli/v2"

	"grenache/bep44"
	"grenache/grape/dhtnode"
)

// put and get reach the DHT without a grape with --dht (package grape/dhtnode).
const (
	flagDHT = "dht"
	envDHT  = "GRENACHE_DHT"
)

// itemFlags are the network options of put and get: a grape's, and --dht.
func itemFlags() []cli.Flag {
	return append(grapeFlags(),
		&cli.StringFlag{Name: flagDHT, EnvVars: []string{envDHT},
			Usage: "no grape: be a DHT node for this command, starting from the nodes at `HOST:PORT,...` (UDP; a grape's DHT port)"})
}

// dhtNodes returns the addresses --dht (or GRENACHE_DHT) gives, nil without it. On the
// command line it cannot be given with a grape's options; from the environment it gives
// way to -g/--grape on the command line.
func (r *runCtx) dhtNodes() ([]string, error) {
	if !r.hasFlag(flagDHT) {
		return nil, nil
	}
	v, name := r.option(flagDHT, envDHT, "", "--dht")
	if v == "" {
		if slices.Contains(r.order, flagDHT) {
			return nil, usagef("--dht is empty: give the DHT nodes to start from, HOST:PORT,...")
		}
		return nil, nil
	}
	grapeOpts := []string{flagGrape, flagPort, flagTLS}
	given := slices.ContainsFunc(grapeOpts, func(f string) bool { return slices.Contains(r.order, f) })
	if given && name != "--dht" {
		return nil, nil // -g on the command line beats GRENACHE_DHT
	}
	if given {
		return nil, usagef("--dht takes the place of a grape: give it without -g/--grape, -p/--port and --tls")
	}
	addrs, err := checkGrapes(v, name)
	if err != nil {
		return nil, err
	}
	var nodes []string
	for _, a := range addrs {
		if a.port == 0 {
			return nil, usagef("%s %q: a DHT node is HOST:PORT (its UDP port; a grape's is its --dp)", name, a.host)
		}
		nodes = append(nodes, net.JoinHostPort(a.host, strconv.Itoa(a.port)))
	}
	return nodes, nil
}

// startDHT makes gc a DHT node starting from nodes.
func (gc *grapeClient) startDHT(nodes []string) error {
	ctx, cancel := gc.context(context.Background())
	defer cancel()
	n, err := dhtnode.Start(ctx, nodes)
	if err != nil {
		return withHints(err, "--dht takes HOST:PORT,... of DHT nodes: IP addresses, or names that resolve")
	}
	gc.transport, gc.dht, gc.where = n, n, n.Where()
	return nil
}

// checkItem refuses, before anything is sent, a put the transport cannot carry: over
// --dht, a value longer than BEP 44 allows (a bencoded 1000 bytes), which other nodes
// refuse, and cas 0, which the DHT library leaves out; a grape's limits were checked as
// the value was read.
func (gc *grapeClient) checkItem(it *bep44.Item, cas *int64) error {
	if gc.dht == nil {
		return nil
	}
	if err := bep44.CheckBEPValue(it.V); err != nil {
		return usagef("%v (over --dht, BEP 44's limit)", err)
	}
	if cas != nil && *cas == 0 {
		return usagef("--cas 0 cannot be sent over --dht (the DHT library leaves a cas of 0 out): use a grape")
	}
	return nil
}

// explainDHT words the errors of a DHT node's own, for explain; nil for the others.
func (gc *grapeClient) explainDHT(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return withCode(ExitFailure, fmt.Errorf("no answer from the DHT (started from %s) within %s", gc.where, gc.timeout),
			"a slow network may need a longer --timeout")
	case errors.Is(err, dhtnode.ErrNoAnswer):
		return withHints(err, "is a DHT node listening at those UDP ports? a grape's DHT port is its --dp, not its HTTP API port")
	case errors.Is(err, dhtnode.ErrNotStored):
		return withHints(err, "the nodes that answered did not take the item; a grape, or other nodes with --dht, may")
	}
	return nil
}
