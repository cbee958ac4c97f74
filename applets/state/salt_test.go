package state

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"grenache/bep44"
)

func mustSalt(t *testing.T, s *Store, tg bep44.Target) (string, bool) {
	t.Helper()
	salt, ok, err := s.Salt(tg)
	if err != nil {
		t.Fatal(err)
	}
	return string(salt), ok
}

// Salts are remembered once, sorted by hash, as JSON strings; a line is never
// changed, and lines not understood are kept and skipped.
func TestRememberSalts(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "grenache"))
	if _, ok := mustSalt(t, s, target(1)); ok {
		t.Fatal("a salt remembered in a folder that does not exist")
	}
	odd := "sys:mem \"q\" \\ é <&> \u2028"
	if err := s.RememberSalts(map[bep44.Target][]byte{target(1): []byte(odd), target(2): []byte("b")}); err != nil {
		t.Fatal(err)
	}
	if got, ok := mustSalt(t, s, target(1)); !ok || got != odd {
		t.Fatalf("salt of target 1: %q %v, want %q", got, ok, odd)
	}
	// The same hash with another salt cannot happen; the first line stays.
	if err := s.RememberSalts(map[bep44.Target][]byte{target(2): []byte("other")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := mustSalt(t, s, target(2)); got != "b" {
		t.Fatalf("salt of target 2 changed to %q", got)
	}
	data, _ := os.ReadFile(s.SaltPath())
	data = append(data, "# a comment\nnot a line\n"...)
	if err := os.WriteFile(s.SaltPath(), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.RememberSalts(map[bep44.Target][]byte{target(3): []byte("c"), target(4): []byte("d")}); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(s.SaltPath())
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 6 || !strings.Contains(string(data), "# a comment\nnot a line\n") {
		t.Fatalf("file after adding two lines:\n%s", data)
	}
	var hexes []string
	for _, l := range lines {
		if len(l) > 40 && l[40] == ' ' && !strings.HasPrefix(l, "#") && l != "not a line" {
			hexes = append(hexes, l[:40])
		}
	}
	for i := 1; i < len(hexes); i++ {
		if hexes[i-1] >= hexes[i] {
			t.Errorf("lines not in order:\n%s", data)
		}
	}
	if !strings.Contains(string(data), `"sys:mem \"q\" \\ é <&> \u2028"`) {
		t.Errorf("the salt is not written as a JSON string without HTML escapes:\n%s", data)
	}
	for i, want := range map[int]string{1: odd, 2: "b", 3: "c", 4: "d"} {
		if got, ok := mustSalt(t, s, target(i)); !ok || got != want {
			t.Errorf("salt of target %d: %q %v, want %q", i, got, ok, want)
		}
	}
	if _, ok := mustSalt(t, s, target(5)); ok {
		t.Error("a salt for a target never remembered")
	}
}

// A line whose salt is not a JSON string is ignored, with a warning.
func TestSaltMalformedLine(t *testing.T) {
	dir := t.TempDir()
	tg := target(7)
	if err := os.WriteFile(filepath.Join(dir, SaltFile), []byte(tg.String()+" unquoted\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := Open(dir)
	warned := collect(s)
	if _, ok := mustSalt(t, s, tg); ok {
		t.Error("an unquoted salt was read")
	}
	if len(*warned) != 1 {
		t.Errorf("warnings: %q", *warned)
	}
	if err := s.RememberSalts(map[bep44.Target][]byte{tg: {}}); err == nil {
		t.Error("an empty salt was remembered")
	}
}

// Goroutines remembering at once lose no line.
func TestConcurrentSalts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "grenache")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := Open(dir)
			for i := range 10 {
				n := w*10 + i
				if err := s.RememberSalts(map[bep44.Target][]byte{target(n): []byte(fmt.Sprint("salt", n))}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	s := Open(dir)
	for n := range 80 {
		if got, ok := mustSalt(t, s, target(n)); !ok || got != fmt.Sprint("salt", n) {
			t.Errorf("salt %d: %q %v", n, got, ok)
		}
	}
}

// get HASH without --salt: one read of a file of 1000 salts.
func BenchmarkSalt1000(b *testing.B) {
	s := Open(filepath.Join(b.TempDir(), "grenache"))
	m := map[bep44.Target][]byte{}
	for i := range 1000 {
		m[target(i)] = []byte(fmt.Sprint("host:metric:", i))
	}
	if err := s.RememberSalts(m); err != nil {
		b.Fatal(err)
	}
	tg := target(500)
	for b.Loop() {
		if _, ok, err := s.Salt(tg); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// get HASH without --salt when nothing was ever stored salted: no file.
func BenchmarkSaltNoFile(b *testing.B) {
	s := Open(filepath.Join(b.TempDir(), "grenache"))
	tg := target(500)
	for b.Loop() {
		if _, ok, err := s.Salt(tg); ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
