// Package state keeps what grenache remembers for one user from one run to the
// next, in small text files in one folder ($XDG_STATE_HOME/grenache): per
// mutable item, the highest sequence number the user has seen or stored, so
// that a grape that replays an older, validly signed version is caught (SeqFile);
// and per salted item stored, its salt, so that its hash alone reads it (SaltFile).
//
// Each kind of state is one human-editable text file, replaced whole by rename,
// so a reader needs no lock and always sees a whole file. Writers take an
// exclusive lock on a companion file (NAME.lock), read the file again, merge and
// rename a temporary file over it: concurrent processes lose no update, and a
// remembered sequence number never goes down except through Replace.
package state

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"grenache/bep44"
)

// SeqFile is the name of the file of sequence numbers in the state folder: one
// line per mutable item, "HASH SEQ" (40 lower-case hex digits, a space, the
// decimal seq), sorted by hash. Deleting a line forgets that item; lines
// starting with # are comments. Seen looks for its line in exactly this form:
// a line edited by hand in upper case, with tabs or indented is found by it
// only after the next write, which rewrites the file in this form. Lines not
// understood at all are ignored: Seqs warns about them, Seen about the
// target's own, and a write that rewrites the whole file drops them.
const SeqFile = "seq"

// ErrNoFolder means the environment names no absolute folder to keep state in.
var ErrNoFolder = errors.New("no absolute state folder: set XDG_STATE_HOME or HOME to an absolute path")

// Store is the state kept in one folder. Its methods may be called from several
// goroutines and processes at once.
type Store struct {
	dir string
	// Warn, when set, is told about lines of a state file that are not
	// understood; they are ignored, and dropped when the whole file is rewritten.
	Warn func(msg string)
}

// Open returns the store in dir. Nothing is read or created until needed.
func Open(dir string) *Store { return &Store{dir: dir} }

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

// SeqPath is the path of the file of sequence numbers.
func (s *Store) SeqPath() string { return filepath.Join(s.dir, SeqFile) }

// Seen returns the highest sequence number remembered for target; ok is false
// when none is. A missing file or folder remembers nothing and is no error.
func (s *Store) Seen(target bep44.Target) (seq int64, ok bool, err error) {
	data, err := s.read()
	if err != nil || len(data) == 0 {
		return 0, false, err
	}
	// Look for the one line that matters without parsing the others: "\nHEX ".
	// The search stops at line starts only, where a hex digit would match often.
	var key [1 + 2*len(bep44.Target{}) + 1]byte
	key[0] = '\n'
	hexTarget(key[1:], target)
	key[len(key)-1] = ' '
	for off := 0; off < len(data); {
		var i int
		if off == 0 && bytes.HasPrefix(data, key[1:]) {
			i = 0
		} else {
			j := bytes.Index(data[off:], key[:])
			if j < 0 {
				break
			}
			i = off + j + 1
		}
		end := lineEnd(data, i)
		off = end
		t, n, good := parseLine(data[i:end])
		if !good {
			if s.Warn != nil {
				s.Warn(fmt.Sprintf("%s: ignoring the line of %s, which is not \"HASH SEQ\"", s.SeqPath(), target))
			}
			continue
		}
		// A file edited by hand may hold a target twice: the highest counts.
		if t == target && (!ok || n > seq) {
			seq, ok = n, true
		}
	}
	return seq, ok, nil
}

// Seqs returns every remembered sequence number. A missing file is an empty map.
func (s *Store) Seqs() (map[bep44.Target]int64, error) {
	data, err := s.read()
	if err != nil {
		return map[bep44.Target]int64{}, err
	}
	es := s.parse(data)
	m := make(map[bep44.Target]int64, len(es))
	for _, e := range es {
		m[e.t] = e.seq
	}
	return m, nil
}

// Record remembers each target's sequence number unless a higher one is
// remembered already. It writes the file only when some number rose.
func (s *Store) Record(seqs map[bep44.Target]int64) error { return s.Save(seqs, nil) }

// Replace remembers each target's sequence number even when it is lower than
// the one remembered: for an older version accepted on purpose.
func (s *Store) Replace(seqs map[bep44.Target]int64) error { return s.Save(nil, seqs) }

// Save does both in one write: the numbers in set replace the remembered ones,
// then those in raise are merged by the highest. It writes the file only when
// some number changed.
func (s *Store) Save(raise, set map[bep44.Target]int64) error {
	return s.update(raise, set)
}

func (s *Store) read() ([]byte, error) {
	data, err := os.ReadFile(s.SeqPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

func (s *Store) update(raise, set map[bep44.Target]int64) error {
	if len(raise) == 0 && len(set) == 0 {
		return nil
	}
	for _, m := range []map[bep44.Target]int64{set, raise} {
		for t, n := range m {
			if n < 0 || n > bep44.MaxSeq {
				return fmt.Errorf("sequence number %d for %s is out of range", n, t)
			}
		}
	}
	if s.dir == "" {
		return ErrNoFolder
	}
	unlock, err := s.lockFile(SeqFile)
	if err != nil {
		return err
	}
	defer unlock()
	data, err := s.read()
	if err != nil {
		return err
	}
	if len(raise)+len(set) == 1 {
		// One target, the case of every single get and put: change its line in
		// place, or insert it in order, without reading the others.
		for t, n := range raise {
			if out, changed, ok := splice(data, t, n, false); ok {
				if !changed {
					return nil
				}
				return writeFile(s.dir, SeqFile, out)
			}
		}
		for t, n := range set {
			if out, changed, ok := splice(data, t, n, true); ok {
				if !changed {
					return nil
				}
				return writeFile(s.dir, SeqFile, out)
			}
		}
	}
	es := s.parse(data)
	added := map[bep44.Target]int64{}
	changed := false
	apply := func(t bep44.Target, n int64, replace bool) {
		i, found := slices.BinarySearchFunc(es, t, func(e entry, t bep44.Target) int { return bytes.Compare(e.t[:], t[:]) })
		switch {
		case found && (n > es[i].seq || (replace && n != es[i].seq)):
			es[i].seq = n
			changed = true
		case found:
		default:
			// Not in the file: maybe added already by this update.
			if old, ok := added[t]; !ok || n > old || replace {
				added[t] = n
			}
			changed = true
		}
	}
	for t, n := range set {
		apply(t, n, true)
	}
	for t, n := range raise {
		apply(t, n, false)
	}
	if !changed {
		return nil
	}
	if len(added) > 0 {
		more := make([]entry, 0, len(added))
		for t, n := range added {
			more = append(more, entry{t, n})
		}
		slices.SortFunc(more, compareEntries)
		es = mergeSorted(es, more)
	}
	return writeFile(s.dir, SeqFile, format(es))
}

// splice returns data with target's line set to seq (raised only, unless
// replace). ok is false when the file needs a full read: the target's line is
// malformed or listed twice, or the file is not as this package writes it
// (upper-case hex, tabs, indented lines: edited by hand).
func splice(data []byte, target bep44.Target, seq int64, replace bool) (out []byte, changed, ok bool) {
	if bytes.ContainsAny(data, "ABCDEF\t") || bytes.Contains(data, []byte("\n ")) || bytes.HasPrefix(data, []byte(" ")) {
		return nil, false, false
	}
	var key [1 + 2*len(bep44.Target{}) + 1]byte
	key[0] = '\n'
	hexTarget(key[1:], target)
	key[len(key)-1] = ' '
	i := -1
	if bytes.HasPrefix(data, key[1:]) {
		i = 0
	} else if j := bytes.Index(data, key[:]); j >= 0 {
		i = j + 1
	}
	if i < 0 {
		// Not listed: insert it before the first line that sorts after it.
		line := append(append(key[1:len(key):len(key)], strconv.AppendInt(nil, seq, 10)...), '\n')
		at := len(data)
		for off := 0; off < len(data); {
			end := lineEnd(data, off)
			if bytes.Compare(data[off:end], key[1:]) > 0 {
				at = off
				break
			}
			off = end + 1
		}
		out = make([]byte, 0, len(data)+len(line)+1)
		out = append(out, data[:at]...)
		if at > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		out = append(append(out, line...), data[at:]...)
		return out, true, true
	}
	if bytes.Contains(data[i+len(key)-1:], key[:]) {
		return nil, false, false // listed twice
	}
	end := lineEnd(data, i)
	_, old, good := parseLine(data[i:end])
	if !good {
		return nil, false, false
	}
	if seq == old || (seq < old && !replace) {
		return data, false, true
	}
	out = make([]byte, 0, len(data)+20)
	out = append(out, data[:i+len(key)-1]...)
	out = strconv.AppendInt(out, seq, 10)
	out = append(out, data[end:]...)
	return out, true, true
}

// entry is one line of the file of sequence numbers.
type entry struct {
	t   bep44.Target
	seq int64
}

func compareEntries(a, b entry) int { return bytes.Compare(a.t[:], b.t[:]) }

// parse reads a file of "HEX SEQ" lines into entries sorted by target, one per
// target (the highest, if a hand-edited file has several). Empty lines and
// lines starting with # are skipped; other lines it does not understand are
// reported once through Warn.
func (s *Store) parse(data []byte) []entry {
	es := make([]entry, 0, len(data)/56+1)
	sorted := true
	bad, first := 0, 0
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		t, seq, ok := parseLine(line)
		if !ok {
			if bad == 0 {
				first = n
			}
			bad++
			continue
		}
		if len(es) > 0 && bytes.Compare(es[len(es)-1].t[:], t[:]) >= 0 {
			sorted = false
		}
		es = append(es, entry{t, seq})
	}
	if bad > 0 && s.Warn != nil {
		s.Warn(fmt.Sprintf("%s: ignoring %d line(s) that are not \"HASH SEQ\" (the first is line %d)",
			s.SeqPath(), bad, first))
	}
	if !sorted {
		// Edited by hand: sort, and keep the highest number of a target listed twice.
		slices.SortStableFunc(es, compareEntries)
		out := es[:0]
		for _, e := range es {
			if len(out) > 0 && out[len(out)-1].t == e.t {
				out[len(out)-1].seq = max(out[len(out)-1].seq, e.seq)
				continue
			}
			out = append(out, e)
		}
		es = out
	}
	return es
}

// mergeSorted merges two lists sorted by target with no target in both.
func mergeSorted(a, b []entry) []entry {
	out := make([]entry, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if compareEntries(a[0], b[0]) < 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// unhex maps an ASCII byte to its hex value, or 0xff.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c], t[c-'a'+'A'] = c-'a'+10, c-'a'+10
	}
	return t
}()

// parseLine reads "HEX SEQ": 40 hex digits in either case, blanks, and a
// decimal number up to bep44.MaxSeq, with blanks around.
func parseLine(line []byte) (t bep44.Target, seq int64, ok bool) {
	line = bytes.TrimSpace(line)
	if len(line) < 2*len(t)+2 {
		return t, 0, false
	}
	for i := range t {
		hi, lo := unhex[line[2*i]], unhex[line[2*i+1]]
		if hi|lo == 0xff {
			return t, 0, false
		}
		t[i] = hi<<4 | lo
	}
	rest := line[2*len(t):]
	if rest[0] != ' ' && rest[0] != '\t' {
		return t, 0, false
	}
	rest = bytes.TrimLeft(rest, " \t")
	if len(rest) == 0 || len(rest) > 16 {
		return t, 0, false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return t, 0, false
		}
		seq = seq*10 + int64(c-'0')
	}
	return t, seq, seq <= bep44.MaxSeq
}

func format(es []entry) []byte {
	b := make([]byte, 0, len(es)*(2*len(bep44.Target{})+18))
	var h [2 * len(bep44.Target{})]byte
	for _, e := range es {
		hexTarget(h[:], e.t)
		b = append(b, h[:]...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, e.seq, 10)
		b = append(b, '\n')
	}
	return b
}

func hexTarget(dst []byte, t bep44.Target) {
	const digits = "0123456789abcdef"
	for i, c := range t {
		dst[2*i] = digits[c>>4]
		dst[2*i+1] = digits[c&0xf]
	}
}

// writeFile replaces dir/name with data: a temporary file in the same folder,
// mode 0600, renamed over it. It is not synced: losing the last update in a
// crash costs only a check, never a value.
func writeFile(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

// lockFile takes the writers' lock of the file name (name.lock beside it), creating
// the state folder (0700) when it does not exist yet.
func (s *Store) lockFile(name string) (unlock func(), err error) {
	path := filepath.Join(s.dir, name+".lock")
	unlock, err = lock(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(s.dir, 0o700); err == nil {
			unlock, err = lock(path)
		}
	}
	return unlock, err
}

// lineEnd is the index of the newline that ends the line starting at i, or len(data).
func lineEnd(data []byte, i int) int {
	if end := bytes.IndexByte(data[i:], '\n'); end >= 0 {
		return i + end
	}
	return len(data)
}
