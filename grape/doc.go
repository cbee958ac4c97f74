// Package grape holds the transports that carry BEP 44 items to and from the Grenache
// DHT, and the first of them: the HTTP API of a grape node.
//
// A grape is an untrusted relay. It answers with whatever the DHT gave it, reports some
// failures as HTTP 200 with a JSON string, turns DHT codes 301 and 302 into HTTP statuses,
// and re-reads some fields with "try JSON.parse, else text". So everything here is strict:
// requests are refused when the grape would mangle them (CheckSalt, CheckValue), every
// answer is classified by its content and not only its status, and items are handed to
// callers only through Fetch, after bep44's target and signature check.
package grape
