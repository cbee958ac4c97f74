package applets

import (
	"fmt"
	"strings"
	"testing"
)

const (
	rePutTarget = `error: target mismatch: the grape stored the item under [0-9a-f]{40}, its target is [0-9a-f]{40}`
	rePutJSON   = `a put answer must be a JSON string`
)

// reStatus is the message for an HTTP status a grape does not send there.
func reStatus(code int) string {
	return fmt.Sprintf(`error: unexpected answer from the grape \(HTTP %d\): unexpected HTTP status`, code)
}

// TestHostilePutAnswers tampers with the answers to real puts.
func TestHostilePutAnswers(t *testing.T) {
	e := newHostileEnv(t)
	putImm := []string{"put", immValue}
	putMut := []string{"put", "-m", mutValue} // seq: the time, so each put is newer
	putSalted := []string{"put", "-m", "-s", theSalt, saltedValue}
	putCas := []string{"put", "-m", "-c", "7", mutValue}
	located := func(code int) func(*answer) { return setStatus(code, "Location", e.trap+"/put") }

	cases := []hostileCase{
		{name: "untampered immutable", args: putImm, code: 0, stdout: e.imm + "\n"},
		{name: "untampered mutable", args: putMut, code: 0, stdout: e.mut + "\n"},
		{name: "untampered salted", args: putSalted, code: 0, stdout: e.salted + "\n"},

		// A valid key, but not the item's.
		{name: "another item's hash", args: putImm, tamper: setBody(jsonQuote(e.imm2)), code: 4, stderr: rePutTarget},
		{name: "hash one digit changed", args: putImm, tamper: setBody(jsonQuote(flipHex(e.imm))), code: 4, stderr: rePutTarget},
		{name: "another key's hash for a mutable put", args: putMut, tamper: setBody(jsonQuote(e.mut2)), code: 4, stderr: rePutTarget},
		{name: "the unsalted hash for a salted put", args: putSalted, tamper: setBody(jsonQuote(e.mut)), code: 4, stderr: rePutTarget},
		{name: "the salted hash for an unsalted put", args: putMut, tamper: setBody(jsonQuote(e.salted)), code: 4, stderr: rePutTarget},
		{name: "an immutable hash for a mutable put", args: putMut, tamper: setBody(jsonQuote(e.imm)), code: 4, stderr: rePutTarget},
		{name: "a mutable hash for an immutable put", args: putImm, tamper: setBody(jsonQuote(e.mut)), code: 4, stderr: rePutTarget},
		{name: "hash spelled with JSON escapes", args: putImm, tamper: setBody(`"\u00` + fmt.Sprintf("%x", e.imm[0]) + e.imm[1:] + `"`), code: 0, stdout: e.imm + "\n"},

		// Not a key.
		{name: "empty 200", args: putImm, tamper: setBody(""), code: 1, stderr: reProtocol + rePutJSON + `\n`},
		{name: "empty 200 to a mutable put", args: putMut, tamper: setBody(""), code: 1, stderr: reProtocol + rePutJSON + `\n`},
		{name: "blank 200", args: putImm, tamper: setBody("\n"), code: 1, stderr: reProtocol + rePutJSON},
		{name: "hash in capitals", args: putImm, tamper: setBody(jsonQuote(strings.ToUpper(e.imm))), code: 1, stderr: `error: the grape answered: ` + strings.ToUpper(e.imm)},
		{name: "hash one digit short", args: putImm, tamper: setBody(jsonQuote(e.imm[:39])), code: 1, stderr: `error: the grape answered: ` + e.imm[:39] + `\n`},
		{name: "hash appended to", args: putImm, tamper: setBody(jsonQuote(e.imm + "0")), code: 1, stderr: `error: the grape answered: ` + e.imm + `0\n`},
		{name: "hash not quoted", args: putImm, tamper: setBody(e.imm), code: 1, stderr: reProtocol + rePutJSON + `: "` + e.imm + `"`},
		{name: "hash cut short", args: putImm, tamper: setBody(`"` + e.imm[:20]), code: 1, stderr: reProtocol + rePutJSON},
		{name: "hash then garbage", args: putImm, tamper: setBody(jsonQuote(e.imm) + "x"), code: 1, stderr: reProtocol + rePutJSON},
		{name: "hash twice", args: putImm, tamper: setBody(jsonQuote(e.imm) + jsonQuote(e.imm)), code: 1, stderr: reProtocol + rePutJSON},
		{name: "hash after a byte order mark", args: putImm, tamper: setBody("\xef\xbb\xbf" + jsonQuote(e.imm)), code: 1, stderr: reProtocol + rePutJSON},
		{name: "hash in an array", args: putImm, tamper: setBody(`[` + jsonQuote(e.imm) + `]`), code: 1, stderr: reProtocol + rePutJSON},
		{name: "hash in an object", args: putImm, tamper: setBody(`{"key":` + jsonQuote(e.imm) + `}`), code: 1, stderr: reProtocol + rePutJSON},
		{name: "a get answer", args: putImm, tamper: setBody(string(e.answers[e.imm])), code: 1, stderr: reProtocol + rePutJSON},
		{name: "null", args: putImm, tamper: setBody("null"), code: 1, stderr: reProtocol + rePutJSON + `: "null"`},
		{name: "number", args: putImm, tamper: setBody("1"), code: 1, stderr: reProtocol + rePutJSON + `: "1"`},
		{name: "true", args: putImm, tamper: setBody("true"), code: 1, stderr: reProtocol + rePutJSON + `: "true"`},
		{name: "hash with invalid UTF-8", args: putImm, tamper: setBody("\"" + e.imm + "\xff\""), code: 1, stderr: reProtocol + rePutJSON},
		{name: "grape error", args: putImm, tamper: setBody(`"All queries failed"`), code: 1, stderr: `error: the grape answered: All queries failed\n.*hint: the grape reached no node`},
		{name: "grape error with terminal escapes", args: putImm, tamper: setBody(`"\u001b[2J\u001b[31mstored!"`), code: 1, stderr: `error: the grape answered: "\\x1b\[2J\\x1b\[31mstored!"`},
		{name: "grape error of 60 KB", args: putImm, tamper: setBody(jsonQuote(strings.Repeat("x", 60000))), code: 1, stderr: `error: the grape answered: x{200}\.\.\. \(60000 bytes\)\n`},

		// Statuses, with and without a Location that must not be followed.
		{name: "301 with Location to an immutable put", args: putImm, tamper: located(301), code: 1, stderr: reStatus(301)},
		{name: "302 with Location to an immutable put", args: putImm, tamper: located(302), code: 1, stderr: reStatus(302)},
		{name: "301 with Location to a put without cas", args: putMut, tamper: located(301), code: 1, stderr: reStatus(301)},
		{name: "301 with Location to a put with cas", args: putCas, tamper: located(301), code: 5, stderr: `error: the grape answered 301: cas mismatch`},
		{name: "302 with Location to a mutable put", args: putMut, tamper: located(302), code: 5, stderr: `error: the grape answered 302: sequence number less than current`},
		{name: "303 with Location", args: putImm, tamper: located(303), code: 1, stderr: reStatus(303)},
		{name: "307 with Location", args: putImm, tamper: located(307), code: 1, stderr: reStatus(307)},
		{name: "308 with Location", args: putMut, tamper: located(308), code: 1, stderr: reStatus(308)},
		{name: "200 with Location, right hash", args: putImm, tamper: located(200), code: 0, stdout: e.imm + "\n"},
		{name: "201 with the right hash", args: putImm, tamper: setStatus(201), code: 1, stderr: reStatus(201)},
		{name: "204", args: putImm, tamper: setStatus(204), code: 1, stderr: reStatus(204)},
		{name: "299 with the right hash", args: putImm, tamper: setStatus(299), code: 1, stderr: reStatus(299)},
		{name: "400", args: putImm, tamper: setStatus(400), code: 1, stderr: reStatus(400)},
		{name: "404", args: putImm, tamper: both(setStatus(404), setBody("404 page not found")), code: 1, stderr: reStatus(404) + `: "404 page not found"`},
		{name: "413", args: putImm, tamper: both(setStatus(413), setBody("ERR_GRAPE_PAYLOAD_SIZE")), code: 1, stderr: reStatus(413) + `: "ERR_GRAPE_PAYLOAD_SIZE"`},
		{name: "418", args: putImm, tamper: setStatus(418), code: 1, stderr: reStatus(418)},
		{name: "500", args: putImm, tamper: both(setStatus(500), setBody("ERR_GRAPE_PAYLOAD_INVALID")), code: 1, stderr: reStatus(500) + `: "ERR_GRAPE_PAYLOAD_INVALID"`},
		{name: "503", args: putMut, tamper: setStatus(503), code: 1, stderr: reStatus(503)},
		{name: "599", args: putImm, tamper: setStatus(599), code: 1, stderr: reStatus(599)},
	}
	e.runHostile(t, cases)
}

// TestHostileGetStatuses answers gets with statuses a grape never sends, each with the
// grape's real, valid answer as the body: grenache must not print it all the same.
func TestHostileGetStatuses(t *testing.T) {
	e := newHostileEnv(t)
	getImm := []string{"get", e.imm}
	getMut := []string{"get", e.mut}
	located := func(code int) func(*answer) { return setStatus(code, "Location", e.trap+"/get") }
	cases := []hostileCase{
		{name: "200 with Content-Type text/html", args: getImm, tamper: setStatus(200, "Content-Type", "text/html"), code: 0, stdout: immValue + "\n"},
		{name: "301 with Location", args: getImm, tamper: located(301), code: 1, stderr: reStatus(301)},
		{name: "302 with Location", args: getMut, tamper: located(302), code: 1, stderr: reStatus(302)},
		{name: "303 with Location", args: getImm, tamper: located(303), code: 1, stderr: reStatus(303)},
		{name: "307 with Location", args: getImm, tamper: located(307), code: 1, stderr: reStatus(307)},
		{name: "308 with Location", args: getMut, tamper: located(308), code: 1, stderr: reStatus(308)},
		{name: "300", args: getImm, tamper: setStatus(300), code: 1, stderr: reStatus(300)},
		{name: "201", args: getImm, tamper: setStatus(201), code: 1, stderr: reStatus(201)},
		{name: "203", args: getImm, tamper: setStatus(203), code: 1, stderr: reStatus(203)},
		{name: "204", args: getImm, tamper: setStatus(204), code: 1, stderr: reStatus(204) + `\n`},
		{name: "206", args: getImm, tamper: setStatus(206), code: 1, stderr: reStatus(206)},
		{name: "304", args: getImm, tamper: setStatus(304), code: 1, stderr: reStatus(304)},
		{name: "400", args: getImm, tamper: setStatus(400), code: 1, stderr: reStatus(400)},
		{name: "404", args: getImm, tamper: setStatus(404), code: 1, stderr: reStatus(404)},
		{name: "404, empty", args: getImm, tamper: both(setStatus(404), setBody("")), code: 1, stderr: reStatus(404) + `\n`},
		{name: "418", args: getImm, tamper: setStatus(418), code: 1, stderr: reStatus(418)},
		{name: "500", args: getImm, tamper: both(setStatus(500), setBody("ERR_GRAPE_PAYLOAD_INVALID")), code: 1, stderr: reStatus(500) + `: "ERR_GRAPE_PAYLOAD_INVALID"`},
		{name: "502", args: getImm, tamper: setStatus(502), code: 1, stderr: reStatus(502)},
		{name: "503", args: getMut, tamper: setStatus(503), code: 1, stderr: reStatus(503)},
		{name: "599", args: getImm, tamper: setStatus(599), code: 1, stderr: reStatus(599)},
	}
	e.runHostile(t, cases)
}
