// Package framework holds what the decoders of web frameworks' own session
// formats share: the refusal they return and the bounds they apply.
//
// Each decoder lives in a package of its own (django, flask, php, laravel):
// bytes and the app's secrets in, a plain session document out. Decoders do
// no I/O, build only plain values (strings, numbers, booleans, lists and
// maps), never run code the payload names (no unpickling, no PHP objects),
// and compare MACs in constant time. Reading a session from a database, a
// file or Redis is the session package's job.
package framework
