package bep44

import (
	"fmt"
)

// Item is a BEP 44 item. Immutable items have no K; Salt, Seq and Sig then mean nothing.
type Item struct {
	V    []byte // the string value, raw (not bencoded)
	K    []byte // nil for immutable, else the 32-byte public key
	Salt []byte
	Seq  int64
	Sig  []byte
}

// NewImmutable makes an immutable item after checking the value size.
func NewImmutable(v []byte) (*Item, error) {
	if err := CheckValue(v); err != nil {
		return nil, err
	}
	return &Item{V: v}, nil
}

// NewMutable checks value, salt and seq, then signs the item with s.
func NewMutable(s Signer, salt []byte, seq int64, v []byte) (*Item, error) {
	if err := CheckValue(v); err != nil {
		return nil, err
	}
	if err := CheckSalt(salt); err != nil {
		return nil, err
	}
	if err := CheckSeq(seq); err != nil {
		return nil, err
	}
	k := s.PublicKey()
	if len(k) != PublicKeySize {
		return nil, fmt.Errorf("%w: public key is %d bytes, want %d", ErrKeySize, len(k), PublicKeySize)
	}
	if len(salt) == 0 {
		salt = nil
	}
	return &Item{V: v, K: k, Salt: salt, Seq: seq, Sig: s.Sign(SignedBuffer(salt, seq, v))}, nil
}

// Mutable reports whether the item carries a public key.
func (it *Item) Mutable() bool { return len(it.K) > 0 }

// Target is where the item is stored.
func (it *Item) Target() Target {
	if it.Mutable() {
		return MutableTarget(it.K, it.Salt)
	}
	return ImmutableTarget(it.V)
}

// Check is what a reader does with an item that came back from the network before
// trusting it: the limits hold, it is stored under the target that was asked for, and a
// mutable item's signature verifies. Seq is not range-checked: a validly signed item
// with any seq is genuine.
func (it *Item) Check(target Target) error {
	if err := CheckValue(it.V); err != nil {
		return err
	}
	if it.Mutable() {
		if len(it.K) != PublicKeySize {
			return fmt.Errorf("%w: public key is %d bytes, want %d", ErrKeySize, len(it.K), PublicKeySize)
		}
		if err := CheckSalt(it.Salt); err != nil {
			return err
		}
		if len(it.Sig) != SignatureSize {
			return fmt.Errorf("%w: signature is %d bytes, want %d", ErrInvalidSignature, len(it.Sig), SignatureSize)
		}
	}
	if got := it.Target(); got != target {
		return fmt.Errorf("%w: asked for %s, the item's is %s", ErrTargetMismatch, target, got)
	}
	if it.Mutable() && !Verify(it.K, it.Salt, it.Seq, it.V, it.Sig) {
		return fmt.Errorf("%w: seq %d under key %x", ErrInvalidSignature, it.Seq, it.K)
	}
	return nil
}
