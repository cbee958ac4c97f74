#!/usr/bin/python3
"""A libtorrent DHT node for grenache's interop tests, driven over stdin/stdout.

Run by Debian's own /usr/bin/python3 with python3-libtorrent (2.0.8):

    /usr/bin/python3 scripts/ltnode.py [-port N] 127.0.0.1:DHTPORT[,127.0.0.1:DHTPORT...]

The node listens on 127.0.0.1 only and bootstraps from the given addresses (the
grapes' DHT ports) and from nothing else. Once its DHT has bootstrapped it
writes one JSON line, {"ready": true, "port": N, ...}; then it reads one JSON
command per line on stdin and writes one JSON answer per command on stdout. It
exits when stdin closes. Every wait is bounded (-timeout seconds per command).

Byte strings travel as hex. Commands ("op"):

  {"op": "port"}
      -> {"ok": true, "port": N}                  its DHT UDP port
  {"op": "put", "v": HEX}
      -> {"ok": true, "target": HEX, "nodes": N}   immutable; nodes = nodes that stored it
  {"op": "put", "sk": HEX, "salt": HEX, "v": HEX [, "seq": N] [, "cas": N]}
      -> {"ok": true, "target": HEX, "k": HEX, "seq": N, "sig": HEX, "nodes": N}
      sk is a 32-byte ed25519 seed or a 64-byte expanded secret (clamped
      scalar || prefix, libtorrent's own layout). libtorrent reads the item
      first and signs seq = the highest seq it found + 1 itself: its API takes
      neither a seq nor a cas. A command with "cas" is refused here (nothing is
      sent), and one whose "seq" is not what libtorrent chose says so after
      the fact ("seq_mismatch": true).
  {"op": "get", "target": HEX}
      -> {"ok": true, "found": true, "v": HEX} or {"ok": true, "found": false}
  {"op": "get", "k": HEX, "salt": HEX}
      -> {"ok": true, "found": true, "v": HEX, "seq": N, "sig": HEX} or found false

A put that no node stored answers {"ok": false, "error": ..., "nodes": 0,
"codes": [...]}: codes are the KRPC error codes the other nodes answered with
(e.g. 301, 302, 205), which libtorrent's put alert does not carry; they are
read from its DHT packet log. Any failure: {"ok": false, "error": "..."};
"unsupported": true when libtorrent's API cannot express the command.
"""

import hashlib
import json
import sys
import time

try:
    import libtorrent as lt
except ImportError as e:  # the Go side turns this exit code into a hint
    sys.stderr.write("ltnode: python3-libtorrent is missing (%s): apt-get install -y python3-libtorrent\n" % e)
    sys.exit(3)

# --- ed25519 public keys, from a seed or an expanded secret -----------------
# libtorrent's Python API signs but does not derive keys; this is the plain
# curve arithmetic of RFC 8032 (public data only, speed irrelevant).
_Q = 2**255 - 19
_D = -121665 * pow(121666, _Q - 2, _Q) % _Q
_I = pow(2, (_Q - 1) // 4, _Q)


def _xrecover(y):
    xx = (y * y - 1) * pow(_D * y * y + 1, _Q - 2, _Q)
    x = pow(xx, (_Q + 3) // 8, _Q)
    if (x * x - xx) % _Q != 0:
        x = x * _I % _Q
    if x % 2 != 0:
        x = _Q - x
    return x


_BY = 4 * pow(5, _Q - 2, _Q) % _Q
_B = (_xrecover(_BY), _BY, 1, _xrecover(_BY) * _BY % _Q)


def _add(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _Q
    b = (y1 + x1) * (y2 + x2) % _Q
    c = t1 * 2 * _D * t2 % _Q
    d = z1 * 2 * z2 % _Q
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _Q, g * h % _Q, f * g % _Q, e * h % _Q)


def _mul(s, p):
    r = (0, 1, 1, 0)
    while s:
        if s & 1:
            r = _add(r, p)
        p = _add(p, p)
        s >>= 1
    return r


def _encode(p):
    x, y, z, _ = p
    zi = pow(z, _Q - 2, _Q)
    x, y = x * zi % _Q, y * zi % _Q
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def keypair(sk):
    """Returns (expanded 64-byte secret, 32-byte public key) from a seed or an expanded secret."""
    if len(sk) == 32:
        h = bytearray(hashlib.sha512(sk).digest())
        h[0] &= 248
        h[31] &= 127
        h[31] |= 64
        sk = bytes(h)
    elif len(sk) != 64:
        raise ValueError("sk must be a 32-byte seed or a 64-byte expanded secret, got %d bytes" % len(sk))
    return sk, _encode(_mul(int.from_bytes(sk[:32], "little"), _B))


def item_value(a):
    """The byte string an item alert carries; None when nothing was found.

    The bindings turn the alert's item into a dict whose "value" is the
    decoded entry, and raise RuntimeError when the entry is undefined (not
    found). A value that is not a byte string is reported as found, as its
    bencoding, by the caller's hex: grapes store strings only.
    """
    try:
        item = a.item
    except RuntimeError:
        return None
    if isinstance(item, dict):
        item = item.get("value")
    if isinstance(item, str):
        item = item.encode()
    if not isinstance(item, bytes):
        return None if item is None else lt.bencode(item)
    return item


# --- the session --------------------------------------------------------------


def parse_args(argv):
    port, timeout, boot = 0, 10.0, ""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-port", "--port"):
            port = int(argv[i + 1])
            i += 2
        elif a in ("-timeout", "--timeout"):
            timeout = float(argv[i + 1])
            i += 2
        else:
            boot = a
            i += 1
    if not boot:
        sys.stderr.write("usage: ltnode.py [-port N] [-timeout SECONDS] HOST:PORT[,HOST:PORT...]\n")
        sys.exit(2)
    return port, timeout, boot


class Node:
    def __init__(self, port, timeout, boot):
        self.timeout = timeout
        self.port = None
        self.codes = []  # KRPC error codes received since the last command began
        self.pending = []  # alerts popped while waiting for another
        self.answered = False  # some node answered a query of ours
        settings = {
            "listen_interfaces": "127.0.0.1:%d" % port,
            "dht_bootstrap_nodes": boot,
            "enable_dht": True,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "dht_restrict_routing_ips": False,
            "dht_restrict_search_ips": False,
            "dht_enforce_node_id": False,
            "dht_prefer_verified_node_ids": False,
            "dht_ignore_dark_internet": False,
            # Every node here shares one IP address (127.0.0.1): libtorrent's
            # per-IP limits (5 incoming packets a second, else the address is
            # ignored for 5 minutes; 8000 bytes a second out) would soon cut
            # it off from every grape at once.
            "dht_block_ratelimit": 1000000,
            "dht_upload_rate_limit": 10000000,
            "alert_mask": lt.alert.category_t.dht_notification
            | lt.alert.category_t.dht_operation_notification
            | lt.alert.category_t.dht_log_notification
            | lt.alert.category_t.status_notification
            | lt.alert.category_t.error_notification,
        }
        self.ses = lt.session(settings)

    def alerts(self, deadline):
        """Yields alerts until deadline (pending ones first), recording KRPC errors."""
        while True:
            while self.pending:
                yield self.pending.pop(0)
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self.ses.wait_for_alert(max(1, int(left * 1000))) is None:
                continue
            for a in self.ses.pop_alerts():
                if isinstance(a, lt.dht_log_alert):
                    continue
                if isinstance(a, lt.dht_pkt_alert):
                    self.note_packet(a)
                if isinstance(a, lt.listen_succeeded_alert) and self.port is None:
                    if a.socket_type == lt.socket_type_t.udp or str(a.socket_type).endswith("udp"):
                        self.port = a.port
                self.pending.append(a)

    def note_packet(self, a):
        # Incoming packets are logged as "<== ..." (outgoing: "==> ...").
        if not a.message().lstrip().startswith("<=="):
            return
        try:
            msg = lt.bdecode(bytes(a.pkt_buf))
        except Exception:
            return
        if not isinstance(msg, dict):
            return
        if msg.get(b"y") == b"r":
            self.answered = True
        if msg.get(b"y") == b"e":
            e = msg.get(b"e")
            if isinstance(e, list) and e and isinstance(e[0], int):
                self.codes.append(e[0])

    def wait_ready(self):
        """Waits for the listen port and a first answer from a bootstrap node.

        Not for libtorrent's bootstrap alert: that comes when the bootstrap
        lookup ends, which waits out the timeouts of every dead node the
        grapes still list (earlier short-lived nodes).
        """
        deadline = time.monotonic() + self.timeout
        for _ in self.alerts(deadline):
            if self.answered and self.port is not None:
                return {"ready": True, "port": self.port, "version": lt.__version__}
        return {"ready": False, "port": self.port, "error": "no DHT node answered within %gs" % self.timeout}

    def wait_for(self, match, deadline):
        seen = []
        for a in self.alerts(deadline):
            if match(a):
                return a
            if not isinstance(a, lt.dht_pkt_alert):
                seen.append(a.message())
        # What came instead goes to the log (standard error), for the failure.
        sys.stderr.write("ltnode: timed out; alerts meanwhile:\n  %s\n" % "\n  ".join(seen[-50:]))
        sys.stderr.flush()
        return None

    # --- commands ---

    def put_immutable(self, v):
        deadline = time.monotonic() + self.timeout
        target = self.ses.dht_put_immutable_item(v)
        th = str(target)
        a = self.wait_for(lambda a: isinstance(a, lt.dht_put_alert) and str(a.target) == th, deadline)
        if a is None:
            return {"ok": False, "error": "no put alert within %gs" % self.timeout, "target": th, "codes": self.codes}
        if a.num_success == 0:
            return {"ok": False, "error": "no node stored it", "target": th, "nodes": 0, "codes": self.codes}
        return {"ok": True, "target": th, "nodes": a.num_success, "codes": self.codes}

    def put_mutable(self, cmd):
        if "cas" in cmd and cmd["cas"] is not None:
            return {"ok": False, "unsupported": True,
                    "error": "libtorrent %s's API sends no cas (it reads the item and puts seq+1 itself)" % lt.__version__}
        sk, pk = keypair(bytes.fromhex(cmd["sk"]))
        salt = bytes.fromhex(cmd.get("salt") or "")
        v = bytes.fromhex(cmd["v"])
        deadline = time.monotonic() + self.timeout
        self.ses.dht_put_mutable_item(sk, pk, v, salt)
        # The alert's salt is a str; the key (commands run one at a time) is enough.
        a = self.wait_for(lambda a: isinstance(a, lt.dht_put_alert) and bytes(a.public_key) == pk, deadline)
        target = hashlib.sha1(pk + salt).hexdigest()
        if a is None:
            return {"ok": False, "error": "no put alert within %gs" % self.timeout, "target": target, "codes": self.codes}
        ans = {"ok": a.num_success > 0, "target": target, "k": pk.hex(), "seq": a.seq,
               "sig": bytes(a.signature).hex(), "nodes": a.num_success, "codes": self.codes}
        if a.num_success == 0:
            ans["error"] = "no node stored it"
        if cmd.get("seq") is not None and cmd["seq"] != a.seq:
            ans["seq_mismatch"] = True
        return ans

    def get_immutable(self, target):
        deadline = time.monotonic() + self.timeout
        self.ses.dht_get_immutable_item(lt.sha1_hash(bytes.fromhex(target)))
        a = self.wait_for(lambda a: isinstance(a, lt.dht_immutable_item_alert) and str(a.target) == target, deadline)
        if a is None:
            return {"ok": False, "error": "no item alert within %gs" % self.timeout}
        v = item_value(a)
        if v is None:
            return {"ok": True, "found": False}
        return {"ok": True, "found": True, "v": v.hex()}

    def get_mutable(self, k, salt):
        pk = bytes.fromhex(k)
        s = bytes.fromhex(salt or "")
        deadline = time.monotonic() + self.timeout
        self.ses.dht_get_mutable_item(pk, s)
        # libtorrent posts an alert per better answer, then an authoritative one at the end.
        best = None
        while True:
            a = self.wait_for(lambda a: isinstance(a, lt.dht_mutable_item_alert) and bytes(a.key) == pk, deadline)
            if a is None:
                break
            best = a
            if a.authoritative:
                break
        if best is None:
            return {"ok": False, "error": "no item alert within %gs" % self.timeout}
        v = item_value(best)
        if v is None or bytes(best.signature) == bytes(64):
            return {"ok": True, "found": False, "authoritative": best.authoritative}
        return {"ok": True, "found": True, "v": v.hex(), "seq": best.seq,
                "sig": bytes(best.signature).hex(), "authoritative": best.authoritative}

    def handle(self, cmd):
        self.codes = []
        op = cmd.get("op")
        if op == "port":
            return {"ok": True, "port": self.port}
        if op == "put":
            if cmd.get("sk"):
                return self.put_mutable(cmd)
            return self.put_immutable(bytes.fromhex(cmd["v"]))
        if op == "get":
            if cmd.get("k"):
                return self.get_mutable(cmd["k"], cmd.get("salt"))
            return self.get_immutable(cmd["target"].lower())
        return {"ok": False, "error": "unknown op %r" % op}


def main():
    port, timeout, boot = parse_args(sys.argv[1:])
    node = Node(port, timeout, boot)
    out = sys.stdout
    out.write(json.dumps(node.wait_ready()) + "\n")
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            ans = node.handle(json.loads(line))
        except Exception as e:  # one bad command must not end the node
            ans = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        out.write(json.dumps(ans) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
