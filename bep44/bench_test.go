package bep44

import (
	"bytes"
	"testing"
)

var (
	benchV    = bytes.Repeat([]byte("v"), 996)
	benchSalt = []byte("some salt")
	benchPub  = bytes.Repeat([]byte{0x42}, 32)
	sinkT     Target
	sinkB     bool
)

func BenchmarkSignedBuffer(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 2048)
	for b.Loop() {
		buf = AppendSignedBuffer(buf[:0], benchSalt, MaxSeq, benchV)
	}
}

func BenchmarkSignSeed(b *testing.B) {
	s, _ := NewSigner(bytes.Repeat([]byte{1}, 32))
	msg := SignedBuffer(benchSalt, 1, benchV)
	b.ReportAllocs()
	for b.Loop() {
		s.Sign(msg)
	}
}

func BenchmarkSignExpanded(b *testing.B) {
	s, err := NewSigner(unhex(b, vecSecret))
	if err != nil {
		b.Fatal(err)
	}
	msg := SignedBuffer(benchSalt, 1, benchV)
	b.ReportAllocs()
	for b.Loop() {
		s.Sign(msg)
	}
}

func BenchmarkVerify(b *testing.B) {
	s, _ := NewSigner(bytes.Repeat([]byte{1}, 32))
	it, err := NewMutable(s, benchSalt, 1, benchV)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		sinkB = Verify(it.K, it.Salt, it.Seq, it.V, it.Sig)
	}
	if !sinkB {
		b.Fatal("Verify rejects the item")
	}
}

func BenchmarkImmutableTarget(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkT = ImmutableTarget(benchV)
	}
}

func BenchmarkMutableTarget(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkT = MutableTarget(benchPub, benchSalt)
	}
}
