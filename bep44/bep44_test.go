package bep44

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/google/go-cmp/cmp"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The official vectors from BEP 44.
const (
	vecPub    = "77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548"
	vecSecret = "e06d3183d14159228433ed599221b80bd0a5ce8352e4bdf0262f76786ef1c74d" +
		"b7e7a9fea2c0eb269d61e3b38e450a22e754941ac78479d6c54e1faf6037881d"
)

func TestOfficialVectors(t *testing.T) {
	v := []byte("Hello World!")
	pub := unhex(t, vecPub)
	secret := unhex(t, vecSecret)
	tests := []struct {
		name    string
		mutable bool
		salt    string
		buffer  string
		target  string
		sig     string
	}{
		{
			name:    "mutable without salt",
			mutable: true,
			buffer:  "3:seqi1e1:v12:Hello World!",
			target:  "4a533d47ec9c7d95b1ad75f576cffc641853b750",
			sig: "305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff" +
				"1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01",
		},
		{
			name:    "mutable with salt",
			mutable: true,
			salt:    "foobar",
			buffer:  "4:salt6:foobar3:seqi1e1:v12:Hello World!",
			target:  "411eba73b6f087ca51a3795d9c8c938d365e32c1",
			sig: "6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d" +
				"df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08",
		},
		{
			name:   "immutable",
			target: "e5f96f6f38320f0f33959cb4d3d656452117aadb",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.mutable {
				if diff := cmp.Diff("12:Hello World!", string(AppendValue(nil, v))); diff != "" {
					t.Errorf("bencoded value mismatch (-want +got)\n%s", diff)
				}
				if diff := cmp.Diff(tt.target, ImmutableTarget(v).String()); diff != "" {
					t.Errorf("target mismatch (-want +got)\n%s", diff)
				}
				it, err := NewImmutable(v)
				if err != nil {
					t.Fatal(err)
				}
				if err := it.Check(mustParse(t, tt.target)); err != nil {
					t.Errorf("Check: %v", err)
				}
				return
			}
			salt := []byte(tt.salt)
			if diff := cmp.Diff(tt.buffer, string(SignedBuffer(salt, 1, v))); diff != "" {
				t.Errorf("signed buffer mismatch (-want +got)\n%s", diff)
			}
			if diff := cmp.Diff(tt.target, MutableTarget(pub, salt).String()); diff != "" {
				t.Errorf("target mismatch (-want +got)\n%s", diff)
			}
			s, err := NewSigner(secret)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(vecPub, hex.EncodeToString(s.PublicKey())); diff != "" {
				t.Errorf("public key mismatch (-want +got)\n%s", diff)
			}
			derived, err := ExpandedPublicKey(secret)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(vecPub, hex.EncodeToString(derived)); diff != "" {
				t.Errorf("ExpandedPublicKey mismatch (-want +got)\n%s", diff)
			}
			it, err := NewMutable(s, salt, 1, v)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.sig, hex.EncodeToString(it.Sig)); diff != "" {
				t.Errorf("signature mismatch (-want +got)\n%s", diff)
			}
			if !Verify(pub, salt, 1, v, unhex(t, tt.sig)) {
				t.Error("Verify rejects the official signature")
			}
			if !ed25519.Verify(pub, []byte(tt.buffer), unhex(t, tt.sig)) {
				t.Error("crypto/ed25519 rejects the official signature")
			}
			if err := it.Check(mustParse(t, tt.target)); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func mustParse(t testing.TB, s string) Target {
	t.Helper()
	tg, err := ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestSeedSignerRoundTrip(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	s, err := NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	want := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if diff := cmp.Diff([]byte(want), s.PublicKey()); diff != "" {
		t.Errorf("public key mismatch (-want +got)\n%s", diff)
	}
	it, err := NewMutable(s, []byte("salt"), 42, []byte("value"))
	if err != nil {
		t.Fatal(err)
	}
	if !Verify(it.K, it.Salt, it.Seq, it.V, it.Sig) {
		t.Error("Verify rejects a fresh signature")
	}
	if err := it.Check(MutableTarget(want, []byte("salt"))); err != nil {
		t.Errorf("Check: %v", err)
	}
	if _, err := NewSigner(seed[:31]); !errors.Is(err, ErrKeySize) {
		t.Errorf("31-byte seed: got %v, want ErrKeySize", err)
	}
	if _, err := NewSigner(append(seed, seed[:31]...)); !errors.Is(err, ErrKeySize) {
		t.Errorf("63-byte private key: got %v, want ErrKeySize", err)
	}
}

// A seed signer and the expanded signer made from the same seed's expansion must agree,
// which ties the hand-written arithmetic to crypto/ed25519 beyond the two vectors.
func TestExpandedMatchesSeed(t *testing.T) {
	seed := []byte("0123456789abcdef0123456789abcdef")
	h := sha512Sum(seed)
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	es, err := NewSigner(h[:])
	if err != nil {
		t.Fatal(err)
	}
	ss, _ := NewSigner(seed)
	msg := SignedBuffer([]byte("s"), 3, []byte("héllo ✓"))
	if diff := cmp.Diff(ss.PublicKey(), es.PublicKey()); diff != "" {
		t.Errorf("public key mismatch (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff(ss.Sign(msg), es.Sign(msg)); diff != "" {
		t.Errorf("signature mismatch (-want +got)\n%s", diff)
	}
}

func TestVerifyNegative(t *testing.T) {
	s, _ := NewSigner(bytes.Repeat([]byte{1}, 32))
	salt, v := []byte("salt"), []byte("value")
	it, err := NewMutable(s, salt, 5, v)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 1
		return c
	}
	tests := []struct {
		name           string
		k, salt, v, sg []byte
		seq            int64
	}{
		{name: "v bit", k: it.K, salt: salt, v: flip(v, 0), sg: it.Sig, seq: 5},
		{name: "sig bit R", k: it.K, salt: salt, v: v, sg: flip(it.Sig, 3), seq: 5},
		{name: "sig bit S", k: it.K, salt: salt, v: v, sg: flip(it.Sig, 40), seq: 5},
		{name: "salt bit", k: it.K, salt: flip(salt, 2), v: v, sg: it.Sig, seq: 5},
		{name: "salt dropped", k: it.K, v: v, sg: it.Sig, seq: 5},
		{name: "seq", k: it.K, salt: salt, v: v, sg: it.Sig, seq: 4},
		{name: "k bit", k: flip(it.K, 0), salt: salt, v: v, sg: it.Sig, seq: 5},
		{name: "short k", k: it.K[:31], salt: salt, v: v, sg: it.Sig, seq: 5},
		{name: "short sig", k: it.K, salt: salt, v: v, sg: it.Sig[:63], seq: 5},
		{name: "nil sig", k: it.K, salt: salt, v: v, seq: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if Verify(tt.k, tt.salt, tt.seq, tt.v, tt.sg) {
				t.Error("Verify accepted a tampered item")
			}
		})
	}
	if !Verify(it.K, salt, 5, v, it.Sig) {
		t.Error("Verify rejects the untampered item")
	}
}

func TestLimits(t *testing.T) {
	s, _ := NewSigner(make([]byte, 32))
	tests := []struct {
		name     string
		v, salt  []byte
		seq      int64
		wantErr  error
		wantCode int
	}{
		{name: "empty value", v: []byte{}},
		{name: "997-byte value", v: make([]byte, 997)},
		{name: "1000-byte value", v: make([]byte, 1000)},
		{name: "1001-byte value", v: make([]byte, 1001), wantErr: ErrValueTooLarge, wantCode: 205},
		{name: "64-byte salt", v: []byte("x"), salt: make([]byte, 64)},
		{name: "65-byte salt", v: []byte("x"), salt: make([]byte, 65), wantErr: ErrSaltTooLarge, wantCode: 207},
		{name: "seq max", v: []byte("x"), seq: MaxSeq},
		{name: "seq over max", v: []byte("x"), seq: MaxSeq + 1, wantErr: ErrSeqRange},
		{name: "seq negative", v: []byte("x"), seq: -1, wantErr: ErrSeqRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewMutable(s, tt.salt, tt.seq, tt.v)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("NewMutable: got %v, want %v", err, tt.wantErr)
			}
			if got := Code(err); got != tt.wantCode {
				t.Errorf("Code = %d, want %d", got, tt.wantCode)
			}
		})
	}
	// CheckValue is what a node keeps: 1000 bytes of string.
	if err := CheckValue(make([]byte, 1000)); err != nil {
		t.Errorf("CheckValue(1000): %v", err)
	}
	want := "value too large: the value is 1001 bytes, a DHT node keeps at most 1000"
	if diff := cmp.Diff(want, errString(CheckValue(make([]byte, 1001)))); diff != "" {
		t.Errorf("CheckValue(1001) message mismatch (-want +got)\n%s", diff)
	}
	// CheckBEPValue is BEP 44's reading: 1000 bytes bencoded, 996 of string.
	if err := CheckBEPValue(make([]byte, MaxBEPValue)); err != nil {
		t.Errorf("CheckBEPValue(996): %v", err)
	}
	want = "value too large: the value is 997 bytes, 1001 bencoded; BEP 44 allows 1000 bencoded (996 bytes of string)"
	if diff := cmp.Diff(want, errString(CheckBEPValue(make([]byte, 997)))); diff != "" {
		t.Errorf("CheckBEPValue(997) message mismatch (-want +got)\n%s", diff)
	}
	if Code(CheckBEPValue(make([]byte, 997))) != 205 {
		t.Errorf("CheckBEPValue(997) is not error 205")
	}
	if diff := cmp.Diff("salt too large: salt is 65 bytes, the limit is 64", errString(CheckSalt(make([]byte, 65)))); diff != "" {
		t.Errorf("CheckSalt(65) message mismatch (-want +got)\n%s", diff)
	}
	if _, err := NewImmutable(make([]byte, 1001)); !errors.Is(err, ErrValueTooLarge) {
		t.Errorf("NewImmutable(1001): got %v, want ErrValueTooLarge", err)
	}
	if _, err := NewImmutable(make([]byte, 1000)); err != nil {
		t.Errorf("NewImmutable(1000): %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestNonASCIILengths(t *testing.T) {
	v := []byte("héllo ✓") // é is 2 bytes, ✓ is 3: 10 bytes, 7 characters
	if diff := cmp.Diff("10:héllo ✓", string(AppendValue(nil, v))); diff != "" {
		t.Errorf("AppendValue mismatch (-want +got)\n%s", diff)
	}
	if got := ValueSize(v); got != 13 {
		t.Errorf("ValueSize = %d, want 13", got)
	}
	if diff := cmp.Diff("4:salt2:é3:seqi0e1:v10:héllo ✓", string(SignedBuffer([]byte("é"), 0, v))); diff != "" {
		t.Errorf("SignedBuffer mismatch (-want +got)\n%s", diff)
	}
	want := sha1Hex("10:héllo ✓")
	if diff := cmp.Diff(want, ImmutableTarget(v).String()); diff != "" {
		t.Errorf("ImmutableTarget mismatch (-want +got)\n%s", diff)
	}
	// Limits count bytes: 996 bytes of 3-byte characters is 332 characters, the
	// largest value within BEP 44's reading; 333 is 999 bytes, within a node's.
	if err := CheckBEPValue([]byte(strings.Repeat("✓", 332))); err != nil {
		t.Errorf("332 × ✓: %v", err)
	}
	if err := CheckBEPValue([]byte(strings.Repeat("✓", 333))); !errors.Is(err, ErrValueTooLarge) {
		t.Errorf("333 × ✓: got %v, want ErrValueTooLarge", err)
	}
}

// A key with a NUL byte and a trailing newline must be handled as bytes, never as a
// C string or a line.
func TestAwkwardPublicKey(t *testing.T) {
	var s Signer
	for i := 0; ; i++ {
		seed := bytes.Repeat([]byte{byte(i)}, 32)
		seed[0] = byte(i >> 8)
		s, _ = NewSigner(seed)
		k := s.PublicKey()
		if bytes.IndexByte(k, 0) >= 0 && k[31] == '\n' {
			break
		}
	}
	k := s.PublicKey()
	salt := []byte("x")
	it, err := NewMutable(s, salt, 1, []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sha1Hex(string(k)+"x"), it.Target().String()); diff != "" {
		t.Errorf("target mismatch (-want +got)\n%s", diff)
	}
	if err := it.Check(MutableTarget(k, salt)); err != nil {
		t.Errorf("Check: %v", err)
	}
	if !Verify(k, salt, 1, []byte("v"), it.Sig) {
		t.Error("Verify rejects the item")
	}
}

func TestParseTarget(t *testing.T) {
	const lower = "4a533d47ec9c7d95b1ad75f576cffc641853b750"
	tests := []struct {
		in, want, wantErr string
	}{
		{in: lower, want: lower},
		{in: strings.ToUpper(lower), want: lower},
		{in: lower[:39], wantErr: "malformed target: 39 characters, want 40 hex digits"},
		{in: lower + "0", wantErr: "malformed target: 41 characters, want 40 hex digits"},
		{in: "", wantErr: "malformed target: 0 characters, want 40 hex digits"},
		{in: lower[:4] + "g" + lower[5:], wantErr: `malformed target: non-hex character 'g' at position 5`},
		{in: "é" + lower[1:], wantErr: `malformed target: non-hex character 'é' at position 1`},
		{in: lower[:39] + " ", wantErr: `malformed target: non-hex character ' ' at position 40`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if tt.wantErr != "" {
				if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
					t.Errorf("error mismatch (-want +got)\n%s", diff)
				}
				if !errors.Is(err, ErrTargetSyntax) {
					t.Errorf("error %v is not ErrTargetSyntax", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.String()); diff != "" {
				t.Errorf("target mismatch (-want +got)\n%s", diff)
			}
		})
	}
}

func TestItemCheck(t *testing.T) {
	s, _ := NewSigner(bytes.Repeat([]byte{9}, 32))
	good, err := NewMutable(s, []byte("salt"), 2, []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	target := good.Target()
	edit := func(f func(*Item)) *Item {
		c := *good
		f(&c)
		return &c
	}
	tests := []struct {
		name    string
		it      *Item
		target  Target
		wantErr error
	}{
		{name: "good", it: good, target: target},
		{name: "other target", it: good, target: Target{1}, wantErr: ErrTargetMismatch},
		{name: "wrong salt", it: edit(func(i *Item) { i.Salt = []byte("other") }), target: target, wantErr: ErrTargetMismatch},
		{name: "wrong seq", it: edit(func(i *Item) { i.Seq = 3 }), target: target, wantErr: ErrInvalidSignature},
		{name: "wrong v", it: edit(func(i *Item) { i.V = []byte("w") }), target: target, wantErr: ErrInvalidSignature},
		{name: "short sig", it: edit(func(i *Item) { i.Sig = i.Sig[:10] }), target: target, wantErr: ErrInvalidSignature},
		{name: "short k", it: edit(func(i *Item) { i.K = i.K[:31] }), target: target, wantErr: ErrKeySize},
		{name: "big salt", it: edit(func(i *Item) { i.Salt = make([]byte, 65) }), target: target, wantErr: ErrSaltTooLarge},
		{name: "big v", it: edit(func(i *Item) { i.V = make([]byte, 1001) }), target: target, wantErr: ErrValueTooLarge},
		{name: "immutable", it: &Item{V: []byte("v")}, target: ImmutableTarget([]byte("v"))},
		{name: "immutable empty", it: &Item{V: []byte{}}, target: ImmutableTarget(nil)},
		{name: "immutable 1000 bytes", it: &Item{V: make([]byte, 1000)}, target: ImmutableTarget(make([]byte, 1000))},
		{name: "immutable 1001 bytes", it: &Item{V: make([]byte, 1001)}, target: ImmutableTarget(make([]byte, 1001)), wantErr: ErrValueTooLarge},
		{name: "immutable other v", it: &Item{V: []byte("w")}, target: ImmutableTarget([]byte("v")), wantErr: ErrTargetMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.it.Check(tt.target)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Check: got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestEmptySaltIsNoSalt(t *testing.T) {
	pub := unhex(t, vecPub)
	if MutableTarget(pub, []byte{}) != MutableTarget(pub, nil) {
		t.Error("empty salt and nil salt give different targets")
	}
	if diff := cmp.Diff("3:seqi7e1:v1:x", string(SignedBuffer([]byte{}, 7, []byte("x")))); diff != "" {
		t.Errorf("signed buffer mismatch (-want +got)\n%s", diff)
	}
}

// signedDict is the dict the signed buffer is, for the independent bencoder.
type signedDict struct {
	Salt string `bencode:"salt,omitempty"`
	Seq  int64  `bencode:"seq"`
	V    string `bencode:"v"`
}

func bencodeBuffer(t testing.TB, salt []byte, seq int64, v []byte) []byte {
	t.Helper()
	b, err := bencode.Marshal(signedDict{Salt: string(salt), Seq: seq, V: string(v)})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 'd' || b[len(b)-1] != 'e' {
		t.Fatalf("bencode.Marshal gave %q, not a dict", b)
	}
	return b[1 : len(b)-1]
}

func TestSignedBufferMatchesBencode(t *testing.T) {
	tests := []struct {
		salt, v string
		seq     int64
	}{
		{v: "Hello World!", seq: 1},
		{salt: "foobar", v: "Hello World!", seq: 1},
		{v: "", seq: 0},
		{salt: "é", v: "héllo ✓", seq: MaxSeq},
		{salt: "\x00\n", v: "\x00", seq: -9223372036854775808},
		{v: strings.Repeat("a", 996), seq: 9223372036854775807},
	}
	for _, tt := range tests {
		want := bencodeBuffer(t, []byte(tt.salt), tt.seq, []byte(tt.v))
		got := AppendSignedBuffer([]byte("prefix"), []byte(tt.salt), tt.seq, []byte(tt.v))
		if diff := cmp.Diff("prefix"+string(want), string(got)); diff != "" {
			t.Errorf("AppendSignedBuffer mismatch (-want +got)\n%s", diff)
		}
		if diff := cmp.Diff(string(want), string(SignedBuffer([]byte(tt.salt), tt.seq, []byte(tt.v)))); diff != "" {
			t.Errorf("SignedBuffer mismatch (-want +got)\n%s", diff)
		}
		bv, _ := bencode.Marshal(tt.v)
		if diff := cmp.Diff(string(bv), string(AppendValue(nil, []byte(tt.v)))); diff != "" {
			t.Errorf("AppendValue mismatch (-want +got)\n%s", diff)
		}
	}
}

func FuzzSignedBuffer(f *testing.F) {
	f.Add([]byte("foobar"), int64(1), []byte("Hello World!"))
	f.Add([]byte(nil), int64(-1), []byte(""))
	f.Fuzz(func(t *testing.T, salt []byte, seq int64, v []byte) {
		want := bencodeBuffer(t, salt, seq, v)
		if got := SignedBuffer(salt, seq, v); !bytes.Equal(want, got) {
			t.Errorf("SignedBuffer = %q, bencode gives %q", got, want)
		}
		bv, err := bencode.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendValue(nil, v); !bytes.Equal(bv, got) {
			t.Errorf("AppendValue = %q, bencode gives %q", got, bv)
		}
		if ValueSize(v) != len(bv) {
			t.Errorf("ValueSize = %d, bencode gives %d bytes", ValueSize(v), len(bv))
		}
		if ImmutableTarget(v) != Target(sha1Sum(bv)) {
			t.Error("ImmutableTarget differs from SHA-1 of the bencoded value")
		}
	})
}
