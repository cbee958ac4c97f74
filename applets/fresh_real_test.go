//go:build integration

package applets

import (
	"testing"

	"grenache/grape/grapenet"
)

// TestFreshRealGrapes puts a mutable item through a real grape, then a newer
// version of it, and puts a proxy in front of the grape that replays the older
// answer, validly signed, with the real grape's token: get refuses it (exit 4,
// nothing printed) unless told to accept it.
func TestFreshRealGrapes(t *testing.T) {
	net := grapenet.Start(t, 2)
	e := setupHostile(t, net.Grapes[0].URL(), net.Grapes[0].URL())
	// The answer stored by setupHostile is seq 7, from the grape's peer over the
	// DHT; a newer version replaces it.
	if seq, token := fieldOf(e.answers[e.mut], "seq"), fieldOf(e.answers[e.mut], "token"); seq != "7" || token == "null" {
		t.Fatalf("the answer to replay has seq %s and token %s, want 7 and a token: %s", seq, token, e.answers[e.mut])
	}
	const newer = "the newer value"
	if code, _, errs := runMainT(t, "", "put", "-g", "127.0.0.1", "-p", portOf(t, net.Grapes[0].URL()), "-m", "-n", "10", newer); code != 0 {
		t.Fatalf("put the newer version: exit %d\n%s", code, errs)
	}
	getMut := []string{"get", e.mut}
	replay := e.answerOf(e.mut)
	cases := []hostileCase{
		{name: "untampered: the newer version", args: getMut, code: 0, stdout: newer + "\n"},
		{name: "the older version replayed", args: getMut, tamper: replay, code: 4,
			stderr: `error: the grape answered seq 7 for [0-9a-f]{40}, older than seq 10 already seen\n.*hint: .*replaying.*\n.*hint: .*--accept-lower-seq`},
		{name: "the older version replayed, raw", args: []string{"get", "-r", e.mut}, tamper: replay, code: 4, stderr: `older than seq 10 already seen`},
		{name: "the older version replayed, batch", args: []string{"get", "--batch"}, stdin: e.mut + "\n", tamper: replay, code: 4,
			stdout: `{"hash":"` + e.mut + `","error":"the grape answered seq 7 for ` + e.mut + `, older than seq 10 already seen","exit":4}` + "\n",
			stderr: `older than seq 10 already seen`},
		{name: "accepted on purpose but below --min-seq", args: []string{"get", "--accept-lower-seq", "--min-seq", "8", e.mut}, tamper: replay, code: 4,
			stderr: `older than --min-seq 8`},
		{name: "accepted on purpose", args: []string{"get", "--accept-lower-seq", e.mut}, tamper: replay, code: 0, stdout: mutValue + "\n",
			stderr: `warning: accepted seq 7 for [0-9a-f]{40}, older than seq 10 seen before; remembering 7`},
		{name: "the older version, remembered since", args: getMut, tamper: replay, code: 0, stdout: mutValue + "\n"},
		{name: "the newer version again", args: getMut, code: 0, stdout: newer + "\n"},
		{name: "the older version again", args: getMut, tamper: replay, code: 4, stderr: `older than seq 10 already seen`},
	}
	e.runHostile(t, cases)
}
