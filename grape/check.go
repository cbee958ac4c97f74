package grape

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
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

// CheckValue refuses a value that is not valid UTF-8: grapes carry values as JSON
// strings, so other bytes than the ones given would be stored.
func CheckValue(v []byte) error {
	if !utf8.Valid(v) {
		return errors.New("the value is not valid UTF-8: the grape carries values as text and would store other bytes")
	}
	return nil
}
