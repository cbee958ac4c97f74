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
	a, ok := scanAnswer(body, salt)
	if !ok {
		var err error
		if a, err = walkAnswer(body, salt); err != nil {
			return nil, &ProtocolError{Status: http.StatusOK, Reason: err.Error(), Body: excerpt(body)}
		}
	}
	raw := bytes.NewBuffer(make([]byte, 0, len(body)))
	if err := json.Compact(raw, body); err != nil { // cannot fail after the walk
		return nil, &ProtocolError{Status: http.StatusOK, Reason: err.Error(), Body: excerpt(body)}
	}
	a.Raw = raw.Bytes()
	return a, nil
}

// scanAnswer is the fast path of decodeAnswer: it accepts an answer only when walkAnswer
// would, with the same result, and reports false for anything else (a fault, or what it
// does not handle, such as escapes in k), leaving walkAnswer to decide and to say what is
// wrong. encoding/json's token reader costs 45 to 105 allocations an answer; this costs
// one per field, which counts in a batch. Once json.Valid has passed, the scan can trust
// the syntax and only has to find the ends of keys and values.
func scanAnswer(body, salt []byte) (*Answer, bool) {
	if !utf8.Valid(body) || !json.Valid(body) {
		return nil, false
	}
	const (
		seenV = 1 << iota
		seenK
		seenSig
		seenSeq
		seenID
		seenToken
		seenSalt
	)
	var (
		seen    int
		others  [8]string // keys not known here, to refuse them twice
		nOthers int
		a       = &Answer{}
		sc      = jsonScan{b: body}
	)
	if sc.skipSpace(); !sc.eat('{') {
		return nil, false
	}
	for sc.skipSpace(); !sc.eat('}'); sc.skipSpace() {
		if sc.eat(',') {
			sc.skipSpace()
		}
		key, escaped := sc.str()
		if escaped {
			return nil, false // such as "\u0076": rare, left to walkAnswer
		}
		sc.skipSpace()
		sc.eat(':')
		sc.skipSpace()
		bit := 0
		switch string(key) {
		case "v":
			raw, ok := sc.strValue()
			if !ok {
				return nil, false
			}
			a.Item.V = raw
			bit = seenV
		case "k", "sig":
			size, dst := bep44.PublicKeySize, &a.Item.K
			bit = seenK
			if string(key) == "sig" {
				size, dst, bit = bep44.SignatureSize, &a.Item.Sig, seenSig
			}
			raw, escaped := sc.str()
			if raw == nil || escaped || len(raw) != 2*size {
				return nil, false
			}
			*dst = make([]byte, size)
			if _, err := hex.Decode(*dst, raw); err != nil {
				return nil, false
			}
		case "seq":
			num := sc.literal()
			if len(num) == 0 || !(num[0] == '-' || '0' <= num[0] && num[0] <= '9') || bytes.ContainsAny(num, ".eE") {
				return nil, false
			}
			n, err := strconv.ParseInt(string(num), 10, 64)
			if err != nil {
				return nil, false
			}
			a.Item.Seq, bit = n, seenSeq
		case "id", "token":
			bit = seenID
			if string(key) == "token" {
				bit = seenToken
				if sc.peek() == 'n' && string(sc.literal()) == "null" {
					break
				}
			}
			raw, escaped := sc.str()
			if raw == nil || escaped || checkNodeHex(string(key), string(raw)) != nil {
				return nil, false
			}
			if bit == seenID {
				a.ID = string(raw)
			} else {
				a.Token = string(raw)
			}
		case "salt":
			raw, escaped := sc.str()
			if raw == nil || escaped || !bytes.Equal(raw, salt) {
				return nil, false
			}
			bit = seenSalt
		default:
			for _, o := range others[:nOthers] {
				if o == string(key) {
					return nil, false
				}
			}
			if nOthers == len(others) {
				return nil, false
			}
			others[nOthers] = string(key)
			nOthers++
			sc.skipValue()
		}
		if seen&bit != 0 {
			return nil, false
		}
		seen |= bit
	}
	if sc.skipSpace(); sc.i != len(body) || seen&seenV == 0 {
		return nil, false
	}
	if m := seen & (seenK | seenSig | seenSeq); m != 0 && m != seenK|seenSig|seenSeq {
		return nil, false
	}
	if len(salt) > 0 {
		a.Item.Salt = append([]byte(nil), salt...)
	}
	return a, true
}

// jsonScan walks JSON that json.Valid has accepted.
type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) skipSpace() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *jsonScan) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *jsonScan) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// str reads a string and returns its bytes between the quotes, and whether they hold
// escapes; nil, and nothing read, when the value is not a string.
func (s *jsonScan) str() (raw []byte, escaped bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for s.b[s.i] != '"' {
		if s.b[s.i] == '\\' {
			escaped = true
			s.i++
		}
		s.i++
	}
	raw = s.b[start:s.i:s.i]
	s.i++
	return raw, escaped
}

// strValue reads a string value into a new slice, unescaping it as encoding/json does
// (a lone surrogate escape becomes U+FFFD, as walkAnswer's decoder makes it).
func (s *jsonScan) strValue() ([]byte, bool) {
	start := s.i
	raw, escaped := s.str()
	if raw == nil {
		return nil, false
	}
	if !escaped {
		return append(make([]byte, 0, len(raw)), raw...), true
	}
	var v string
	if json.Unmarshal(s.b[start:s.i], &v) != nil {
		return nil, false
	}
	return []byte(v), true
}

// literal reads a number, true, false or null.
func (s *jsonScan) literal() []byte {
	start := s.i
	for s.i < len(s.b) && !strings.ContainsRune(",}] \t\n\r", rune(s.b[s.i])) {
		s.i++
	}
	return s.b[start:s.i]
}

// skipValue reads any value.
func (s *jsonScan) skipValue() {
	switch s.peek() {
	case '"':
		s.str()
	case '{', '[':
		depth := 0
		for {
			switch s.peek() {
			case '"':
				s.str()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			s.i++
			if depth == 0 {
				return
			}
		}
	default:
		s.literal()
	}
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
