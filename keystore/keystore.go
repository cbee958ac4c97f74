package keystore

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

var (
	// ErrNoKey means neither the new store nor the original tool's folder
	// holds a key pair.
	ErrNoKey = errors.New("no key pair found")
	// ErrExists means a key pair is already stored and force was not given.
	ErrExists = errors.New("a key pair already exists")
	// ErrNotRegular means a private key path is a symbolic link or another
	// kind of non-regular file; see the package comment for why it is refused.
	ErrNotRegular = errors.New("private key path is not a regular file")
)

// PermissionError reports a private key file that its group or others may
// read or write. Callers can print "hint: chmod 600 <Path>".
type PermissionError struct {
	Path string
	Mode fs.FileMode
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("%s: private key is accessible by others (mode %04o)", e.Path, e.Mode.Perm())
}

// maxKeyFile bounds what is read from a key file: real ones are a few hundred
// bytes, and a huge file is certainly not a key.
const maxKeyFile = 64 << 10

// Store locates the key files. The zero values of Now and Rand mean
// time.Now and crypto/rand.Reader; tests set them.
type Store struct {
	Dir       string // folder of the new store, e.g. $XDG_CONFIG_HOME/grenache
	LegacyDir string // e.g. $HOME/.grenache-cli; "" when there is none
	// Name selects the pair (see CheckName): "" or DefaultName for the
	// file key, LegacyName for the original tool's pair, else key.Name.
	Name string
	Now  func() time.Time
	Rand io.Reader

	// BeforeInstall, when set, runs with the temporary file's path just
	// before it is put in place, with the key folder locked; an error aborts
	// the install. Tests use it to inject a failure or a pause at the last
	// possible moment; programs leave it nil.
	BeforeInstall func(tmp string) error
}

// Path returns the path of the selected pair's file: key, key.Name, or the
// original tool's key file for LegacyName.
func (s *Store) Path() string {
	switch {
	case s.isDefault():
		return filepath.Join(s.Dir, "key")
	case s.Name == LegacyName && s.LegacyDir != "":
		key, _ := s.legacyPaths()
		return key
	}
	return s.namedPath()
}

func (s *Store) legacyPaths() (key, pub string) {
	return filepath.Join(s.LegacyDir, "key"), filepath.Join(s.LegacyDir, "key.pub")
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Store) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// Load returns the stored key pair: the new store's if its file exists, else
// the original tool's if both of its files exist, else ErrNoKey. A new file
// that cannot be used is an error; Load does not fall back to the original
// tool's pair then, since that would silently sign with another key.
//
// A named pair is its file alone, without a fallback; LegacyName is the
// original tool's pair alone (LoadLegacy).
func (s *Store) Load() (*Pair, error) {
	if s.Name == LegacyName {
		return s.LoadLegacy()
	}
	if !s.isDefault() {
		if err := CheckName(s.Name); err != nil {
			return nil, err
		}
	}
	data, err := readPrivate(s.Path())
	if err == nil {
		return Parse(s.Path(), data)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if !s.isDefault() {
		return nil, fmt.Errorf("%w at %s", ErrNoKey, s.Path())
	}
	pair, err := s.LoadLegacy()
	if errors.Is(err, ErrNoKey) {
		// grenache's own path is where a key is expected: name it, not the
		// original tool's folder that was only a fallback.
		return nil, fmt.Errorf("%w at %s", ErrNoKey, s.Path())
	}
	return pair, err
}

// Generate creates a new key pair from a fresh seed and stores it. Without
// force it fails with ErrExists if a pair is already stored, leaving it
// untouched. With force the previous pair, if any, is kept and its path
// returned as backup.
func (s *Store) Generate(force bool) (pair *Pair, backup string, err error) {
	if err := s.writable(); err != nil {
		return nil, "", err
	}
	seed := make([]byte, seedSize)
	if _, err := io.ReadFull(s.rand(), seed); err != nil {
		return nil, "", fmt.Errorf("cannot read random bytes for a new key: %w", err)
	}
	return s.save(derivePublic(KindSeed, seed), seed, KindSeed, force)
}

// Import copies the original tool's key pair into the new store, as
// KindExpanded. force and backup are as for Generate. It returns an error
// wrapping ErrNoKey when the original tool's files do not exist.
func (s *Store) Import(force bool) (pair *Pair, backup string, err error) {
	if err := s.writable(); err != nil {
		return nil, "", err
	}
	old, err := s.LoadLegacy()
	if err != nil {
		return nil, "", err
	}
	return s.save(old.Public, old.Private, KindExpanded, force)
}

// save writes a new pair to the store, keeping the previous one as a backup
// when force is set (see install).
func (s *Store) save(public, private []byte, kind Kind, force bool) (*Pair, string, error) {
	pair := &Pair{
		Public:  public,
		Private: private,
		Kind:    kind,
		Path:    s.Path(),
		Created: s.now().UTC().Truncate(time.Second),
	}
	backup, err := s.install(Encode(pair), force)
	if err != nil {
		return nil, "", err
	}
	return pair, backup, nil
}

// readPrivate reads a private key file after checking that it is a regular
// file (not a symbolic link) that only its owner may access. A missing file
// gives an error wrapping fs.ErrNotExist.
func readPrivate(path string) ([]byte, error) {
	before, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w: it is %s (keep the key in a regular file)", path, ErrNotRegular, describeMode(before.Mode()))
	}
	// Non-blocking, so that a named pipe swapped in after the check cannot
	// block the open; the check below then refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Check what was opened, not what was looked at, so that a file swapped
	// for a link in between is caught.
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(before, info) {
		return nil, fmt.Errorf("%s: %w: it changed while being opened", path, ErrNotRegular)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, &PermissionError{Path: path, Mode: info.Mode().Perm()}
	}
	return readLimited(path, f)
}

// openRegular opens path, following links, and refuses anything but a regular
// file. The open does not block, so a named pipe is refused rather than waited on.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%s: not a regular file: it is %s (keep the key in a regular file)", path, describeMode(info.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// describeMode names a kind of file that is not a regular one.
func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a " + m.Type().String() + " file"
}

func readLimited(path string, r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%s: too large for a key file (over %d bytes)", path, maxKeyFile)
	}
	return data, nil
}
