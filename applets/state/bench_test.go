package state

import (
	"path/filepath"
	"testing"

	"grenache/bep44"
)

// benchStore is a store whose file remembers n targets.
func benchStore(b *testing.B, n int) *Store {
	s := Open(filepath.Join(b.TempDir(), "grenache"))
	m := make(map[bep44.Target]int64, n)
	for i := range n {
		m[target(i)] = int64(i)
	}
	if err := s.Record(m); err != nil {
		b.Fatal(err)
	}
	return s
}

// A get of a mutable item that was seen before: one read, nothing written.
func BenchmarkSeen1000(b *testing.B) {
	s := benchStore(b, 1000)
	tg := target(500)
	for b.Loop() {
		if _, ok, err := s.Seen(tg); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// A get of a mutable item whose seq rose: the read, then a locked rewrite of
// the whole file.
func BenchmarkSeenAndRecord1000(b *testing.B) {
	s := benchStore(b, 1000)
	tg := target(500)
	seq := int64(1 << 30)
	for b.Loop() {
		if _, _, err := s.Seen(tg); err != nil {
			b.Fatal(err)
		}
		seq++
		if err := s.Record(map[bep44.Target]int64{tg: seq}); err != nil {
			b.Fatal(err)
		}
	}
}
