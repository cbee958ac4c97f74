package keystore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// LoadLegacy reads the original grenache-cli's key pair from LegacyDir: key
// (the 64-byte expanded secret as 128 hex characters) and key.pub (the public
// key as 64 hex characters). It returns ErrNoKey (wrapped) when neither file
// exists, and an error when only one does: half a pair is damage to report,
// not an absent key.
func (s *Store) LoadLegacy() (*Pair, error) {
	if s.LegacyDir == "" {
		return nil, fmt.Errorf("%w: no absolute home folder (HOME), so no original grenache-cli files either", ErrNoKey)
	}
	keyPath, pubPath := s.legacyPaths()
	secretText, keyErr := readPrivate(keyPath)
	_, pubErr := os.Lstat(pubPath)
	keyMissing := errors.Is(keyErr, fs.ErrNotExist)
	pubMissing := errors.Is(pubErr, fs.ErrNotExist)
	switch {
	case keyMissing && pubMissing:
		return nil, fmt.Errorf("%w: the original grenache-cli's files %s and %s do not exist", ErrNoKey, keyPath, pubPath)
	case keyMissing:
		return nil, fmt.Errorf("%s exists but %s does not: the private key is missing", pubPath, keyPath)
	case keyErr != nil:
		return nil, keyErr
	case pubMissing:
		return nil, fmt.Errorf("%s exists but %s does not", keyPath, pubPath)
	}
	secret, err := decodeLegacy(keyPath, secretText, expandedSize)
	if err != nil {
		return nil, err
	}
	// key.pub holds no secret, so a link to it is followed; but a named pipe
	// or a device would block the read or never end it.
	f, err := openRegular(pubPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pubText, err := readLimited(pubPath, f)
	if err != nil {
		return nil, err
	}
	public, err := decodeLegacy(pubPath, pubText, 32)
	if err != nil {
		return nil, err
	}
	derived := derivePublic(KindExpanded, secret)
	if !equalBytes(public, derived) {
		return nil, fmt.Errorf("%s and %s do not match: the secret key gives public key %x, %s holds %x",
			keyPath, pubPath, derived, pubPath, public)
	}
	return &Pair{
		Public:  derived,
		Private: secret,
		Kind:    KindExpanded,
		Path:    keyPath,
		Legacy:  true,
	}, nil
}

// decodeLegacy decodes one of the original tool's hex files, which must
// encode exactly size bytes. A trailing newline (as an editor adds) is
// accepted.
func decodeLegacy(path string, text []byte, size int) ([]byte, error) {
	text = bytes.TrimSuffix(text, []byte("\n"))
	text = bytes.TrimSuffix(text, []byte("\r"))
	b, err := decodeHex(string(text), size)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return b, nil
}
