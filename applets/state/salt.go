package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"unicode/utf8"

	"grenache/bep44"
)

// SaltFile is the name of the file of salts in the state folder: one line per
// salted mutable item this user stored, "HASH SALT" (40 lower-case hex digits,
// a space, the salt as a JSON string), sorted by hash. A salted item's hash
// never changes its salt, so a line is written once and never changed: get
// reads an item by its hash alone, on the host that stored it, by looking its
// salt up here. Deleting a line forgets it; lines not understood are ignored.
const SaltFile = "salt"

// SaltPath is the path of the file of salts.
func (s *Store) SaltPath() string { return filepath.Join(s.dir, SaltFile) }

// Salt returns the salt remembered for target; ok is false when none is. A
// missing file or folder remembers nothing and is no error. Only target's line
// is parsed.
func (s *Store) Salt(target bep44.Target) (salt []byte, ok bool, err error) {
	data, err := s.readSalts()
	if err != nil || len(data) == 0 {
		return nil, false, err
	}
	i := findLine(data, target)
	if i < 0 {
		return nil, false, nil
	}
	end := lineEnd(data, i)
	_, salt, good := parseSaltLine(data[i:end])
	if !good {
		if s.Warn != nil {
			s.Warn(fmt.Sprintf("%s: ignoring the line of %s, which is not \"HASH \\\"SALT\\\"\"", s.SaltPath(), target))
		}
		return nil, false, nil
	}
	return salt, true, nil
}

// RememberSalts adds a line for each target not listed yet, under the lock
// (SaltFile.lock), by rename. When every target is listed already it takes no
// lock and writes nothing.
func (s *Store) RememberSalts(salts map[bep44.Target][]byte) error {
	if len(salts) == 0 {
		return nil
	}
	for t, salt := range salts {
		if len(salt) == 0 || len(salt) > bep44.MaxSaltSize || !utf8.Valid(salt) {
			return fmt.Errorf("the salt of %s cannot be remembered: %q", t, salt)
		}
	}
	if s.dir == "" {
		return ErrNoFolder
	}
	missing := func(data []byte) map[bep44.Target][]byte {
		var m map[bep44.Target][]byte
		for t, salt := range salts {
			if findLine(data, t) >= 0 {
				continue
			}
			if m == nil {
				m = map[bep44.Target][]byte{}
			}
			m[t] = salt
		}
		return m
	}
	data, err := s.readSalts()
	if err != nil {
		return err
	}
	if missing(data) == nil {
		return nil
	}
	unlock, err := s.lockFile(SaltFile)
	if err != nil {
		return err
	}
	defer unlock()
	if data, err = s.readSalts(); err != nil {
		return err
	}
	add := missing(data)
	if add == nil {
		return nil
	}
	lines := make([][]byte, 0, len(add))
	for t, salt := range add {
		lines = append(lines, saltLine(t, salt))
	}
	slices.SortFunc(lines, bytes.Compare)
	// Insert each new line before the first line that sorts after it; other
	// lines, even those not understood, are kept as they are.
	out := make([]byte, 0, len(data)+len(lines)*80)
	for off := 0; off < len(data); {
		end := lineEnd(data, off)
		line := data[off:end]
		for len(lines) > 0 && bytes.Compare(lines[0][:len(lines[0])-1], line) < 0 {
			out, lines = append(out, lines[0]...), lines[1:]
		}
		out = append(append(out, line...), '\n')
		off = end + 1
	}
	for _, l := range lines {
		out = append(out, l...)
	}
	return writeFile(s.dir, SaltFile, out)
}

func (s *Store) readSalts() ([]byte, error) {
	data, err := os.ReadFile(s.SaltPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// findLine returns where target's line ("HEX " at a line start) begins in data, or -1.
func findLine(data []byte, target bep44.Target) int {
	var key [1 + 2*len(bep44.Target{}) + 1]byte
	key[0] = '\n'
	hexTarget(key[1:], target)
	key[len(key)-1] = ' '
	if bytes.HasPrefix(data, key[1:]) {
		return 0
	}
	if j := bytes.Index(data, key[:]); j >= 0 {
		return j + 1
	}
	return -1
}

// saltLine is target's line, with its newline.
func saltLine(target bep44.Target, salt []byte) []byte {
	b := make([]byte, 2*len(target), 2*len(target)+len(salt)+8)
	hexTarget(b, target)
	var q bytes.Buffer
	enc := json.NewEncoder(&q) // ends with a newline
	enc.SetEscapeHTML(false)
	enc.Encode(string(salt))
	return append(append(b, ' '), q.Bytes()...)
}

// parseSaltLine reads "HEX SALT", SALT a JSON string of 1 to 64 bytes.
func parseSaltLine(line []byte) (t bep44.Target, salt []byte, ok bool) {
	line = bytes.TrimSpace(line)
	if len(line) < 2*len(t)+3 || line[2*len(t)] != ' ' {
		return t, nil, false
	}
	for i := range t {
		hi, lo := unhex[line[2*i]], unhex[line[2*i+1]]
		if hi|lo == 0xff {
			return t, nil, false
		}
		t[i] = hi<<4 | lo
	}
	var str string
	if err := json.Unmarshal(bytes.TrimSpace(line[2*len(t)+1:]), &str); err != nil {
		return t, nil, false
	}
	if len(str) == 0 || len(str) > bep44.MaxSaltSize {
		return t, nil, false
	}
	return t, []byte(str), true
}
