//go:build integration

package applets

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"grenache/grape/grapenet"
	"grenache/keystore"
)

// TestIntegration runs testdata/integration/*.txt against two real grapes
// (scripts/grape.js): GRAPE1_PORT and GRAPE2_PORT are their API ports. Each
// script has its own HOME and configuration folder, so its own keys; the
// grapes are shared. If the grapes cannot start, the test fails.
func TestIntegration(t *testing.T) { runIntegration(t, "testdata/integration") }

// TestIntegrationDHT runs testdata/integration_dht/*.txt, the scripts that use --dht
// (GRAPE1_DHT and GRAPE2_DHT are the grapes' DHT ports), against grapes of their own.
// Each --dht command's node stays in the grapes' routing tables after it exits, and
// the grapes' own lookups wait for it to time out (2 s a node): sharing the grapes,
// the other scripts' puts and gets ran past their 10 s --timeout.
func TestIntegrationDHT(t *testing.T) { runIntegration(t, "testdata/integration_dht") }

// runIntegration runs the scripts in dir against two real grapes started for them.
func runIntegration(t *testing.T, dir string) {
	net := grapenet.Start(t, 2)
	testscript.Run(t, testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"envfile":    cmdEnvFile,
			"exits":      cmdExits,
			"getfile":    cmdGetFile,
			"grapejq":    cmdGrapeJq,
			"nodeworker": cmdNodeWorker(net),
			"oddkey":     cmdOddKey,
			"readme":     cmdReadme,
			"repeat":     cmdRepeat,
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("GRENACHE_GRAPE", "127.0.0.1")
			env.Setenv("GRAPE1_PORT", strconv.Itoa(net.Grapes[0].APIPort))
			env.Setenv("GRAPE2_PORT", strconv.Itoa(net.Grapes[1].APIPort))
			env.Setenv("GRAPE1_DHT", "127.0.0.1:"+strconv.Itoa(net.Grapes[0].DHTPort))
			env.Setenv("GRAPE2_DHT", "127.0.0.1:"+strconv.Itoa(net.Grapes[1].DHTPort))
			env.Setenv("GRENACHE_PORT", strconv.Itoa(net.Grapes[0].APIPort))
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "config"))
			return nil
		},
	})
}

// cmdOddKey writes a key pair to $XDG_CONFIG_HOME/grenache/key whose public
// key contains a 0x00 byte and ends with 0x0a: the keys that broke the
// original tool's string handling. The seed is searched deterministically.
func cmdOddKey(ts *testscript.TestScript, neg bool, args []string) {
	for i := uint64(0); ; i++ {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], i)
		seed := sha256.Sum256(n[:])
		pub := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
		if pub[31] != 0x0a || !bytes.Contains(pub[:31], []byte{0}) {
			continue
		}
		dir := filepath.Join(ts.Getenv("XDG_CONFIG_HOME"), "grenache")
		ts.Check(os.MkdirAll(dir, 0o700))
		pair := &keystore.Pair{Public: pub, Private: seed[:], Kind: keystore.KindSeed, Created: time.Unix(0, 0).UTC()}
		ts.Check(os.WriteFile(filepath.Join(dir, "key"), keystore.Encode(pair), 0o600))
		ts.Logf("odd key: public %x", pub)
		return
	}
}

// jqCovered keeps the fields of a grape's answer that get -r prints: id, token and v,
// and for a mutable item (one with k or sig) k, sig, seq and salt.
const jqCovered = `(if has("k") or has("sig") then ["id","token","v","k","sig","seq","salt"] else ["id","token","v"] end) as $keep` +
	` | with_entries(select(.key as $k | any($keep[]; . == $k)))`

// cmdGrapeJq asks the grape at 127.0.0.1:PORT for the item whose hash is in FILE, with
// SALT if given, as get does, and runs the answer through jq -cM keeping the fields get -r
// prints: what the original printed for get -r, less what no check covers. Its output is
// stdout, as for exec: grapejq PORT FILE [SALT]
func cmdGrapeJq(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: grapejq PORT FILE [SALT]")
	}
	jq, err := exec.LookPath("jq")
	if err != nil {
		ts.Fatalf("jq is not installed, and grapejq needs it: %v\nhint: apt-get install jq (as root, `make deps` does it)", err)
	}
	data := map[string]string{"hash": strings.TrimSpace(ts.ReadFile(args[1]))}
	if len(args) == 3 {
		data["salt"] = args[2]
	}
	req, err := json.Marshal(map[string]any{"rid": "grapejq", "data": data})
	ts.Check(err)
	resp, err := http.Post("http://127.0.0.1:"+args[0]+"/get", "application/json", bytes.NewReader(req))
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	if resp.StatusCode != http.StatusOK || len(body) == 0 || body[0] != '{' {
		ts.Fatalf("grapejq: the grape answered HTTP %d: %q", resp.StatusCode, body)
	}
	ts.Logf("grape's answer: %s", body)
	answer := ts.MkAbs("grapejq-answer.json")
	ts.Check(os.WriteFile(answer, body, 0o644))
	ts.Check(ts.Exec(jq, "-cM", jqCovered, answer))
}

// cmdNodeWorker starts scripts/worker.js (grenache-nodejs-http) named NAME for SERVICE,
// announcing through the first grape, waits until both grapes find it, sets VAR to its
// HOST:PORT and stops it, by its PID, when the script ends: nodeworker VAR SERVICE NAME
func cmdNodeWorker(net *grapenet.Net) func(*testscript.TestScript, bool, []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 3 {
			ts.Fatalf("usage: nodeworker VAR SERVICE NAME")
		}
		w, err := net.LaunchWorker(net.Grapes[0], args[1], args[2])
		ts.Check(err)
		ts.Defer(func() { ts.Check(w.Stop()) })
		ts.Setenv(args[0], w.Addr)
	}
}
