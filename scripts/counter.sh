#!/usr/bin/env bash
# Increment a counter kept in the DHT as one mutable item, safely from any
# number of processes at once: read it, add one, and write it back with
# compare-and-swap, so that a write succeeds only if nobody wrote in between.
# A writer that lost the race (exit 5) reads again and retries.
#
#   scripts/counter.sh [--no-cas] [--retries N] [GRENACHE-OPTION]... SALT COUNT
#
# adds COUNT to the counter stored under your key pair and SALT, one increment
# at a time, and prints "SEQ VALUE" for each value it stored (with --no-cas
# the sequence number is the clock's, printed as "-"). GRENACHE-OPTIONs
# are grenache's network options (-g HOST, -p PORT, -t, --timeout D,
# --connect-timeout D), given to every get and put. grenache-get and
# grenache-put must be on PATH, and jq installed.
#
# Each increment:
#   read   grenache-get --raw --salt SALT HASH      -> seq S, value V
#   write  grenache-put --mutable --salt SALT --cas S -n S+1 V+1
# The first write (nothing stored yet: exit 3) has no --cas: there is nothing
# to compare with. Two first writers are still safe: both write seq 1, and the
# grape refuses the second one because its seq is not newer (exit 5 too).
#
# A read that grenache-get refuses (exit 4) is retried like a conflict: most
# often some node does not have the last write yet and answers an older
# version than one this user has seen or stored, which grenache never prints
# as current. If the refusals last (a grape keeps answering an old or forged
# item), the retries run out and the script exits 4.
#
# --retries N (default 200) bounds the conflicts retried in the whole run; a
# short random pause after each one spreads racing writers apart. Any other
# failure stops the script with grenache's exit code; running out of retries
# exits 5.
#
# --no-cas shows why CAS exists: it writes V+1 with neither --cas nor -n, as a
# naive script would (the sequence number is then the clock's), so a writer
# that read V before another wrote V+1 writes V+1 again: an update is lost.
#
# Against a network of grapes, send every write through the same grape: a
# grape stores a mutable item on the other nodes and the CAS check is made
# there, so writes through different grapes are not checked against each
# other. Reads may go through any grape.
set -euo pipefail

prog=counter.sh
die() {
	local code=$1
	shift
	echo "$prog: error: $*" >&2
	exit "$code"
}
usage() {
	echo "usage: $prog [--no-cas] [--retries N] [GRENACHE-OPTION]... SALT COUNT" >&2
	exit 2
}

use_cas=1
retries=200
opts=()
while (($# > 2)); do
	case $1 in
	--no-cas) use_cas=0 ;;
	--retries)
		retries=$2
		shift
		;;
	--retries=*) retries=${1#*=} ;;
	*) opts+=("$1") ;;
	esac
	shift
done
(($# == 2)) || usage
salt=$1 count=$2
[[ $count =~ ^[0-9]+$ && $retries =~ ^[0-9]+$ ]] || usage
[[ -n $salt ]] || die 2 "the salt is empty"
command -v jq >/dev/null || die 1 "jq is not installed (e.g. apt-get install jq)"

# The item's hash is the SHA-1 of the public key and the salt (BEP 44), so it
# is known before anything is stored. The public key is read from the key
# file grenache-keygen wrote (or the original grenache-cli's key.pub).
public_key() {
	local key=${XDG_CONFIG_HOME:-$HOME/.config}/grenache/key
	local legacy=$HOME/.grenache-cli/key.pub
	if [[ -e $key ]]; then
		sed -n 's/^# public key: \([0-9a-fA-F]\{64\}\)$/\1/p' "$key"
	elif [[ -e $legacy ]]; then
		tr -d '\r\n' <"$legacy"
	fi
}
pub=$(public_key)
[[ $pub =~ ^[0-9a-fA-F]{64}$ ]] || die 1 "no public key found: create a key pair with grenache-keygen"
# The format is made of \xHH escapes only: printf turns them into the key's bytes.
# shellcheck disable=SC2059
hash=$({
	printf "$(sed 's/../\\x&/g' <<<"$pub")"
	printf '%s' "$salt"
} | sha1sum)
hash=${hash%% *}

conflicts=0
# conflict [CODE]: count one lost race and pause 0 to 99 ms, or give up with
# CODE (default 5).
conflict() {
	conflicts=$((conflicts + 1))
	((conflicts <= retries)) || die "${1:-5}" "gave up after $retries conflicts (--retries)"
	sleep "0.$(printf '%02d' $((RANDOM % 100)))"
}

for ((i = 0; i < count; )); do
	code=0
	answer=$(grenache-get "${opts[@]}" --raw --salt "$salt" "$hash") || code=$?
	case $code in
	0) read -r seq value < <(jq -r '"\(.seq) \(.v)"' <<<"$answer") ;;
	3) seq=0 value=0 ;; # nothing stored yet: this is the first write
	4) conflict 4 && continue ;; # an older version than one seen: read again
	*) die "$code" "reading the counter $hash failed" ;;
	esac
	[[ $seq =~ ^[0-9]+$ && $value =~ ^[0-9]+$ ]] ||
		die 1 "the item $hash does not hold a counter (seq ${seq@Q}, value ${value@Q})"

	put=(grenache-put "${opts[@]}" --mutable --salt "$salt")
	if ((use_cas)); then
		((code == 3)) || put+=(--cas "$seq")
		put+=(-n "$((seq + 1))")
	fi
	code=0
	got=$("${put[@]}" "$((value + 1))") || code=$?
	case $code in
	0) ;;
	5) conflict && continue ;;
	*) die "$code" "storing the counter $hash failed" ;;
	esac
	[[ $got == "$hash" ]] || die 1 "the grape stored the counter under $got, not $hash"
	if ((use_cas)); then
		echo "$((seq + 1)) $((value + 1))"
	else
		echo "- $((value + 1))"
	fi
	i=$((i + 1))
done
echo "$prog: $hash: $count increments, $conflicts conflicts retried" >&2
