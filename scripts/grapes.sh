#!/usr/bin/env bash
# Start and stop a local network of grapes (scripts/grape.js) on loopback,
# for the demo, the integration tests and the benchmarks.
#
#   scripts/grapes.sh start DIR [N]   start N grapes (default 2), wait until connected
#   scripts/grapes.sh stop DIR        stop the grapes recorded in DIR
#
# Grape i (1..N) listens on UDP $GRAPE_DHT_BASE+i (default 20000+i) for the DHT
# and on HTTP 127.0.0.1:$GRAPE_API_BASE+i (default 30000+i) for its API, and
# bootstraps to all the others; grape 2 thus answers on 127.0.0.1:30002, the
# original command-line client's default. PIDs go to DIR/grape-i.pid, output to
# DIR/grape-i.log. Only the recorded PIDs are ever signalled. Env: GRAPE_DHT_BASE,
# GRAPE_API_BASE (port bases), GRAPE_READY_TIMEOUT (seconds, default 10).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dht_base=${GRAPE_DHT_BASE:-20000}
api_base=${GRAPE_API_BASE:-30000}
# Bounds, in seconds, on waiting for readiness and for a graceful stop.
ready_timeout=${GRAPE_READY_TIMEOUT:-10}
stop_timeout=5

die() {
	echo "grapes.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: $0 start DIR [N] | stop DIR" >&2
	exit 2
}

is_uint() {
	[[ $1 =~ ^[0-9]+$ ]]
}

# pid_is_grape PID: true when PID is alive and is one of our grapes, so that a
# stale pid file never makes us signal an unrelated process that reused the PID.
pid_is_grape() {
	kill -0 "$1" 2>/dev/null || return 1
	# /proc rather than ps: a fresh machine may lack procps.
	local args
	args=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
	[[ $args == *grape.js* ]]
}

show_logs() {
	local dir=$1 f
	for f in "$dir"/grape-*.log; do
		[[ -e $f ]] || continue
		echo "----- $f" >&2
		cat "$f" >&2
	done
}

stop_grapes() {
	local dir=$1 f pid pids=() i
	for f in "$dir"/grape-*.pid; do
		[[ -e $f ]] || continue
		pid=$(<"$f")
		if is_uint "$pid" && pid_is_grape "$pid"; then
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$pid")
		fi
	done
	for ((i = 0; i < stop_timeout * 10; i++)); do
		local alive=()
		for pid in ${pids[@]+"${pids[@]}"}; do
			kill -0 "$pid" 2>/dev/null && alive+=("$pid")
		done
		pids=(${alive[@]+"${alive[@]}"})
		((${#pids[@]} == 0)) && break
		sleep 0.1
	done
	for pid in ${pids[@]+"${pids[@]}"}; do
		echo "grapes.sh: pid $pid ignored SIGTERM, sending SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -f "$dir"/grape-*.pid
}

ensure_node_modules() {
	command -v node >/dev/null || die "node is not installed"
	if [[ ! -d $here/node_modules/grenache-grape ]]; then
		echo "grapes.sh: installing grape dependencies: npm ci --prefix $here" >&2
		npm ci --prefix "$here" --no-audit --no-fund >&2 || die "npm ci failed"
	fi
}

# wait_ready DEADLINE_S PID:APIPORT...: every API answers, and (with more than
# one grape) an immutable put through each grape returns a 40-hex key, which
# only happens once it knows other nodes. Fails early when a grape exits.
wait_ready() {
	node - "$@" <<'EOF'
'use strict'
const http = require('node:http')
const [timeoutS, ...specs] = process.argv.slice(2)
const grapes = specs.map((s) => s.split(':').map(Number))
const deadline = Date.now() + Number(timeoutS) * 1000
const hexKey = /^"[0-9a-f]{40}"$/

function post (port, path, body) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', timeout: 5000 }, (res) => {
      let b = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { b += d })
      res.on('end', () => resolve(b))
      res.on('error', (e) => resolve(null))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', () => resolve(null))
    req.end(JSON.stringify(body))
  })
}

function alive (pid) {
  try { process.kill(pid, 0); return true } catch (e) { return e.code === 'EPERM' }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function main () {
  const last = new Map()
  for (;;) {
    for (const [pid, port] of grapes) {
      if (!alive(pid)) {
        console.error(`grapes.sh: grape pid ${pid} (api ${port}) exited`)
        process.exit(1)
      }
    }
    // First every API (hence every DHT socket) is up: an unknown request
    // type is answered without touching the DHT. Only then put, because a put
    // that queries a node not yet listening hangs for the DHT query timeout.
    let ok = true
    for (const [, port] of grapes) {
      const probe = await post(port, '/grapes-ping', { rid: 'grapes.sh', data: null })
      last.set(port, probe)
      if (probe === null) { ok = false; break }
    }
    for (const [, port] of grapes) {
      if (!ok || grapes.length === 1) break
      const probe = await post(port, '/put', { rid: 'grapes.sh', data: { v: 'grapes.sh readiness probe' } })
      last.set(port, probe)
      ok = probe !== null && hexKey.test(probe)
    }
    if (ok) return
    if (Date.now() > deadline) {
      for (const [port, probe] of last) console.error(`grapes.sh: api ${port} last answer: ${probe === null ? '(no answer)' : probe}`)
      console.error(`grapes.sh: grapes not ready after ${timeoutS}s`)
      process.exit(1)
    }
    await sleep(50)
  }
}
main()
EOF
}

start_grapes() {
	local dir=$1 n=$2 i j bn pid f
	is_uint "$n" && ((n >= 1)) || die "N must be a positive integer, got '$n'"
	is_uint "$dht_base" && is_uint "$api_base" || die "GRAPE_DHT_BASE and GRAPE_API_BASE must be integers"
	((dht_base + n <= 65535 && api_base + n <= 65535)) || die "ports out of range"
	mkdir -p "$dir"
	for f in "$dir"/grape-*.pid; do
		[[ -e $f ]] || continue
		pid=$(<"$f")
		if is_uint "$pid" && pid_is_grape "$pid"; then
			die "grape pid $pid from $f is still running; run: $0 stop $dir"
		fi
		rm -f "$f"
	done
	ensure_node_modules

	local specs=()
	for ((i = 1; i <= n; i++)); do
		bn=""
		for ((j = 1; j <= n; j++)); do
			((j == i)) && continue
			bn+="${bn:+,}127.0.0.1:$((dht_base + j))"
		done
		node "$here/grape.js" -b 127.0.0.1 --dp "$((dht_base + i))" --aph "$((api_base + i))" --bn "$bn" \
			</dev/null >"$dir/grape-$i.log" 2>&1 &
		echo "$!" >"$dir/grape-$i.pid"
		specs+=("$!:$((api_base + i))")
	done

	if ! wait_ready "$ready_timeout" "${specs[@]}"; then
		show_logs "$dir"
		stop_grapes "$dir"
		die "failed to start $n grapes (DHT ports $((dht_base + 1))-$((dht_base + n)), API ports $((api_base + 1))-$((api_base + n)))"
	fi
	for ((i = 1; i <= n; i++)); do
		echo "grape $i: pid $(<"$dir/grape-$i.pid") api http://127.0.0.1:$((api_base + i)) dht udp 127.0.0.1:$((dht_base + i))"
	done
}

[[ $# -ge 2 ]] || usage
cmd=$1
dir=$2
case $cmd in
start)
	[[ $# -le 3 ]] || usage
	start_grapes "$dir" "${3:-2}"
	;;
stop)
	[[ $# -eq 2 ]] || usage
	[[ -d $dir ]] || die "no such directory: $dir"
	stop_grapes "$dir"
	;;
*)
	usage
	;;
esac
