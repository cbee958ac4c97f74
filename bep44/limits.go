package bep44

import "fmt"

// The limits on an item, all in one place. Writers and readers apply different ones on
// purpose: a writer keeps within what the nodes it writes to accept; a reader accepts
// every genuine item a node may hold.
//
//	limit                 bound                          why
//	--------------------  -----------------------------  ----------------------------------------
//	value, read           MaxNodeValue: 1000 bytes of v  bittorrent-dht, the Grenache network's
//	(CheckValue)                                         DHT, refuses a put whose v is over 1000
//	                                                     bytes (error 205): no node keeps more, so
//	                                                     Item.Check accepts up to that and no more.
//	value, BEP 44         MaxBencodedValue: 1000 bytes   BEP 44 caps v bencoded ("<len>:<v>"), so
//	(CheckBEPValue)       bencoded = MaxBEPValue: 996    996 bytes of string. Nodes of the public
//	                      bytes of string                DHT (libtorrent) enforce it: a transport
//	                                                     writing to them checks CheckBEPValue.
//	value, put through    at most 1000 bytes and fewer   The sending grape refuses a JavaScript
//	a grape               than 1000 UTF-16 units         string of 1000 units or more; its peers
//	(grape.CheckValue)    (grape.MaxPutUTF16): every     refuse over 1000 bytes. So a grape stores
//	                      value up to 999 bytes          999 bytes of ASCII, 1000 of multi-byte
//	                                                     text. The empty value is stored too.
//	salt                  MaxSaltSize: 64 bytes          BEP 44 (error 207), bittorrent-dht alike.
//	(CheckSalt)                                          Empty means no salt.
//	seq, cas, written     0..MaxSeq (2^53)               BEP 44 allows any int64, but grapes
//	(CheckSeq)                                           carry seq and cas as JavaScript numbers,
//	                                                     exact only up to 2^53. A reader takes
//	                                                     any seq a valid signature covers.
//	k, sig                PublicKeySize 32,              ed25519.
//	                      SignatureSize 64 bytes
const (
	MaxNodeValue     = 1000                 // bytes of v a DHT node keeps
	MaxBencodedValue = 1000                 // BEP 44: bytes of v bencoded
	MaxBEPValue      = MaxBencodedValue - 4 // BEP 44: bytes of string ("996:" + 996 bytes)
	MaxSaltSize      = 64                   // bytes
	MaxSeq           = 1 << 53              // inclusive bound for seq and cas written through a grape
	PublicKeySize    = 32
	SignatureSize    = 64
)

// CheckValue reports ErrValueTooLarge when v is over MaxNodeValue bytes: more than any
// node keeps. Empty is fine.
func CheckValue(v []byte) error {
	if len(v) > MaxNodeValue {
		return fmt.Errorf("%w: the value is %d bytes, a DHT node keeps at most %d", ErrValueTooLarge, len(v), MaxNodeValue)
	}
	return nil
}

// CheckBEPValue reports ErrValueTooLarge when v bencoded is over MaxBencodedValue bytes,
// BEP 44's own reading, which nodes of the public DHT enforce.
func CheckBEPValue(v []byte) error {
	if n := ValueSize(v); n > MaxBencodedValue {
		return fmt.Errorf("%w: the value is %d bytes, %d bencoded; BEP 44 allows %d bencoded (%d bytes of string)",
			ErrValueTooLarge, len(v), n, MaxBencodedValue, MaxBEPValue)
	}
	return nil
}

// CheckSalt reports ErrSaltTooLarge for a salt over MaxSaltSize bytes. Empty is fine.
func CheckSalt(salt []byte) error {
	if len(salt) > MaxSaltSize {
		return fmt.Errorf("%w: salt is %d bytes, the limit is %d", ErrSaltTooLarge, len(salt), MaxSaltSize)
	}
	return nil
}

// CheckSeq reports ErrSeqRange for n outside 0..MaxSeq.
func CheckSeq(n int64) error {
	if n < 0 || n > MaxSeq {
		return fmt.Errorf("%w: %d is outside 0..%d", ErrSeqRange, n, int64(MaxSeq))
	}
	return nil
}
