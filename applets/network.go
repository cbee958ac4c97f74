package applets

import (
	"cmp"
	"context"
	"net"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"grenache/grape"
	"grenache/grape/dhtnode"
)

// Names of the options every network applet takes, and their environment variables.
const (
	flagGrape          = "grape"
	flagPort           = "port"
	flagTLS            = "tls"
	flagTimeout        = "timeout"
	flagConnectTimeout = "connect-timeout"

	envGrape          = "GRENACHE_GRAPE"
	envPort           = "GRENACHE_PORT"
	envTLS            = "GRENACHE_TLS"
	envTimeout        = "GRENACHE_TIMEOUT"
	envConnectTimeout = "GRENACHE_CONNECT_TIMEOUT"

	defaultGrape          = "127.0.0.1"
	defaultPort           = "30002"
	defaultTimeout        = "10s"
	defaultConnectTimeout = "5s"
)

// grapeFlags are the options of every applet that talks to a grape. Numbers and
// durations are strings, read by option and parsed in values.go: urfave's integer
// flags accept octal (010 = 8) and hexadecimal, which the original's users never
// meant, and as cli.Generic values urfave would word their errors itself ("could
// not parse ... from environment variable ..."), parse a variable the command
// line overrides, and refuse even --help over a bad one.
func grapeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagGrape, Aliases: []string{"g"}, Value: defaultGrape, EnvVars: []string{envGrape},
			Usage: "grape `HOST` (name or IP address), or several: HOST[:PORT],... (tried in turn)"},
		&cli.StringFlag{Name: flagPort, Aliases: []string{"p"}, Value: defaultPort, EnvVars: []string{envPort},
			Usage: "grape HTTP API `PORT`"},
		&cli.BoolFlag{Name: flagTLS, Aliases: []string{"t"}, EnvVars: []string{envTLS},
			Usage: "talk to the grape over HTTPS"},
		&cli.StringFlag{Name: flagTimeout, Value: defaultTimeout, EnvVars: []string{envTimeout},
			Usage: "give up after `DURATION` in all (e.g. 10s, 500ms, or seconds: 2.5)"},
		&cli.StringFlag{Name: flagConnectTimeout, Value: defaultConnectTimeout, EnvVars: []string{envConnectTimeout},
			Usage: "give up connecting after `DURATION`"},
	}
}

// option returns a string option's value and what to call it in messages:
// what, when it was given on the command line, else its environment variable
// env when that is set and not empty, else def. An empty variable counts as
// unset, as it does for GRENACHE_TLS.
func (r *runCtx) option(flag, env, def, what string) (value, name string) {
	if slices.Contains(r.order, flag) {
		return r.String(flag), what
	}
	if v := os.Getenv(env); v != "" {
		return v, env
	}
	return def, what
}

// grapeClient reaches a grape, or several: its transport, the timeouts, and host:port
// for messages.
type grapeClient struct {
	transport grape.Transport // a *grape.HTTP for one grape, a *grape.Multi for several, a DHT node
	dht       *dhtnode.Node   // the DHT node, with --dht; nil with grapes
	timeout   time.Duration   // for each operation
	connect   time.Duration   // for each connection
	where     string          // host:port of the one grape, for messages; errors from several name theirs
	jobs      int             // with --batch, requests in flight at once; 0 for a single request
}

// grapeOptions reads and checks the common network options.
func (r *runCtx) grapeOptions() (*grapeClient, error) {
	nodes, err := r.dhtNodes()
	if err != nil {
		return nil, err
	}
	timeout, terr := parseDuration(r.option(flagTimeout, envTimeout, defaultTimeout, "--timeout"))
	connect, cerr := parseDuration(r.option(flagConnectTimeout, envConnectTimeout, defaultConnectTimeout, "--connect-timeout"))
	var addrs []grapeAddr
	var herr, perr error
	var port int
	if nodes == nil {
		addrs, herr = checkGrapes(r.option(flagGrape, envGrape, defaultGrape, "grape host"))
		port, perr = parsePort(r.option(flagPort, envPort, defaultPort, "port"))
	}
	if err := cmp.Or(herr, perr, terr, cerr); err != nil { // the first, in this order
		return nil, err
	}
	pool := 0 // one request per process: a connection of its own, no pool
	if r.Bool(flagBatch) {
		if pool, err = parseJobs(r.String(flagJobs)); err != nil {
			return nil, err
		}
	}
	gc := &grapeClient{timeout: timeout, connect: connect, jobs: pool}
	if nodes != nil {
		return gc, gc.startDHT(nodes)
	}
	var grapes []*grape.HTTP
	for _, a := range addrs {
		p := cmp.Or(a.port, port)
		grapes = append(grapes, grape.NewHTTP(a.host, p, r.Bool(flagTLS), connect, userAgent(), pool))
		gc.where = net.JoinHostPort(a.host, strconv.Itoa(p))
	}
	if len(grapes) == 1 {
		gc.transport = grapes[0]
	} else {
		// A batch spreads its items over the grapes; one request goes to the first
		// grape that can be reached.
		gc.transport = &grape.Multi{Grapes: grapes, Rotate: r.Bool(flagBatch)}
	}
	return gc, nil
}

// close stops what gc started: the DHT node, if any.
func (gc *grapeClient) close() {
	if gc.dht != nil {
		gc.dht.Close()
	}
}

// context bounds one operation by --timeout.
func (gc *grapeClient) context(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, gc.timeout)
}
