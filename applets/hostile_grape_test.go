//go:build integration

package applets

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"grenache/bep44"
	"grenache/grape/grapenet"
)

// TestHostileRealGrapes runs some of the cases with a proxy in front of a real grape, to
// show that the tampering works on real answers too. Items are stored and fetched
// through the first grape, which keeps mutable items on its peer only: their answers come
// over the DHT, with the peer's token, and a salted one with its salt.
func TestHostileRealGrapes(t *testing.T) {
	net := grapenet.Start(t, 2)
	e := setupHostile(t, net.Grapes[0].URL(), net.Grapes[0].URL())
	for _, h := range []string{e.mut, e.salted} {
		if fieldOf(e.answers[h], "token") == "null" {
			t.Fatalf("the answer for %s did not come over the DHT: %s", h, e.answers[h])
		}
	}
	if fieldOf(e.answers[e.salted], "salt") != jsonQuote(theSalt) {
		t.Fatalf("the salted answer has no salt: %s", e.answers[e.salted])
	}
	for _, h := range []string{e.imm, e.mut, e.salted} {
		t.Logf("real answer for %s: %s", h, e.answers[h])
	}
	getImm := []string{"get", e.imm}
	getMut := []string{"get", e.mut}
	getSalted := []string{"get", "--salt", theSalt, e.salted}
	putImm := []string{"put", immValue}
	// A salted item of its own, put through the proxy only.
	const putSaltValue = "put through the proxy"
	putSalted := []string{"put", "-m", "-s", "proxied", putSaltValue}
	var hugeWritten atomic.Int64

	cases := []hostileCase{
		{name: "untampered immutable", args: getImm, code: 0, stdout: immValue + "\n"},
		{name: "untampered mutable", args: getMut, code: 0, stdout: mutValue + "\n"},
		{name: "untampered salted", args: getSalted, code: 0, stdout: saltedValue + "\n"},
		{name: "immutable v one byte changed", args: getImm, tamper: setString("v", changeByte), code: 4, stderr: reTarget},
		{name: "immutable v appended to", args: getImm, tamper: setString("v", func(s string) string { return s + "!" }), code: 4, stderr: reTarget},
		{name: "another immutable item's answer", args: getImm, tamper: e.answerOf(e.imm2), code: 4, stderr: reTarget},
		{name: "mutable v one character changed", args: getMut, tamper: setString("v", func(s string) string { return strings.Replace(s, "u", "ü", 1) }), code: 4, stderr: reSignature},
		{name: "k one hex digit changed", args: getMut, tamper: setString("k", flipHex), code: 4, stderr: reTarget},
		{name: "sig one hex digit changed", args: getMut, tamper: setString("sig", flipHex), code: 4, stderr: reSignature},
		{name: "seq plus one", args: getMut, tamper: setNumber("seq", "8"), code: 4, stderr: reSignature},
		{name: "another key's valid mutable answer", args: getMut, tamper: e.answerOf(e.mut2), code: 4, stderr: reTarget},
		{name: "salted v one byte changed", args: getSalted, tamper: setString("v", changeByte), code: 4, stderr: reSignature},
		{name: "token one digit changed, value printed", args: getMut, tamper: setString("token", flipHex), code: 0, stdout: mutValue + "\n"},
		{name: "salt in the answer differs", args: getSalted, tamper: setRaw("salt", `"pepperX"`), code: 4, stderr: reSalt + `"pepperX" is not the salt asked with "pepper"`},
		{name: "extra fields on an immutable answer", args: getImm, tamper: both(setRaw("nodes", `{"type":"Buffer","data":[127,0,0,1,78,33]}`), setRaw("seq", "0")), code: 0, stdout: immValue + "\n"},
		{name: "extra fields on an immutable answer, -r", args: []string{"get", "-r", e.imm}, tamper: both(setRaw("nodes", `{"type":"Buffer","data":[127,0,0,1,78,33]}`), setRaw("seq", "0")), code: 0, stdout: string(e.answers[e.imm]) + "\n"},
		{name: "extra field on a salted answer, -r", args: []string{"get", "-r", "--salt", theSalt, e.salted}, tamper: setRaw("nodes", `{"type":"Buffer","data":[1]}`), code: 0, stdout: string(e.answers[e.salted]) + "\n"},
		{name: "k without sig", args: getMut, tamper: drop("sig"), code: 1, stderr: reProtocol + `a mutable answer needs k, sig and seq; got k true, sig false, seq true`},
		{name: "token with terminal escapes", args: []string{"get", "-w", e.mut}, tamper: setRaw("token", `"\u001b[2J"`), code: 1, stderr: reProtocol + `token is not hex`},
		{name: "v twice", args: getMut, tamper: duplicate("v", `"forged"`, true), code: 1, stderr: reProtocol + `key "v" appears twice`},
		{name: "truncated JSON", args: getMut, tamper: func(a *answer) { a.body = a.body[:len(a.body)/2] }, code: 1, stderr: reProtocol + `the answer is cut short`},
		{name: "get answer one byte a second", args: getMut, handler: e.trickle, code: 1, stderr: reTimeout},
		{name: "50 MB get answer", args: getImm, handler: hugeAnswer(`{"v":"`, 'a', true, &hugeWritten), code: 1, stderr: reTooBig, check: wroteLittle(&hugeWritten)},
		{name: "404 with the real answer", args: getImm, tamper: setStatus(404), code: 1, stderr: reStatus(404)},

		{name: "untampered immutable put", args: putImm, code: 0, stdout: e.imm + "\n"},
		{name: "another item's hash for a put", args: putImm, tamper: setBody(jsonQuote(e.imm2)), code: 4, stderr: rePutTarget},
		{name: "untampered salted put", args: putSalted, code: 0, stdout: e.targetOf(t, "proxied") + "\n"},
		{name: "the unsalted hash for a salted put", args: putSalted, tamper: setBody(jsonQuote(e.mut)), code: 4, stderr: rePutTarget},
		{name: "empty 200 on put", args: putImm, tamper: setBody(""), code: 1, stderr: reProtocol + rePutJSON},
		{name: "301 with Location to a put", args: putImm, tamper: setStatus(301, "Location", e.trap+"/put"), code: 1, stderr: reStatus(301)},
	}
	e.runHostile(t, cases)
}

// targetOf is the hash of a mutable item under the user's key and salt.
func (e *hostileEnv) targetOf(t *testing.T, salt string) string {
	t.Helper()
	var k string
	if err := json.Unmarshal([]byte(fieldOf(e.answers[e.mut], "k")), &k); err != nil {
		t.Fatal(err)
	}
	pub, err := hex.DecodeString(k)
	if err != nil {
		t.Fatal(err)
	}
	return bep44.MutableTarget(pub, []byte(salt)).String()
}
