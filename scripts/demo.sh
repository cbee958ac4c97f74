#!/usr/bin/env bash
# The main job, end to end: start two local grapes (grape 2's API on 30002, the
# default port), put the applets on PATH as `make install` would, create a key
# pair in a temporary configuration folder, and run the sensor examples,
# printing each command and what it printed. Stops the grapes it started.
#
#   scripts/demo.sh [PATH-TO-GRENACHE-BINARY]    (make demo builds it first)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$(realpath "${1:-$here/../grenache}")
[[ -x $bin ]] || { echo "demo.sh: no grenache binary at $bin (run make build)" >&2; exit 1; }

work=$(mktemp -d)
cleanup() {
	"$here/grapes.sh" stop "$work/grapes" || true
	rm -rf "$work"
}
trap cleanup EXIT

"$here/grapes.sh" start "$work/grapes" 2

# The links `make install` makes, in a folder of our own.
mkdir "$work/bin"
ln -s "$bin" "$work/bin/grenache"
for a in keygen put get; do ln -s grenache "$work/bin/grenache-$a"; done
export PATH="$work/bin:$PATH"
# A throwaway key pair: never the user's own.
export XDG_CONFIG_HOME="$work/config" HOME="$work/home"
mkdir -p "$HOME"
unset GRENACHE_GRAPE GRENACHE_PORT GRENACHE_TLS GRENACHE_TIMEOUT GRENACHE_CONNECT_TIMEOUT

# run CMD: show the command, then run it; its output follows.
run() {
	printf '\n$ %s\n' "$1"
	eval "$1"
}

if ! command -v jq >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
	echo "demo.sh: installing jq for the last example" >&2
	{ apt-get update -qq && apt-get install -y -qq jq; } >/dev/null 2>&1 || true
fi

run 'grenache-keygen'
run 'host_hash=$(grenache-put "$(uname -n)"); echo "$host_hash"'
run 'grenache-get "$host_hash"'
run 'grenache-put --mutable "$(uptime -p 2>/dev/null || echo up)"'
run 'mem_hash=$(grenache-put --mutable --salt sys:mem:available "$(awk '\''/^MemAvailable:/ { print $2 "Ki" }'\'' < /proc/meminfo)"); echo "$mem_hash"'
run 'grenache-get --salt sys:mem:available "$mem_hash"'
run 'numfmt --from=auto --to=iec-i < <(grenache-get --salt sys:mem:available "$mem_hash")'
if command -v jq >/dev/null; then
	run 'grenache-get --raw --salt sys:mem:available "$mem_hash" | jq .'
else
	run 'grenache-get --raw --salt sys:mem:available "$mem_hash"'
fi
run 'grenache put --mutable --salt demo:counter 1 && grenache get --salt demo:counter "$(grenache put -m -s demo:counter 2)"'
run 'grenache get 0000000000000000000000000000000000000000 || echo "exit code $?"'
printf '\ndemo: all examples ran against the local grapes\n'
