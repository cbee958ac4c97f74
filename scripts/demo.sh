#!/usr/bin/env bash
# The main job, end to end: start two local grapes on free loopback ports
# (scripts/grapes), put the applets on PATH as `make install` would, create a
# key pair in a temporary configuration folder, and run the sensor examples
# against the grapes (GRENACHE_PORT names one), printing each command and what
# it printed. Stops the grapes it started.
#
#   scripts/demo.sh [PATH-TO-GRENACHE-BINARY]    (make demo builds it first)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
bin=$(realpath "${1:-$root/grenache}")
[[ -x $bin ]] || { echo "demo.sh: no grenache binary at $bin (run make build)" >&2; exit 1; }
command -v node >/dev/null || { echo "demo.sh: Node.js runs the grapes: install it (Debian: apt-get install nodejs npm)" >&2; exit 1; }

work=$(mktemp -d)
grapes_pid= grapes_in=
cleanup() {
	# Closing its standard input stops the grapes; then wait until it has.
	if [[ -n $grapes_pid ]]; then
		eval "exec $grapes_in>&-"
		wait "$grapes_pid" || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && go build -o "$work/grapes" ./scripts/grapes)
coproc GRAPES { cd "$root" && exec "$work/grapes" -n 2 2>"$work/grapes.err"; }
grapes_pid=$GRAPES_PID grapes_in=${GRAPES[1]}
# It prints GRAPE1_PORT=..., GRAPE2_PORT=... and GRENACHE_PORT=..., then
# closes its standard output.
ports=$(cat <&"${GRAPES[0]}")
[[ $ports == *GRENACHE_PORT=* ]] || { cat "$work/grapes.err" >&2; echo "demo.sh: the grapes did not start" >&2; exit 1; }
unset GRENACHE_GRAPE GRENACHE_PORT GRENACHE_TLS GRENACHE_TIMEOUT GRENACHE_CONNECT_TIMEOUT
while IFS== read -r name value; do
	[[ $name =~ ^[A-Z0-9_]+$ && $value =~ ^[0-9]+$ ]] && export "$name=$value"
done <<<"$ports"
echo "demo: two grapes on 127.0.0.1, ports $GRAPE1_PORT and $GRAPE2_PORT; GRENACHE_PORT=$GRENACHE_PORT"

# The links `make install` makes, in a folder of our own.
mkdir "$work/bin"
ln -s "$bin" "$work/bin/grenache"
for a in keygen put get; do ln -s grenache "$work/bin/grenache-$a"; done
export PATH="$work/bin:$PATH"
# A throwaway key pair: never the user's own.
export XDG_CONFIG_HOME="$work/config" HOME="$work/home"
mkdir -p "$HOME"

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
