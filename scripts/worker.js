// A Grenache RPC worker for the tests: grenache-nodejs-http's PeerRPCServer,
// announced through a grape with grenache-nodejs-link, as services built on
// them are. It listens on 127.0.0.1 only, on a port the system chooses (or
// --port), and prints "worker ready: 127.0.0.1:PORT ..." once a grape has
// taken its first announcement; it announces again every second.
//
// Usage:
//   node scripts/worker.js --grape http://127.0.0.1:APIPORT --service NAME [--name NAME] [--port PORT]
// With GRAPE_EXIT_WITH_STDIN=1 in the environment it also stops at the end of stdin.
//
// Payloads are {"action": A, "args": [...]}, as grenache request sends them:
//   echo      answers the args
//   whoami    answers the worker's --name
//   fail      answers the error args[0] (ERR_WORKER_FAIL without one)
//   big       answers a string of args[0] x's
//   never     answers nothing at all
// Another action answers the error ERR_API_NO_HANDLER; a payload that is no
// such object is answered {"payload": payload}.
'use strict'

const { PeerRPCServer } = require('grenache-nodejs-http')
const Link = require('grenache-nodejs-link')

const HOST = '127.0.0.1'

function usage (msg) {
  process.stderr.write(`worker.js: ${msg}\n` +
    'usage: node scripts/worker.js --grape http://127.0.0.1:APIPORT --service NAME [--name NAME] [--port PORT]\n')
  process.exit(2)
}

const args = {}
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const m = /^--(grape|service|name|port)(?:=(.*))?$/s.exec(argv[i])
  if (!m) usage(`unknown argument ${JSON.stringify(argv[i])}`)
  let val = m[2]
  if (val === undefined) {
    if (i + 1 >= argv.length) usage(`--${m[1]} needs a value`)
    val = argv[++i]
  }
  args[m[1]] = val
}
if (!args.grape) usage('--grape is required')
if (!args.service) usage('--service is required')
// Loopback grapes only: the tests never announce anywhere else.
if (!/^http:\/\/127\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+$/.test(args.grape)) usage(`--grape: want http://127.x.x.x:PORT, got ${JSON.stringify(args.grape)}`)
const name = args.name || 'worker'
const port = args.port === undefined ? 0 : Number(args.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`--port: not a port: ${JSON.stringify(args.port)}`)

const link = new Link({ grape: args.grape })
link.start()

const peer = new PeerRPCServer(link, {})
peer.init()

const service = peer.transport('server')
// The transport's server listens on every interface; bind it to loopback.
const getSocket = service.getSocket.bind(service)
service.getSocket = (secure) => {
  const socket = getSocket(secure)
  const listen = socket.listen.bind(socket)
  socket.listen = (p, ...rest) => listen(p, HOST, ...rest)
  return socket
}
service.listen(port)

service.on('request', (rid, key, payload, handler) => {
  if (payload === null || typeof payload !== 'object' || typeof payload.action !== 'string') {
    handler.reply(null, { payload })
    return
  }
  const a = Array.isArray(payload.args) ? payload.args : []
  switch (payload.action) {
    case 'echo':
      handler.reply(null, a)
      break
    case 'whoami':
      handler.reply(null, name)
      break
    case 'fail':
      handler.reply(new Error(typeof a[0] === 'string' ? a[0] : 'ERR_WORKER_FAIL'))
      break
    case 'big':
      handler.reply(null, 'x'.repeat(Number(a[0]) || 0))
      break
    case 'never':
      break
    default:
      handler.reply(new Error('ERR_API_NO_HANDLER'))
  }
})

service.socket.on('listening', () => {
  const bound = service.socket.address().port
  let ready = false
  link.startAnnouncing(args.service, bound, { interval: 1000 }, (err) => {
    if (err) {
      process.stderr.write(`worker.js: announcing ${args.service}: ${err.message}\n`)
      process.exit(1)
    }
    if (!ready) {
      ready = true
      process.stdout.write(`worker ready: ${HOST}:${bound} service ${args.service} name ${name} pid ${process.pid}\n`)
    }
  })
})
service.socket.on('error', (err) => {
  process.stderr.write(`worker.js: ${err.stack || err}\n`)
  process.exit(1)
})

let stopping = false
function shutdown (why) {
  if (stopping) return
  stopping = true
  process.stdout.write(`worker stopped on ${why}\n`)
  link.stop()
  peer.stop()
  process.exit(0)
}
process.on('SIGTERM', () => shutdown('SIGTERM'))
process.on('SIGINT', () => shutdown('SIGINT'))
if (process.env.GRAPE_EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', () => shutdown('end of stdin'))
  process.stdin.on('error', () => shutdown('stdin error'))
  process.stdin.resume()
}
