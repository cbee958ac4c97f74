#!/usr/bin/env node
// A grenache grape that stores and serves mutable (BEP 44 signed) items.
//
// The stock `grape` command of grenache-grape 1.0.0 gives its DHT no ed25519
// verify function, so remote nodes refuse every mutable put ("verification
// not supported"). This builds the same Grape with the same options as that
// command, plus a verify function on node:crypto.
//
// It only ever talks to loopback peers: --bn is required and every bootstrap
// address must be 127.x.x.x, because the DHT library falls back to the public
// BitTorrent routers when it is given no bootstrap list.
//
// Usage:
//   node scripts/grape.js --dp UDPPORT --aph HTTPPORT --bn 127.0.0.1:P1,127.0.0.1:P2 [-b 127.0.0.1]
//     [--dpa MS] [--dht_maxValues N] [--check_maxPayloadSize BYTES]
// An empty --bn '' starts a grape with no peers at all.
// With GRAPE_EXIT_WITH_STDIN=1 in the environment it also stops at the end of stdin.
'use strict'

const crypto = require('node:crypto')
const { Grape } = require('grenache-grape')
const DHT = require('bittorrent-dht')

// DER SubjectPublicKeyInfo header for an Ed25519 key; the raw 32 key bytes follow.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

function verify (sig, msg, pubkey) {
  try {
    if (!(sig instanceof Uint8Array) || sig.length !== 64) return false
    if (!(pubkey instanceof Uint8Array) || pubkey.length !== 32) return false
    if (!(msg instanceof Uint8Array)) return false
    const key = crypto.createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, pubkey]),
      format: 'der',
      type: 'spki'
    })
    return crypto.verify(null, msg, key, sig)
  } catch (err) {
    return false
  }
}

function usage (msg) {
  process.stderr.write(`grape.js: ${msg}\n` +
    'usage: node scripts/grape.js --dp UDPPORT --aph HTTPPORT --bn 127.0.0.1:P1,127.0.0.1:P2 [-b 127.0.0.1]\n' +
    '       [--dpa MS] [--dht_maxValues N] [--check_maxPayloadSize BYTES]\n')
  process.exit(2)
}

// Flags taking a value, keyed by every spelling the stock command accepts.
const FLAGS = {
  dp: 'dp',
  dht_port: 'dp',
  aph: 'aph',
  api_port: 'aph',
  bn: 'bn',
  bootstrap: 'bn',
  b: 'b',
  bind: 'b',
  dpa: 'dpa',
  dht_peer_maxAge: 'dpa',
  dht_maxValues: 'dht_maxValues',
  check_maxPayloadSize: 'check_maxPayloadSize'
}

function parseArgs (argv) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const m = /^--?([A-Za-z_]+)(?:=(.*))?$/s.exec(arg)
    if (!m || !FLAGS[m[1]]) usage(`unknown argument ${JSON.stringify(arg)}`)
    let val = m[2]
    if (val === undefined) {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`)
      val = argv[++i]
    }
    out[FLAGS[m[1]]] = val
  }
  return out
}

function parsePort (name, s) {
  if (!/^[0-9]+$/.test(s)) usage(`${name}: not a port: ${JSON.stringify(s)}`)
  const n = Number(s)
  if (n < 1 || n > 65535) usage(`${name}: port out of range: ${s}`)
  return n
}

function parseCount (name, s) {
  if (s === undefined) return undefined
  if (!/^[0-9]+$/.test(s)) usage(`${name}: not a number: ${JSON.stringify(s)}`)
  return Number(s)
}

function isLoopback (host) {
  const m = /^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(host)
  return m !== null && m.slice(1).every((o) => Number(o) <= 255)
}

function parseBootstrap (s) {
  const nodes = []
  for (const e of s.split(',')) {
    if (e === '') continue
    const m = /^([^:]+):([0-9]+)$/.exec(e)
    if (!m) usage(`--bn: want HOST:PORT, got ${JSON.stringify(e)}`)
    if (!isLoopback(m[1])) usage(`--bn: refusing non-loopback bootstrap node ${JSON.stringify(e)} (want 127.x.x.x)`)
    parsePort('--bn', m[2])
    nodes.push(e)
  }
  return nodes
}

const args = parseArgs(process.argv.slice(2))
if (args.dp === undefined) usage('--dp is required')
if (args.aph === undefined) usage('--aph is required')
if (args.bn === undefined) usage("--bn is required (use --bn '' for no peers)")

const dhtPort = parsePort('--dp', args.dp)
const apiPort = parsePort('--aph', args.aph)
// Always an array, never undefined or false: k-rpc turns an undefined list
// into the public routers, and bittorrent-dht re-bootstraps an isolated node
// from that list every few minutes.
const bootstrap = parseBootstrap(args.bn)
const host = args.b === undefined ? '127.0.0.1' : args.b
if (host === '') usage('-b: empty host')

// The stock Grape binds the DHT's UDP socket to all interfaces. Bind it to the
// HTTP host instead, so that a loopback grape is reachable only on loopback.
const listen = DHT.prototype.listen
DHT.prototype.listen = function (port, ...rest) {
  if (typeof rest[0] === 'function') return listen.call(this, port, host, ...rest)
  return listen.call(this, port, ...rest)
}

// Same option set as grenache-grape's bin/grape.js (an unset flag passes
// undefined, which overrides the class defaults just as the command does).
const g = new Grape({
  host,
  dht_port: dhtPort,
  dht_bootstrap: bootstrap,
  dht_maxTables: undefined,
  dht_maxValues: parseCount('--dht_maxValues', args.dht_maxValues),
  dht_concurrency: undefined,
  dht_nodeLiveness: undefined,
  api_port: apiPort,
  dht_peer_maxAge: parseCount('--dpa', args.dpa),
  cache_maxAge: undefined,
  check_maxPayloadSize: parseCount('--check_maxPayloadSize', args.check_maxPayloadSize),
  verify
})

let stopping = false
function shutdown (signal) {
  if (stopping) return
  stopping = true
  // Do not hang on a stuck close; the grape holds no state worth saving.
  setTimeout(() => process.exit(0), 2000).unref()
  g.stop(() => {
    process.stdout.write(`grape stopped on ${signal}\n`)
    process.exit(0)
  })
}
process.on('SIGTERM', () => shutdown('SIGTERM'))
process.on('SIGINT', () => shutdown('SIGINT'))

// A parent that may die without stopping us (a Go test binary killed on
// timeout) holds our stdin open; the end of stdin then means: exit too.
if (process.env.GRAPE_EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', () => shutdown('end of stdin'))
  process.stdin.on('error', () => shutdown('stdin error'))
  process.stdin.resume()
}

g.start((err) => {
  if (err) {
    process.stderr.write(`grape.js: start failed: ${err.stack || err}\n`)
    process.exit(1)
  }
  process.stdout.write(`grape ready: api http://${host}:${apiPort} dht udp ${host}:${dhtPort} ` +
    `bootstrap [${bootstrap.join(',')}] pid ${process.pid}\n`)
})
