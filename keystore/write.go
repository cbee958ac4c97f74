package keystore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// maxBackups bounds the search for a free backup name; reaching it means
// something is badly wrong with the folder.
const maxBackups = 1000

// inflight holds the files that installs in progress have made and not yet
// put in place or removed: what Interrupt removes.
var inflight struct {
	sync.Mutex
	paths map[string]bool
}

// track adds path to inflight; the caller holds its lock.
func track(path string) {
	if inflight.paths == nil {
		inflight.paths = map[string]bool{}
	}
	inflight.paths[path] = true
}

// Interrupt removes the temporary files and backups of installs in progress,
// and keeps any install from completing: a key file is either in place or
// leaves nothing behind. A signal handler calls it just before the process
// ends; it never returns control of the store to the program.
func Interrupt() {
	inflight.Lock() // never unlocked: installs stop at their next step
	for p := range inflight.paths {
		os.Remove(p)
	}
	inflight.paths = nil
}

// install puts data in place as the store's key file, as described in the
// package comment, and returns the backup's path ("" when there was none).
func (s *Store) install(data []byte, force bool) (backup string, err error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return "", fmt.Errorf("cannot create the key folder: %w", err)
	}
	key := s.Path()
	tmp, err := writeTemp(s.Dir, data)
	if err != nil {
		return "", err
	}
	// After a successful Link the temporary name is a second name for the
	// key; after a successful Rename it is gone. Either way, and on every
	// error, it must not stay.
	defer func() {
		inflight.Lock()
		defer inflight.Unlock()
		os.Remove(tmp)
		delete(inflight.paths, tmp)
	}()

	// From reading the current key to installing the new one, no other
	// grenache process changes the folder: two racing replacements then each
	// keep the pair they replace, so every key a keygen printed stays in a file.
	unlock, err := lockDir(s.Dir)
	if err != nil {
		return "", err
	}
	defer unlock()

	if force {
		inflight.Lock()
		backup, err = s.keepBackup(key)
		if backup != "" {
			track(backup)
		}
		inflight.Unlock()
		if err != nil {
			return "", err
		}
	}
	if s.BeforeInstall != nil {
		if err := s.BeforeInstall(tmp); err != nil {
			s.dropBackup(backup)
			return "", err
		}
	}
	inflight.Lock()
	if force {
		err = os.Rename(tmp, key)
	} else {
		err = os.Link(tmp, key)
	}
	delete(inflight.paths, backup) // kept, or removed below
	inflight.Unlock()
	if err != nil {
		s.dropBackup(backup)
		if !force && errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("%s: %w", key, ErrExists)
		}
		return "", fmt.Errorf("cannot install the new key: %w", err)
	}
	// Make the new name durable. Best effort: the key is in place already,
	// and some systems cannot sync a folder; failing now would report an
	// error for a pair that was in fact stored.
	syncDir(s.Dir)
	return backup, nil
}

// writeTemp writes data to a new file in dir (O_EXCL, mode 0600), syncs and
// closes it, and returns its path. On error nothing is left behind. The file
// is known to Interrupt from the moment it exists.
func writeTemp(dir string, data []byte) (string, error) {
	inflight.Lock()
	f, err := os.CreateTemp(dir, ".key.tmp-*")
	if err == nil {
		track(f.Name())
	}
	inflight.Unlock()
	if err != nil {
		return "", fmt.Errorf("cannot write the key file: %w", err)
	}
	tmp := f.Name()
	err = f.Chmod(0o600) // CreateTemp uses 0600 already; be explicit where it matters.
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		inflight.Lock()
		os.Remove(tmp)
		delete(inflight.paths, tmp)
		inflight.Unlock()
		return "", fmt.Errorf("cannot write the key file: %w", err)
	}
	return tmp, nil
}

// keepBackup gives the current key file a second name,
// key.bak.<UTC time>[-N], and returns it; "" when there is no key file. A
// hard link is used so the backup is the very same file, made without
// copying secret bytes and without ever overwriting another backup.
func (s *Store) keepBackup(key string) (string, error) {
	base := key + ".bak." + s.now().UTC().Format("20060102T150405Z")
	name := base
	for i := 2; i <= maxBackups; i++ {
		err := os.Link(key, name)
		switch {
		case err == nil:
			return name, nil
		case errors.Is(err, fs.ErrNotExist):
			if _, serr := os.Lstat(key); errors.Is(serr, fs.ErrNotExist) {
				return "", nil
			}
			return "", fmt.Errorf("cannot keep the previous key: %w", err)
		case !errors.Is(err, fs.ErrExist):
			return "", fmt.Errorf("cannot keep the previous key: %w", err)
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return "", fmt.Errorf("cannot keep the previous key: %s and %d more backups exist", base, maxBackups-1)
}

// dropBackup removes a backup made by an install that then failed: the key
// it is a second name of is still in place.
func (s *Store) dropBackup(backup string) {
	if backup == "" {
		return
	}
	inflight.Lock()
	defer inflight.Unlock()
	os.Remove(backup)
	delete(inflight.paths, backup)
}

func syncDir(dir string) {
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
