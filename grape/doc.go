// Package grape holds the transports that carry BEP 44 items to and from the Grenache
// DHT and look up and announce services — the first of them the HTTP API of a grape node,
// and Multi over several — and beside them the client that calls a service's workers
// (Grenache RPC, rpc.go).
//
// A grape is an untrusted relay. It answers with whatever the DHT gave it, reports some
// failures as HTTP 200 with a JSON string, turns DHT codes 301 and 302 into HTTP statuses,
// and re-reads some fields with "try JSON.parse, else text". So everything here is strict:
// requests are refused when the grape would mangle them (CheckSalt, CheckValue), every
// answer is classified by its content and not only its status, items are handed to
// callers only through Fetch, after bep44's target and signature check, and peers only
// through Peers, after their check.
package grape
