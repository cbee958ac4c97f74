package grape

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"grenache/bep44"
)

// CheckSalt refuses a salt the grape would turn into other bytes than the ones signed and
// hashed, so that the item could never be verified or even found.
//
// The grape decodes a mutable put's salt, and a get's salt, with "try JSON.parse, else
// take the text", and hands the parsed value to Node's Buffer.from. That changes the
// bytes when the salt parses as a JSON string (`"x"` becomes x), an array ([1,2] becomes
// bytes 1 and 2) or an object ({"length":2} becomes two zero bytes, {"type":"Buffer",
// "data":[...]} those bytes). A salt that parses as a number, true, false or null is
// safe: Buffer.from refuses those and the grape falls back to the text. Objects are all
// refused, though only some are mangled, to keep the rule short enough to explain.
//
// The salt also travels as a JSON string, so it must be valid UTF-8. An empty salt (no
// salt) is fine.
func CheckSalt(salt []byte) error {
	if !utf8.Valid(salt) {
		return errors.New("the salt is not valid UTF-8: the grape carries it as text and would store other bytes, so the item could never be verified")
	}
	if !json.Valid(salt) {
		return nil
	}
	switch bytes.TrimLeft(salt, " \t\r\n")[0] {
	case '"':
		return errors.New("the salt is a quoted JSON string: the grape would parse it and drop the quotes, so the item could never be verified")
	case '[':
		return errors.New("the salt is a JSON array: the grape would parse it into other bytes, so the item could never be verified")
	case '{':
		return errors.New("the salt is a JSON object: the grape may parse it into other bytes, so the item could never be verified")
	}
	return nil
}

// MaxPutUTF16 bounds a put's value in UTF-16 code units: the sending grape refuses a
// JavaScript string of 1000 units or more ("v must be less than 1000 bytes in put()",
// though it counts units, not bytes). With bep44.MaxNodeValue, what its peers keep, a
// grape stores a value of at most 1000 bytes and fewer than 1000 units: every value of
// up to 999 bytes, and multi-byte text of up to 1000 bytes. The table of every limit,
// and why, is in bep44/limits.go.
const MaxPutUTF16 = 999

// CheckValue refuses a value a grape would not store as given: not valid UTF-8 (grapes
// carry values as JSON strings, so other bytes would be stored), over bep44.MaxNodeValue
// bytes, or over MaxPutUTF16 UTF-16 units. The empty value is stored like any other.
func CheckValue(v []byte) error {
	if !utf8.Valid(v) {
		return errors.New("the value is not valid UTF-8: the grape carries values as text and would store other bytes")
	}
	if err := bep44.CheckValue(v); err != nil {
		return err
	}
	if n := utf16Len(v); n > MaxPutUTF16 {
		return fmt.Errorf("%w: the value is %d characters (UTF-16 units), a grape stores fewer than %d", bep44.ErrValueTooLarge, n, MaxPutUTF16+1)
	}
	return nil
}

// utf16Len is the length of valid UTF-8 v as a JavaScript string: one unit a character,
// two for one outside the Basic Multilingual Plane (4 bytes in UTF-8).
func utf16Len(v []byte) int {
	n := 0
	for _, c := range v {
		switch {
		case c < 0x80 || c >= 0xc0 && c < 0xf0: // ASCII, or the lead byte of 2 or 3
			n++
		case c >= 0xf0: // the lead byte of 4: a surrogate pair
			n += 2
		}
	}
	return n
}
