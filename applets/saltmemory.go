package applets

import (
	"fmt"

	"grenache/bep44"
)

// The hash → salt memory: a salted mutable item is found only with its salt,
// so put remembers the salt of each salted item it stored (in the state
// folder's file "salt", package state), and get HASH without --salt asks with
// the remembered salt. On another host nothing is remembered, and get says
// "not found" with the hint that the item may need --salt.

// saveSalts remembers the salts of the salted items stored; a failure is a warning.
func (f *fresh) saveSalts(salts map[bep44.Target][]byte) {
	if len(salts) == 0 {
		return
	}
	s := f.state()
	if s == nil {
		return // the seq file's warning said so already
	}
	if err := s.RememberSalts(salts); err != nil {
		f.warnSalt.Do(func() { f.r.warnf("the salts of your items are not remembered: %v", err) })
	}
}

// rememberedSalt is the salt put remembered for target, or nil. It costs one
// read of the salt file; a state that cannot be read is a warning.
func (f *fresh) rememberedSalt(target bep44.Target) []byte {
	s := f.state()
	if s == nil {
		return nil // no state folder: nothing remembered (a get warns once when it records)
	}
	salt, ok, err := s.Salt(target)
	if err != nil {
		f.warnSalt.Do(func() { f.r.warnf("the salts of your items cannot be read: %v", err) })
	}
	if !ok {
		return nil
	}
	return salt
}

// rememberedSaltHint says which salt a get used without --salt.
func (f *fresh) rememberedSaltHint(salt []byte) string {
	return fmt.Sprintf("get asked with the salt %q that put remembered for this hash in %s; --salt SALT asks with another", salt, f.state().SaltPath())
}
