// Package keystore reads and writes the ed25519 key pair that signs grenache's
// mutable BEP 44 items.
//
// # The key file
//
// The pair lives in ONE file, <config>/grenache/key, where <config> is
// $XDG_CONFIG_HOME, else $HOME/.config. Only an absolute path counts: a
// relative XDG_CONFIG_HOME is ignored, as the XDG base directory
// specification says, and with no absolute folder at all there is no store
// (Default fails and says what to set) rather than a key written relative to
// wherever the command runs. Public and private halves share a file
// so that they can never be mismatched, as two separate files can be. The
// folder is created with mode 0700 and the file with mode 0600:
//
//	# grenache ed25519 key pair. Keep it secret: it proves ownership of your mutable items.
//	# created: 2026-11-26T01:53:48Z
//	# public key: <64 lowercase hex characters>
//	seed <64 lowercase hex characters>
//
// A generated key is stored as its 32-byte ed25519 seed (the line starting
// with "seed"). A key imported from the original grenache-cli is stored as the
// 64-byte expanded secret it was kept as (the clamped scalar followed by the
// 32-byte prefix), on a line "expanded <128 lowercase hex characters>"
// instead: the seed it came from is not known, so it cannot be converted.
//
// The file is read line by line. Blank lines are ignored, and so are lines
// starting with "#" except two: "# public key:" is required and must match
// the key derived from the private line, which catches a damaged or
// hand-edited file before it signs anything; "# created:", when present, must
// be an RFC 3339 time. Exactly one private line ("seed" or "expanded") must be
// present. Hex is accepted in either case on reading and written in lower
// case. Errors name the file and the line ("<path>:3: ...").
//
// # Safety rules
//
//   - A private key file that its group or others may read or write (mode &
//     0o077 != 0) is refused with a *PermissionError; the fix is
//     "chmod 600 <path>". The check does not apply on Windows, where Unix modes
//     mean nothing.
//   - A private key path that is a symbolic link, or anything but a regular
//     file, is refused (ErrNotRegular). Following a link would read a file
//     whose location, owner and permissions the user did not choose for a key;
//     refusing is simple and cannot be fooled by a link swapped after a check.
//   - The folder is created with mode 0700 when missing. An existing folder is
//     left as it is, even if others can list it: the key file's own mode is
//     what protects the secret, and silently changing a folder the user made
//     would surprise them. Callers may warn about it.
//   - A new file is written to a temporary file in the same folder (created
//     with O_EXCL and mode 0600), synced, then put in place with a hard link,
//     which fails if a key already exists, so two processes generating at once
//     cannot both win (ErrExists). With force, the previous pair is first kept
//     as a hard link named key.bak.<UTC time YYYYMMDDTHHMMSSZ> (with a -N
//     suffix if that name is taken) and the new file is renamed over the old
//     one. No temporary file is left behind, whatever fails.
//   - From reading the current key to installing the new one, the key folder
//     is locked (flock on the folder itself, so no lock file is left; where
//     flock does not exist or the file system refuses it, there is no lock).
//     Two forced replacements racing therefore keep each other's pair as a
//     backup: every pair ever installed is the key or a backup.
//   - Interrupt, called by a signal handler before the process ends, removes
//     the temporary file and the backup of an install that has not completed
//     and keeps it from completing.
//
// # Named pairs
//
// Besides the default pair (key), the folder may hold named pairs, one file
// each: key.NAME, in the same format and under the same rules (modes,
// install, backups key.NAME.bak.<time>, folder lock). Store.Name selects one;
// CheckName says which names are valid. "default" is the file key and
// "legacy" the original tool's pair, read only. A named pair never falls back
// to another one. Store.List lists every pair.
//
// # The original tool's files
//
// grenache-cli kept $HOME/.grenache-cli/key (128 hex characters, the 64-byte
// expanded secret) and $HOME/.grenache-cli/key.pub (64 hex characters). They
// are read as they are (a trailing newline and upper-case hex are accepted),
// the same permission rule applies to key, and key.pub must match the public
// key derived from key. key.pub may be a link (it holds no secret) but must
// be, or lead to, a regular file: a named pipe would block the read forever. Store.Load falls back to them when the new file does
// not exist, and Store.Import copies them into the new file.
package keystore
