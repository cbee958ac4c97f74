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

// decodeAnswer reads a get answer strictly, walking its tokens: a JSON object, no key
// twice (a relay could otherwise show one value and have another verified), v a string,
// k and sig hex of the right lengths, seq an integer that fits int64, id hex, token hex
// or null, and salt, when present, the salt asked with. k, sig and seq come
// together or not at all. Unknown keys are tolerated; nothing may follow the object.
// Failures are *ProtocolError saying what was wrong.
func decodeAnswer(body, salt []byte) (*Answer, error) {
	a, err := walkAnswer(body, salt)
	if err != nil {
		return nil, &ProtocolError{Status: http.StatusOK, Reason: err.Error(), Body: excerpt(body)}
	}
	var raw bytes.Buffer
	if err := json.Compact(&raw, body); err != nil { // cannot fail after the walk
		return nil, &ProtocolError{Status: http.StatusOK, Reason: err.Error(), Body: excerpt(body)}
	}
	a.Raw = raw.Bytes()
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
	seen := make(map[string]bool)
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
			if a.Item.K, err = hexField(dec, key, bep44.PublicKeySize); err != nil {
				return nil, err
			}
		case "sig":
			if a.Item.Sig, err = hexField(dec, key, bep44.SignatureSize); err != nil {
				return nil, err
			}
		case "seq":
			if a.Item.Seq, err = intField(dec, key); err != nil {
				return nil, err
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
			if s != string(salt) {
				return nil, fmt.Errorf("the answer's salt %q is not the salt asked with %q", s, salt)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, syntaxError(err)
			}
		}
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
	if n := btoi(seen["k"]) + btoi(seen["sig"]) + btoi(seen["seq"]); n != 0 && n != 3 {
		return nil, fmt.Errorf("a mutable answer needs k, sig and seq; got k %t, sig %t, seq %t", seen["k"], seen["sig"], seen["seq"])
	}
	if len(salt) > 0 {
		a.Item.Salt = append([]byte(nil), salt...)
	}
	return a, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
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

func hexField(dec *json.Decoder, key string, size int) ([]byte, error) {
	s, err := stringField(dec, key)
	if err != nil {
		return nil, err
	}
	if len(s) != 2*size {
		return nil, fmt.Errorf("%s is %d characters, want %d hex digits", key, len(s), 2*size)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not hex", key)
	}
	return b, nil
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

func intField(dec *json.Decoder, key string) (int64, error) {
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
