package applets

import (
	"strings"
	"testing"
)

// Messages, as regexps.
const (
	reTarget    = `error: target mismatch: asked for [0-9a-f]{40}, the item's is [0-9a-f]{40}`
	reSignature = `error: invalid signature: seq -?\d+ under key [0-9a-f]{64}`
	reProtocol  = `error: unexpected answer from the grape \(HTTP 200\): `
	reSalt      = `error: target mismatch: the answer's salt `
)

// TestHostileGetAnswers tampers with the answers to gets of real items.
func TestHostileGetAnswers(t *testing.T) {
	e := newHostileEnv(t)
	getImm := []string{"get", e.imm}
	getMut := []string{"get", e.mut}
	getSalted := []string{"get", "--salt", theSalt, e.salted}
	mutK := fieldOf(e.answers[e.mut], "k")

	cases := []hostileCase{
		// Untampered: the proxy itself changes nothing.
		{name: "untampered immutable", args: getImm, code: 0, stdout: immValue + "\n"},
		{name: "untampered mutable", args: getMut, code: 0, stdout: mutValue + "\n"},
		{name: "untampered salted", args: getSalted, code: 0, stdout: saltedValue + "\n"},

		// v of an immutable item.
		{name: "immutable v one byte changed", args: getImm, tamper: setString("v", changeByte), code: 4, stderr: reTarget},
		{name: "immutable v one character changed", args: getImm, tamper: setString("v", func(s string) string { return strings.Replace(s, "o", "ö", 1) }), code: 4, stderr: reTarget},
		{name: "immutable v appended to", args: getImm, tamper: setString("v", func(s string) string { return s + "!" }), code: 4, stderr: reTarget},
		{name: "immutable v cut by one byte", args: getImm, tamper: setString("v", func(s string) string { return s[:len(s)-1] }), code: 4, stderr: reTarget},
		{name: "immutable v empty", args: getImm, tamper: setRaw("v", `""`), code: 4, stderr: reTarget},
		{name: "immutable v over 1000 bytes", args: getImm, tamper: setRaw("v", jsonQuote(strings.Repeat("a", 1001))), code: 4, stderr: `error: value too large: the value is 1001 bytes, a DHT node keeps at most 1000`},
		{name: "immutable v of 1000 bytes, not the item's", args: getImm, tamper: setRaw("v", jsonQuote(strings.Repeat("a", 1000))), code: 4, stderr: reTarget},
		{name: "immutable v raw invalid UTF-8", args: getImm, tamper: setRaw("v", "\"hello w\xffrld\""), code: 1, stderr: reProtocol + `the answer is not valid UTF-8`},
		{name: "immutable v lone surrogate escape", args: getImm, tamper: setRaw("v", `"hello \ud800world"`), code: 4, stderr: reTarget},
		{name: "immutable v invalid escape", args: getImm, tamper: setRaw("v", `"hello \x41world"`), code: 1, stderr: reProtocol + `the answer is not valid JSON: invalid character 'x' in string escape code`},
		{name: "immutable v raw control character", args: getImm, tamper: setRaw("v", "\"hello\x1b[2Jworld\""), code: 1, stderr: reProtocol + `the answer is not valid JSON: invalid character`},
		{name: "immutable v null", args: getImm, tamper: setRaw("v", `null`), code: 1, stderr: reProtocol + `v is null, want a string`},
		{name: "immutable v number", args: getImm, tamper: setRaw("v", `11`), code: 1, stderr: reProtocol + `v is a number, want a string`},
		{name: "immutable v array", args: getImm, tamper: setRaw("v", `["hello world"]`), code: 1, stderr: reProtocol + `v is an array, want a string`},
		{name: "immutable v object", args: getImm, tamper: setRaw("v", `{"type":"Buffer","data":[104,105]}`), code: 1, stderr: reProtocol + `v is an object, want a string`},
		{name: "immutable v boolean", args: getImm, tamper: setRaw("v", `true`), code: 1, stderr: reProtocol + `v is a boolean, want a string`},
		{name: "immutable v missing", args: getImm, tamper: drop("v"), code: 1, stderr: reProtocol + `the answer has no v`},
		{name: "immutable v twice, forged first", args: getImm, tamper: duplicate("v", `"forged"`, true), code: 1, stderr: reProtocol + `key "v" appears twice`},
		{name: "immutable v twice, forged last", args: getImm, tamper: duplicate("v", `"forged"`, false), code: 1, stderr: reProtocol + `key "v" appears twice`},
		{name: "immutable v twice, same value", args: getImm, tamper: duplicate("v", jsonQuote(immValue), false), code: 1, stderr: reProtocol + `key "v" appears twice`},
		{name: "immutable answer given k, sig and seq of a mutable item", args: getImm, tamper: edit(func(fs []field) []field {
			return append(fs, field{"k", mutK}, field{"sig", fieldOf(e.answers[e.mut], "sig")}, field{"seq", "7"})
		}), code: 4, stderr: reTarget},
		{name: "immutable answer given k only", args: getImm, tamper: setRaw("k", mutK), code: 1, stderr: reProtocol + `a mutable answer needs k, sig and seq; got k true, sig false, seq false`},
		{name: "immutable answer given sig only", args: getImm, tamper: setRaw("sig", fieldOf(e.answers[e.mut], "sig")), code: 1, stderr: reProtocol + `a mutable answer needs k, sig and seq; got k false, sig true, seq false`},
		{name: "immutable answer given k and seq, no sig", args: getImm, tamper: both(setRaw("k", mutK), setRaw("seq", "7")), code: 1, stderr: reProtocol + `a mutable answer needs k, sig and seq; got k true, sig false, seq true`},
		{name: "immutable answer with a salt", args: getImm, tamper: setRaw("salt", `"pepper"`), code: 4, stderr: reSalt + `"pepper" is not the salt asked with ""`},

		// What no check covers is accepted and never printed: grapes copy every key of the
		// answering node's reply, and nodes of other implementations add nodes beside a
		// value and seq 0 on an immutable item.
		{name: "immutable answer with nodes and seq 0", args: getImm, tamper: both(setRaw("nodes", `{"type":"Buffer","data":[1,2,3]}`), setRaw("seq", "0")), code: 0, stdout: immValue + "\n"},
		{name: "immutable answer with nodes and seq 0, -r", args: []string{"get", "-r", e.imm}, tamper: both(setRaw("nodes", `{"type":"Buffer","data":[1,2,3]}`), setRaw("seq", "0")), code: 0, stdout: string(e.answers[e.imm]) + "\n"},
		{name: "immutable answer with seq not a number, -r", args: []string{"get", "-r", e.imm}, tamper: setRaw("seq", `"x"`), code: 0, stdout: string(e.answers[e.imm]) + "\n"},
		{name: "unknown field first, -r", args: []string{"get", "-r", e.imm}, tamper: duplicate("note", `"\u001b[2Jnot verified"`, true), code: 0, stdout: string(e.answers[e.imm]) + "\n"},
		{name: "unknown field on a mutable answer, -r", args: []string{"get", "-r", e.mut}, tamper: setRaw("note", `"not verified"`), code: 0, stdout: string(e.answers[e.mut]) + "\n"},
		{name: "untampered immutable, -r", args: []string{"get", "-r", e.imm}, code: 0, stdout: string(e.answers[e.imm]) + "\n"},
		{name: "untampered mutable, -r", args: []string{"get", "-r", e.mut}, code: 0, stdout: string(e.answers[e.mut]) + "\n"},

		// id and token are not signed: a changed one cannot be detected, but it must be
		// hex, and it never changes the value printed.
		{name: "id changed, value printed", args: getImm, tamper: setString("id", flipHex), code: 0, stdout: immValue + "\n"},
		{name: "token changed, value printed", args: getImm, tamper: setRaw("token", `"cafe"`), code: 0, stdout: immValue + "\n"},
		{name: "id changed, -i prints it", args: []string{"get", "-i", e.imm}, tamper: setRaw("id", `"0123456789abcdef0123456789abcdef01234568"`), code: 0, stdout: "0123456789abcdef0123456789abcdef01234568\n"},
		{name: "id with terminal escapes, -i", args: []string{"get", "-i", e.imm}, tamper: setRaw("id", `"\u001b]0;owned\u0007\u001b[2J"`), code: 1, stderr: reProtocol + `id is not hex`},
		{name: "id with terminal escapes, value", args: getImm, tamper: setRaw("id", `"\u001b[2J"`), code: 1, stderr: reProtocol + `id is not hex`},
		{name: "id not hex", args: []string{"get", "-i", e.imm}, tamper: setRaw("id", `"node-1"`), code: 1, stderr: reProtocol + `id is not hex`},
		{name: "id very long", args: []string{"get", "-i", e.imm}, tamper: setRaw("id", jsonQuote(strings.Repeat("ab", 5000))), code: 1, stderr: reProtocol + `id is 10000 characters, want at most 128 hex digits`},
		{name: "id number", args: getImm, tamper: setRaw("id", `42`), code: 1, stderr: reProtocol + `id is a number, want a string`},
		{name: "id null", args: getImm, tamper: setRaw("id", `null`), code: 1, stderr: reProtocol + `id is null, want a string`},
		{name: "id twice", args: getImm, tamper: duplicate("id", `"ab"`, false), code: 1, stderr: reProtocol + `key "id" appears twice`},
		{name: "token with terminal escapes, -w", args: []string{"get", "-w", e.imm}, tamper: setRaw("token", `"\u001b[31mred"`), code: 1, stderr: reProtocol + `token is not hex`},
		{name: "token number", args: getImm, tamper: setRaw("token", `7`), code: 1, stderr: reProtocol + `token is a number, want a string or null`},
		{name: "token object", args: getImm, tamper: setRaw("token", `{"type":"Buffer","data":[1]}`), code: 1, stderr: reProtocol + `token is an object, want a string or null`},
		{name: "token twice", args: getImm, tamper: duplicate("token", `"cafe"`, false), code: 1, stderr: reProtocol + `key "token" appears twice`},
		{name: "unknown key added, value printed", args: getImm, tamper: setRaw("nodes", `[{"host":"10.0.0.1"}]`), code: 0, stdout: immValue + "\n"},
		{name: "unknown key nested deeply", args: getImm, tamper: setRaw("x", strings.Repeat("[", 20000)+strings.Repeat("]", 20000)), code: 1, stderr: reProtocol + `the answer is not valid JSON: .*exceeded max depth`},

		// Other items' valid answers.
		{name: "another immutable item's answer", args: getImm, tamper: e.answerOf(e.imm2), code: 4, stderr: reTarget},
		{name: "a mutable item's answer for an immutable hash", args: getImm, tamper: e.answerOf(e.mut), code: 4, stderr: reTarget},
		{name: "an immutable item's answer for a mutable hash", args: getMut, tamper: e.answerOf(e.imm), code: 4, stderr: reTarget},
		{name: "another key's valid mutable answer", args: getMut, tamper: e.answerOf(e.mut2), code: 4, stderr: reTarget},
		{name: "the salted item's answer for the unsalted hash", args: getMut, tamper: e.answerOf(e.salted), code: 4, stderr: reSignature},
		{name: "the unsalted item's answer for the salted hash", args: getSalted, tamper: e.answerOf(e.mut), code: 4, stderr: reSignature},
		{name: "another key's answer for the salted hash", args: getSalted, tamper: e.answerOf(e.mut2), code: 4, stderr: reTarget},

		// Fields of a mutable answer.
		{name: "mutable v one byte changed", args: getMut, tamper: setString("v", changeByte), code: 4, stderr: reSignature},
		{name: "mutable v one character changed", args: getMut, tamper: setString("v", func(s string) string { return strings.Replace(s, "u", "ü", 1) }), code: 4, stderr: reSignature},
		{name: "mutable v appended to", args: getMut, tamper: setString("v", func(s string) string { return s + " " }), code: 4, stderr: reSignature},
		{name: "mutable v lone surrogate escape", args: getMut, tamper: setRaw("v", `"\udfff"`), code: 4, stderr: reSignature},
		{name: "mutable v null", args: getMut, tamper: setRaw("v", `null`), code: 1, stderr: reProtocol + `v is null, want a string`},
		{name: "mutable v twice", args: getMut, tamper: duplicate("v", `"forged"`, true), code: 1, stderr: reProtocol + `key "v" appears twice`},
		{name: "k one hex digit changed", args: getMut, tamper: setString("k", flipHex), code: 4, stderr: reTarget},
		{name: "k in capitals, same key", args: getMut, tamper: setString("k", strings.ToUpper), code: 0, stdout: mutValue + "\n"},
		{name: "k one digit short", args: getMut, tamper: setString("k", func(s string) string { return s[:63] }), code: 1, stderr: reProtocol + `k is 63 characters, want 64 hex digits`},
		{name: "k one byte short", args: getMut, tamper: setString("k", func(s string) string { return s[:62] }), code: 1, stderr: reProtocol + `k is 62 characters, want 64 hex digits`},
		{name: "k one byte long", args: getMut, tamper: setString("k", func(s string) string { return s + "00" }), code: 1, stderr: reProtocol + `k is 66 characters, want 64 hex digits`},
		{name: "k not hex", args: getMut, tamper: setString("k", func(s string) string { return "zz" + s[2:] }), code: 1, stderr: reProtocol + `k is not hex`},
		{name: "k number", args: getMut, tamper: setRaw("k", `12`), code: 1, stderr: reProtocol + `k is a number, want a string`},
		{name: "k null", args: getMut, tamper: setRaw("k", `null`), code: 1, stderr: reProtocol + `k is null, want a string`},
		{name: "k as a Buffer object", args: getMut, tamper: setRaw("k", `{"type":"Buffer","data":[1,2]}`), code: 1, stderr: reProtocol + `k is an object, want a string`},
		{name: "k twice", args: getMut, tamper: duplicate("k", fieldOf(e.answers[e.mut2], "k"), false), code: 1, stderr: reProtocol + `key "k" appears twice`},
		{name: "k missing", args: getMut, tamper: drop("k"), code: 1, stderr: reProtocol + `a mutable answer needs k, sig and seq; got k false, sig true, seq true`},
		{name: "sig one hex digit changed", args: getMut, tamper: setString("sig", flipHex), code: 4, stderr: reSignature},
		{name: "sig of another item", args: getMut, tamper: setRaw("sig", fieldOf(e.answers[e.salted], "sig")), code: 4, stderr: reSignature},
		{name: "sig all zeros", args: getMut, tamper: setRaw("sig", jsonQuote(strings.Repeat("0", 128))), code: 4, stderr: reSignature},
		{name: "sig one byte short", args: getMut, tamper: setString("sig", func(s string) string { return s[:126] }), code: 1, stderr: reProtocol + `sig is 126 characters, want 128 hex digits`},
		{name: "sig not hex", args: getMut, tamper: setString("sig", func(s string) string { return s[:126] + "g0" }), code: 1, stderr: reProtocol + `sig is not hex`},
		{name: "sig empty", args: getMut, tamper: setRaw("sig", `""`), code: 1, stderr: reProtocol + `sig is 0 characters, want 128 hex digits`},
		{name: "sig null", args: getMut, tamper: setRaw("sig", `null`), code: 1, stderr: reProtocol + `sig is null, want a string`},
		{name: "sig twice", args: getMut, tamper: duplicate("sig", fieldOf(e.answers[e.mut], "sig"), false), code: 1, stderr: reProtocol + `key "sig" appears twice`},
		{name: "sig missing", args: getMut, tamper: drop("sig"), code: 1, stderr: reProtocol + `a mutable answer needs k, sig and seq; got k true, sig false, seq true`},
		{name: "seq plus one", args: getMut, tamper: setNumber("seq", "8"), code: 4, stderr: reSignature},
		{name: "seq minus one", args: getMut, tamper: setNumber("seq", "6"), code: 4, stderr: reSignature},
		{name: "seq negative", args: getMut, tamper: setNumber("seq", "-7"), code: 4, stderr: reSignature},
		{name: "seq zero", args: getMut, tamper: setNumber("seq", "0"), code: 4, stderr: reSignature},
		{name: "seq 2^63-1", args: getMut, tamper: setNumber("seq", "9223372036854775807"), code: 4, stderr: reSignature},
		{name: "seq huge", args: getMut, tamper: setNumber("seq", "100000000000000000000000000000"), code: 1, stderr: reProtocol + `seq is 100000000000000000000000000000, out of the int64 range`},
		{name: "seq float with the same value", args: getMut, tamper: setNumber("seq", "7.0"), code: 1, stderr: reProtocol + `seq is 7.0, want an integer without fraction or exponent`},
		{name: "seq exponent with the same value", args: getMut, tamper: setNumber("seq", "7e0"), code: 1, stderr: reProtocol + `seq is 7e0, want an integer without fraction or exponent`},
		{name: "seq fraction", args: getMut, tamper: setNumber("seq", "7.5"), code: 1, stderr: reProtocol + `seq is 7.5, want an integer`},
		{name: "seq string", args: getMut, tamper: setRaw("seq", `"7"`), code: 1, stderr: reProtocol + `seq is a string, want an integer`},
		{name: "seq null", args: getMut, tamper: setRaw("seq", `null`), code: 1, stderr: reProtocol + `seq is null, want an integer`},
		{name: "seq twice", args: getMut, tamper: duplicate("seq", "8", false), code: 1, stderr: reProtocol + `key "seq" appears twice`},
		{name: "seq missing", args: getMut, tamper: drop("seq"), code: 1, stderr: reProtocol + `a mutable answer needs k, sig and seq; got k true, sig true, seq false`},
		{name: "k, sig and seq removed", args: getMut, tamper: drop("k", "sig", "seq"), code: 4, stderr: reTarget},

		// Salts.
		{name: "salt echoed as asked", args: getSalted, tamper: setRaw("salt", jsonQuote(theSalt)), code: 0, stdout: saltedValue + "\n"},
		{name: "salt echoed as asked, -r", args: []string{"get", "-r", "--salt", theSalt, e.salted}, tamper: setRaw("salt", jsonQuote(theSalt)), code: 0,
			stdout: strings.TrimSuffix(string(e.answers[e.salted]), "}") + `,"salt":` + jsonQuote(theSalt) + "}\n"},
		{name: "salt in the answer differs", args: getSalted, tamper: setRaw("salt", `"pepperX"`), code: 4, stderr: reSalt + `"pepperX" is not the salt asked with "pepper"`},
		{name: "salt in the answer empty", args: getSalted, tamper: setRaw("salt", `""`), code: 4, stderr: reSalt + `"" is not the salt asked with "pepper"`},
		{name: "salt in the answer a number", args: getSalted, tamper: setRaw("salt", `1`), code: 1, stderr: reProtocol + `salt is a number, want a string`},
		{name: "salt twice", args: getSalted, tamper: both(setRaw("salt", jsonQuote(theSalt)), duplicate("salt", jsonQuote(theSalt), false)), code: 1, stderr: reProtocol + `key "salt" appears twice`},
		{name: "salt given for an unsalted item", args: getMut, tamper: setRaw("salt", jsonQuote(theSalt)), code: 4, stderr: reSalt + `"pepper" is not the salt asked with ""`},
		{name: "salted v one byte changed", args: getSalted, tamper: setString("v", changeByte), code: 4, stderr: reSignature},
		{name: "salted seq changed", args: getSalted, tamper: setNumber("seq", "9"), code: 4, stderr: reSignature},

		// Whole bodies.
		{name: "empty body", args: getImm, tamper: setBody(""), code: 3, stderr: `error: hash ` + e.imm + ` not found`},
		{name: "blank body", args: getImm, tamper: setBody(" \r\n\t"), code: 1, stderr: reProtocol + `a blank answer`},
		{name: "truncated JSON", args: getImm, tamper: func(a *answer) { a.body = a.body[:len(a.body)/2] }, code: 1, stderr: reProtocol + `the answer is cut short`},
		{name: "truncated by the last brace", args: getMut, tamper: func(a *answer) { a.body = a.body[:len(a.body)-1] }, code: 1, stderr: reProtocol + `the answer is cut short`},
		{name: "only an opening brace", args: getImm, tamper: setBody("{"), code: 1, stderr: reProtocol + `the answer is cut short`},
		{name: "empty object", args: getImm, tamper: setBody("{}"), code: 1, stderr: reProtocol + `the answer has no v`},
		{name: "trailing garbage", args: getImm, tamper: func(a *answer) { a.body = append(a.body, "garbage"...) }, code: 1, stderr: reProtocol + `data after the answer's object`},
		{name: "trailing second object", args: getImm, tamper: func(a *answer) { a.body = append(a.body, a.body...) }, code: 1, stderr: reProtocol + `data after the answer's object`},
		{name: "trailing NUL", args: getImm, tamper: func(a *answer) { a.body = append(a.body, 0) }, code: 1, stderr: reProtocol + `data after the answer's object`},
		{name: "trailing newline", args: getImm, tamper: func(a *answer) { a.body = append(a.body, '\n') }, code: 0, stdout: immValue + "\n"},
		{name: "byte order mark", args: getImm, tamper: func(a *answer) { a.body = append([]byte("\xef\xbb\xbf"), a.body...) }, code: 1, stderr: `error: unexpected answer from the grape \(HTTP 200\): a get answer must be a JSON object, a JSON string or empty`},
		{name: "not JSON (HTML)", args: getImm, tamper: setBody("<html><body>502 Bad Gateway</body></html>"), code: 1, stderr: `a get answer must be a JSON object, a JSON string or empty: "<html><body>502 Bad Gateway</body></html>"`},
		{name: "not JSON (binary)", args: getImm, tamper: setBody("\x00\x01\x02\xff\xfe"), code: 1, stderr: `a get answer must be a JSON object, a JSON string or empty: "\.\.\.\.\."`},
		{name: "JSON array", args: getImm, tamper: func(a *answer) { a.body = append(append([]byte("["), a.body...), ']') }, code: 1, stderr: `a get answer must be a JSON object, a JSON string or empty`},
		{name: "JSON number", args: getImm, tamper: setBody("42"), code: 1, stderr: `a get answer must be a JSON object, a JSON string or empty: "42"`},
		{name: "JSON null", args: getImm, tamper: setBody("null"), code: 1, stderr: `a get answer must be a JSON object, a JSON string or empty: "null"`},
		{name: "JSON true", args: getImm, tamper: setBody("true"), code: 1, stderr: `a get answer must be a JSON object, a JSON string or empty: "true"`},
		{name: "JSON string: a grape error", args: getImm, tamper: setBody(`"ERR_GRAPE_HASH_FORMAT"`), code: 1, stderr: `error: the grape answered: ERR_GRAPE_HASH_FORMAT`},
		{name: "JSON string: the value itself", args: getImm, tamper: setBody(jsonQuote(immValue)), code: 1, stderr: `error: the grape answered: hello world`},
		{name: "JSON string with terminal escapes", args: getImm, tamper: setBody(`"\u001b]0;owned\u0007\u001b[2J"`), code: 1, stderr: `error: the grape answered: "\\x1b\]0;owned\\a\\x1b\[2J"`},
		{name: "JSON string of 60 KB", args: getImm, tamper: setBody(jsonQuote(strings.Repeat("All queries failed ", 3000))), code: 1, stderr: `error: the grape answered: (All queries failed ){10}.*\.\.\. \(57000 bytes\)\n`},
		{name: "JSON string cut short", args: getImm, tamper: setBody(`"All queries`), code: 1, stderr: reProtocol + `malformed JSON string: "\\"All queries"`},
		{name: "JSON string then garbage", args: getImm, tamper: setBody(`"x" y`), code: 1, stderr: reProtocol + `malformed JSON string`},
	}
	e.runHostile(t, cases)
}
