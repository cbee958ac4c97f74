package grape

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"grenache/bep44"
)

// decodeAnswer reads a get answer strictly, walking its tokens; it is the one decoder of
// what a grape answers. The answer must be a JSON object, with no key twice (a relay could
// otherwise show one value and have another verified) and nothing after it: v a string, id
// hex, token hex or null, salt a string (Fetch compares it with the salt asked), k and sig
// hex of the right lengths. The item is mutable when the answer has k or sig, and then it
// needs all of k, sig and seq, seq an integer that fits int64.
//
// Other keys are tolerated and dropped: a grape copies every key of the answering node's
// reply, and nodes of other DHT implementations add some (nodes beside a value, seq 0 on an
// immutable item). Raw keeps only the fields a check covers or that are checked as hex: id,
// token and v, and for a mutable item k, sig, seq and salt. Failures are *ProtocolError
// saying what was wrong.
func decodeAnswer(body, salt []byte) (*Answer, error) {
	a, err := walkAnswer(body, salt)
	if err != nil {
		return nil, &ProtocolError{Status: http.StatusOK, Reason: err.Error(), Body: excerpt(body)}
	}
	return a, nil
}

func walkAnswer(body, salt []byte) (*Answer, error) {
	if !utf8.Valid(body) {
		// encoding/json would quietly turn such bytes into U+FFFD.
		return nil, fmt.Errorf("the answer is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("the answer is not a JSON object")
	}
	a := &Answer{}
	var (
		seen      = make(map[string]bool)
		order     = make([]string, 0, 7) // the covered keys, in the answer's order
		k, sig    string                 // as the answer spelled them
		seq       json.RawMessage
		tokenNull bool
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(err)
		}
		key, ok := tok.(string)
		if !ok { // the decoder allows only strings as keys; kept as a guard against panics
			return nil, fmt.Errorf("an object key is %s", kind(tok))
		}
		if seen[key] {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		seen[key] = true
		switch key {
		case "v":
			s, err := stringField(dec, key)
			if err != nil {
				return nil, err
			}
			a.Item.V = []byte(s)
		case "k":
			if k, a.Item.K, err = hexField(dec, key, bep44.PublicKeySize); err != nil {
				return nil, err
			}
		case "sig":
			if sig, a.Item.Sig, err = hexField(dec, key, bep44.SignatureSize); err != nil {
				return nil, err
			}
		case "seq":
			// Checked once the answer is known to be mutable: on an immutable item no
			// check covers seq, and nodes of other implementations send seq 0 there.
			if err := dec.Decode(&seq); err != nil {
				return nil, syntaxError(err)
			}
		case "id":
			if a.ID, err = stringField(dec, key); err != nil {
				return nil, err
			}
			if err := checkNodeHex(key, a.ID); err != nil {
				return nil, err
			}
		case "token":
			tok, err := dec.Token()
			if err != nil {
				return nil, syntaxError(err)
			}
			switch tok := tok.(type) {
			case nil:
				tokenNull = true
			case string:
				if err := checkNodeHex(key, tok); err != nil {
					return nil, err
				}
				a.Token = tok
			default:
				return nil, fmt.Errorf("token is %s, want a string or null", kind(tok))
			}
		case "salt":
			s, err := stringField(dec, key)
			if err != nil {
				return nil, err
			}
			a.AnsweredSalt = &s
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, syntaxError(err)
			}
			continue
		}
		order = append(order, key)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the answer's object")
	}
	if !seen["v"] {
		return nil, fmt.Errorf("the answer has no v")
	}
	mutable := seen["k"] || seen["sig"]
	if mutable {
		if !seen["k"] || !seen["sig"] || !seen["seq"] {
			return nil, fmt.Errorf("a mutable answer needs k, sig and seq; got k %t, sig %t, seq %t", seen["k"], seen["sig"], seen["seq"])
		}
		if a.Item.Seq, err = intField(seq); err != nil {
			return nil, err
		}
	}
	if len(salt) > 0 {
		a.Item.Salt = append([]byte(nil), salt...)
	}

	raw := make([]byte, 0, len(body))
	raw = append(raw, '{')
	for _, key := range order {
		if !mutable && (key == "k" || key == "sig" || key == "seq" || key == "salt") {
			continue
		}
		if len(raw) > 1 {
			raw = append(raw, ',')
		}
		raw = append(append(append(raw, '"'), key...), `":`...)
		switch key {
		case "id":
			raw = appendJQString(raw, a.ID)
		case "token":
			if tokenNull {
				raw = append(raw, "null"...)
			} else {
				raw = appendJQString(raw, a.Token)
			}
		case "v":
			raw = appendJQString(raw, string(a.Item.V))
		case "k":
			raw = appendJQString(raw, k)
		case "sig":
			raw = appendJQString(raw, sig)
		case "seq":
			raw = strconv.AppendInt(raw, a.Item.Seq, 10)
		case "salt":
			raw = appendJQString(raw, *a.AnsweredSalt)
		}
	}
	a.Raw = append(raw, '}')
	return a, nil
}

// syntaxError words a decoder failure; an unexpected end is the common case (a cut answer).
func syntaxError(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("the answer is cut short")
	}
	return fmt.Errorf("the answer is not valid JSON: %v", err)
}

func stringField(dec *json.Decoder, key string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", syntaxError(err)
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%s is %s, want a string", key, kind(tok))
	}
	return s, nil
}

// hexField reads a string of 2*size hex digits and returns it, and the bytes it spells.
func hexField(dec *json.Decoder, key string, size int) (string, []byte, error) {
	s, err := stringField(dec, key)
	if err != nil {
		return "", nil, err
	}
	if len(s) != 2*size {
		return "", nil, fmt.Errorf("%s is %d characters, want %d hex digits", key, len(s), 2*size)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", nil, fmt.Errorf("%s is not hex", key)
	}
	return s, b, nil
}

// maxNodeHex bounds id and token, in hex digits. Grapes send 40 (20-byte node ids and
// SHA-1 tokens); the bound leaves room for other DHT nodes while keeping them short.
const maxNodeHex = 128

// checkNodeHex refuses an id or token that is not hex. Nothing signs them, so they cannot
// be verified, yet get -i and -w print them: keeping them to hex digits means a grape
// cannot use them to write arbitrary text, or terminal escapes, to the user's screen.
func checkNodeHex(key, s string) error {
	if len(s) > maxNodeHex {
		return fmt.Errorf("%s is %d characters, want at most %d hex digits", key, len(s), maxNodeHex)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return fmt.Errorf("%s is not hex", key)
		}
	}
	return nil
}

// intField reads seq, a JSON value the decoder has already found well formed.
func intField(raw json.RawMessage) (int64, error) {
	const key = "seq"
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return 0, syntaxError(err)
	}
	n, ok := tok.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s is %s, want an integer", key, kind(tok))
	}
	if strings.ContainsAny(string(n), ".eE") {
		return 0, fmt.Errorf("%s is %s, want an integer without fraction or exponent", key, n)
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is %s, out of the int64 range", key, n)
	}
	return i, nil
}

// kind names a JSON token for error messages.
func kind(tok json.Token) string {
	switch tok := tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case json.Delim:
		if tok == '[' {
			return "an array"
		}
		return "an object"
	}
	return fmt.Sprintf("%T", tok)
}

// NodeAnswer is the Answer of a node reached without a grape (a DHT node's reply to a
// get): it is item, from the node with that id, with its write token (none: ""). Raw is
// spelled as a grape spells its answers (id, k, seq, sig, token, v: the keys in bencode
// order, which grapes keep), so get -r prints the same shape over either transport.
func NodeAnswer(it bep44.Item, id, token []byte) *Answer {
	a := &Answer{Item: it, ID: hex.EncodeToString(id), Token: hex.EncodeToString(token)}
	raw := append(make([]byte, 0, 64+2*len(it.V)), `{"id":`...)
	raw = appendJQString(raw, a.ID)
	if it.Mutable() {
		raw = appendJQString(append(raw, `,"k":`...), hex.EncodeToString(it.K))
		raw = strconv.AppendInt(append(raw, `,"seq":`...), it.Seq, 10)
		raw = appendJQString(append(raw, `,"sig":`...), hex.EncodeToString(it.Sig))
	}
	raw = append(raw, `,"token":`...)
	if a.Token == "" {
		raw = append(raw, "null"...)
	} else {
		raw = appendJQString(raw, a.Token)
	}
	// v as a grape passes it on, as text: bytes that are not UTF-8 become U+FFFD.
	raw = appendJQString(append(raw, `,"v":`...), strings.ToValidUTF8(string(it.V), "\uFFFD"))
	a.Raw = append(raw, '}')
	return a
}
