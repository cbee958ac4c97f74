package grape

import (
	"context"
	"errors"
	"fmt"

	"grenache/bep44"
)

// Transport carries items to and from the DHT, and service announcements and lookups.
// Its answers are not trusted: callers store with Store, read with Fetch, look up with
// Peers and announce with Announce, which check them.
type Transport interface {
	// Put stores it, with cas (the seq the stored item must have) when not nil, and
	// returns the key the grape answered, unchecked.
	Put(ctx context.Context, it *bep44.Item, cas *int64) (bep44.Target, error)
	// Get asks for the item under target, with salt for a salted mutable item, and
	// returns the answer unverified.
	Get(ctx context.Context, target bep44.Target, salt []byte) (*Answer, error)
	// Lookup returns the peers ("host:port") announced for service, unchecked: callers
	// use Peers, which checks them. None is an empty list.
	Lookup(ctx context.Context, service string) ([]string, error)
	// Announce announces service on port (1..65535) and returns how many nodes took it,
	// as answered: callers use the package function Announce, which requires one at least.
	Announce(ctx context.Context, service string, port int) (int, error)
}

// Answer is what a node answered to a get.
type Answer struct {
	Item  bep44.Item // V, K, Seq and Sig as answered; Salt is the salt asked with, never the grape's
	ID    string     // the answering node's id, hex
	Token string     // its write token, "" when the grape holds the item itself (null)
	// Raw is the answer as get -r prints it: the fields a check covers or that are
	// checked as hex (id, token, v; for a mutable item k, sig, seq and salt), in the
	// grape's order, as `jq -cM` prints them. Other fields are never in it.
	Raw []byte
	// AnsweredSalt is the salt the answer carried, nil when none. Fetch refuses an
	// answer whose salt is not the salt asked.
	AnsweredSalt *string
}

// Store puts it and checks that the grape stored it under it.Target(): a grape that
// answers another key stored something else, or under another key than readers will ask.
// The error then wraps bep44.ErrTargetMismatch; the answered key is returned either way.
func Store(ctx context.Context, t Transport, it *bep44.Item, cas *int64) (bep44.Target, error) {
	got, err := t.Put(ctx, it, cas)
	if err != nil {
		return got, err
	}
	if want := it.Target(); got != want {
		return got, fmt.Errorf("%w: the grape stored the item under %s, its target is %s", bep44.ErrTargetMismatch, got, want)
	}
	return got, nil
}

// ErrMutable marks a failed check of a mutable item's answer. With
// bep44.ErrTargetMismatch it most often means a missing or wrong salt.
var ErrMutable = errors.New("mutable item")

// mutableError marks err as ErrMutable without changing its message.
type mutableError struct{ error }

func (e mutableError) Unwrap() error        { return e.error }
func (e mutableError) Is(target error) bool { return target == ErrMutable }

// Fetch gets the item under target and returns it only when it checks out (Check). It
// is the one way callers read items.
func Fetch(ctx context.Context, t Transport, target bep44.Target, salt []byte) (*Answer, error) {
	a, err := t.Get(ctx, target, salt)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, fmt.Errorf("get %s: the transport returned no answer and no error", target)
	}
	if err := Check(a, target, salt); err != nil {
		return nil, err
	}
	return a, nil
}

// Check is what Fetch requires of an answer: a salt in it is the salt asked for, the
// item's limits hold, it is stored under target, and a mutable item's signature verifies
// with the salt asked for. A transport that hears several answers (a DHT node) uses it to
// choose among them; Fetch checks its choice again.
func Check(a *Answer, target bep44.Target, salt []byte) error {
	if a.AnsweredSalt != nil && *a.AnsweredSalt != string(salt) {
		return fmt.Errorf("%w: the answer's salt %q is not the salt asked with %q", bep44.ErrTargetMismatch, *a.AnsweredSalt, salt)
	}
	if err := a.Item.Check(target); err != nil {
		if a.Item.Mutable() {
			return mutableError{err}
		}
		return err
	}
	return nil
}
