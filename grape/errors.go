package grape

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"grenache/bep44"
)

var (
	// ErrNotFound is a get answered with an empty body: no node holds the item (the grape
	// gives the same answer for a target it could not parse).
	ErrNotFound = errors.New("not found")

	// ErrCASMismatch is a put with cas answered with HTTP 301: the stored item's seq is not
	// the cas given. It wraps bep44.ErrCASMismatch, so either sentinel matches with errors.Is.
	ErrCASMismatch = fmt.Errorf("the grape answered 301: %w: the stored sequence number is not the cas given; re-read the item and try again", bep44.ErrCASMismatch)

	// ErrSeqNotNewer is a mutable put answered with HTTP 302: a node holds the item with a
	// seq at least as high. It wraps bep44.ErrSeqTooLow.
	ErrSeqNotNewer = fmt.Errorf("the grape answered 302: %w: a node holds this item with an equal or higher sequence number", bep44.ErrSeqTooLow)

	// ErrAnswerTooLarge is an answer over HTTP.MaxAnswer bytes; reading stops there.
	ErrAnswerTooLarge = errors.New("the grape's answer is too large")
)

// GrapeError is an error the grape reported: a JSON string answer that is not a key, such
// as "All queries failed" or "No nodes to query".
type GrapeError struct {
	Message string
}

func (e *GrapeError) Error() string { return "the grape answered: " + shown(e.Message) }

// shown is a message from the network as an error shows it: as written, unless it holds
// bytes a terminal would interpret (then quoted, with Go's escapes), so that a hostile
// peer cannot drive the user's terminal. A long one is cut: such messages are a few
// words, and an answer may be up to its size bound.
func shown(message string) string {
	msg, more := message, ""
	if len(msg) > grapeMessageMax {
		cut := grapeMessageMax
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg, more = msg[:cut], fmt.Sprintf("... (%d bytes)", len(message))
	}
	if isPrintable(msg) {
		return msg + more
	}
	return fmt.Sprintf("%q%s", msg, more)
}

// grapeMessageMax bounds what shown keeps of a message, in bytes.
const grapeMessageMax = 200

// ProtocolError is an answer that is none of the shapes a grape gives: an unexpected HTTP
// status, a body that is not the JSON expected, a malformed field.
type ProtocolError struct {
	Status int    // HTTP status
	Reason string // what was wrong
	Body   string // a short printable excerpt of the body
}

func (e *ProtocolError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "unexpected answer from the grape (HTTP %d): %s", e.Status, e.Reason)
	if e.Body != "" {
		fmt.Fprintf(&b, ": %q", e.Body)
	}
	return b.String()
}

// excerptMax bounds ProtocolError.Body, in bytes.
const excerptMax = 100

// excerpt returns the start of body for an error message: at most excerptMax bytes,
// whitespace trimmed, invalid UTF-8 and non-printable characters shown as '.', with "..."
// when cut.
func excerpt(body []byte) string {
	s := strings.TrimSpace(string(body))
	var b strings.Builder
	for i, r := range s {
		if b.Len() >= excerptMax {
			return b.String() + "..."
		}
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") || !unicode.IsPrint(r) {
			if unicode.IsSpace(r) {
				r = ' '
			} else {
				r = '.'
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isPrintable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return utf8.ValidString(s)
}
