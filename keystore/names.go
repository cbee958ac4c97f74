package keystore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Names a Store may hold a pair under (Store.Name). The default pair is the
// file key; a named pair NAME is the file key.NAME beside it, with the same
// format, modes, install, backups (key.NAME.bak.<time>) and folder lock.
const (
	// DefaultName is the default pair, the file key: the one used when no
	// name is given. "" means the same.
	DefaultName = "default"
	// LegacyName is the original grenache-cli's pair ($HOME/.grenache-cli),
	// which grenache reads but never writes.
	LegacyName = "legacy"
	// MaxNameLen is the longest name, in bytes.
	MaxNameLen = 64
)

// ErrBadName is wrapped by the errors of CheckName.
var ErrBadName = errors.New("invalid key name")

// ErrLegacyReadOnly is returned by Generate and Import for LegacyName.
var ErrLegacyReadOnly = errors.New("the legacy pair is the original grenache-cli's: grenache does not write it")

// CheckName accepts a pair's name: 1 to 64 ASCII letters, digits, '.', '_'
// and '-', starting with a letter or a digit (never '.', so never a hidden or
// temporary file, nor '-', which reads as an option), and without "bak" as a
// dot-separated part, which only backups have: every key.* file is then
// either a pair or a backup, never both.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the name is empty", ErrBadName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w %.20q...: %d bytes, at most %d", ErrBadName, name, len(name), MaxNameLen)
	case !isAlnum(name[0]):
		return fmt.Errorf("%w %q: it must start with a letter or a digit", ErrBadName, name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("%w %q: only letters, digits, '.', '_' and '-' (ASCII)", ErrBadName, name)
		}
	}
	if slices.Contains(strings.Split(name, "."), "bak") {
		return fmt.Errorf("%w %q: \"bak\" between dots marks a backup (key.NAME.bak.TIME)", ErrBadName, name)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isDefault tells whether the store's Name is the default pair.
func (s *Store) isDefault() bool { return s.Name == "" || s.Name == DefaultName }

// writable refuses a name that Generate and Import cannot write.
func (s *Store) writable() error {
	if s.isDefault() {
		return nil
	}
	if s.Name == LegacyName {
		return ErrLegacyReadOnly
	}
	return CheckName(s.Name)
}

// Entry is one pair of List: its name, and the pair or why it cannot be read.
type Entry struct {
	Name string
	Path string
	Pair *Pair // nil when Err is set
	Err  error
}

// List returns the stored pairs sorted by name: the default pair (key), each
// named pair (key.NAME), and the original tool's pair (LegacyName) when its
// files exist. A file that cannot be read as a pair is listed with its error,
// so that nothing stored is hidden. Backups and temporary files are left out.
// A missing folder lists nothing; an unreadable one is an error.
func (s *Store) List() ([]Entry, error) {
	files, err := os.ReadDir(s.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot list the key folder: %w", err)
	}
	// Sorting the names rather than the entries reuses the string sort the
	// program has anyway: a sort of Entry values would add 15 KB of code.
	var names []string
	for _, f := range files {
		switch name, ok := strings.CutPrefix(f.Name(), "key."); {
		case f.Name() == "key":
			names = append(names, DefaultName)
		case ok && CheckName(name) == nil && name != DefaultName && name != LegacyName:
			names = append(names, name)
		}
	}
	// The legacy pair is read once: to know whether it is there, and for its entry.
	var legacy *Pair
	var legacyErr error
	if s.LegacyDir != "" {
		if legacy, legacyErr = s.LoadLegacy(); !errors.Is(legacyErr, ErrNoKey) {
			names = append(names, LegacyName)
		}
	}
	slices.Sort(names)
	list := make([]Entry, 0, len(names))
	for _, name := range names {
		n := *s
		n.Name = name
		e := Entry{Name: name, Path: n.Path()}
		if name == LegacyName {
			e.Pair, e.Err = legacy, legacyErr
		} else {
			e.Pair, e.Err = n.Load()
		}
		if e.Err != nil {
			e.Pair = nil
		}
		list = append(list, e)
	}
	return list, nil
}

// namedPath is the file of a pair other than the default and legacy ones.
func (s *Store) namedPath() string { return filepath.Join(s.Dir, "key."+s.Name) }
