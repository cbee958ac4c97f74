package applets

import (
	"strconv"
	"strings"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/rogpeppe/go-internal/testscript"

	"grenache/grape/dhtnode/dhttest"
)

// cmdDHTNodes starts N real DHT nodes (the anacrolix/dht server) that know each other,
// for the script's life, and sets VAR to their addresses, comma separated:
// dhtnodes VAR N
func cmdDHTNodes(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: dhtnodes VAR N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	nw, err := dhttest.Start(n)
	ts.Check(err)
	ts.Defer(nw.Close)
	ts.Setenv(args[0], strings.Join(nw.Addrs(), ","))
}

// cmdDHTGarbage starts a node that answers every query with a message that is not
// bencode, holding terminal escapes, and sets VAR to its address: dhtgarbage VAR
func cmdDHTGarbage(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: dhtgarbage VAR")
	}
	f, err := dhttest.NewRawFake(func(*krpc.Msg) []byte { return []byte("d1:rd2:id20:\x1b]0;pwned\x07\x1b[2Jxxxxxx1:v5:goode") })
	ts.Check(err)
	ts.Defer(f.Close)
	ts.Setenv(args[0], f.Addr())
}
