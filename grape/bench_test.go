package grape

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"

	"grenache/bep44"
)

// benchAnswer is a get answer shaped as a grape writes them (id, token, v, then the
// mutable fields), with a sensor-sized value or the largest ASCII value a grape stores.
type benchAnswer struct {
	name   string
	body   []byte
	salt   []byte
	target bep44.Target
}

func benchAnswers(b *testing.B) []benchAnswer {
	b.Helper()
	seed := bytes.Repeat([]byte{7}, 32)
	s, err := bep44.NewSigner(seed)
	if err != nil {
		b.Fatal(err)
	}
	const id = "f746cda68c7df93f7917f932b15e6c5a037e6232"
	var out []benchAnswer
	for _, v := range []struct {
		size string
		v    []byte
	}{
		{"small", []byte(`sensor 17 temperature 21.5 humidity 40 at 2026-11-26T02:00:00Z`)},
		{"999B", bytes.Repeat([]byte("v"), MaxPutUTF16)},
	} {
		imm := fmt.Sprintf(`{"id":%q,"token":null,"v":%q}`, id, v.v)
		out = append(out, benchAnswer{"immutable/" + v.size, []byte(imm), nil, bep44.ImmutableTarget(v.v)})

		salt := []byte("sensor-17")
		it, err := bep44.NewMutable(s, salt, 1764122400000000, v.v)
		if err != nil {
			b.Fatal(err)
		}
		mut := fmt.Sprintf(`{"id":%q,"token":null,"v":%q,"seq":%d,"k":%q,"sig":%q,"salt":%q}`,
			id, v.v, it.Seq, hex.EncodeToString(it.K), hex.EncodeToString(it.Sig), salt)
		out = append(out, benchAnswer{"mutable/" + v.size, []byte(mut), salt, it.Target()})
	}
	return out
}

var sinkAnswer *Answer

// BenchmarkDecodeAnswer is the strict decoding of a get answer, without verification.
func BenchmarkDecodeAnswer(b *testing.B) {
	for _, a := range benchAnswers(b) {
		b.Run(a.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(a.body)))
			for b.Loop() {
				ans, err := decodeAnswer(a.body, a.salt)
				if err != nil {
					b.Fatal(err)
				}
				sinkAnswer = ans
			}
		})
	}
}

// BenchmarkFetchVerify is what a get does with the grape's answer once it has read it:
// decode it strictly, then check limits, target and (mutable) the signature.
func BenchmarkFetchVerify(b *testing.B) {
	for _, a := range benchAnswers(b) {
		b.Run(a.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(a.body)))
			for b.Loop() {
				ans, err := decodeAnswer(a.body, a.salt)
				if err != nil {
					b.Fatal(err)
				}
				if err := ans.Item.Check(a.target); err != nil {
					b.Fatal(err)
				}
				sinkAnswer = ans
			}
		})
	}
}
