// Package bep44 is pure BEP 44 (storing arbitrary data in the DHT): items, their targets,
// the signed buffer, the size limits, signing and verification. It does no I/O, so the
// transport and the key store can both lean on it and tests can pin it against the
// official vectors.
//
// Two private key layouts are supported because both exist in the wild: the 32-byte seed
// of crypto/ed25519, and the 64-byte expanded secret (clamped scalar ‖ prefix) that
// orlp/ed25519, libtorrent and the original grenache-cli store. Items signed by users of
// the latter stay theirs only if we can sign with that layout.
package bep44
