// Package audit writes the audit trail of the auth path: one JSON line per
// token issued or refused, never sampled, to a sink of its own (a file
// rotated by size, or standard output as a stream apart from the logs).
//
// Recording never waits on the sink: records go through a bounded buffer to
// one writer, and when the sink is stuck (a full disk, a reader that stopped
// reading) the records that do not fit are dropped and counted
// (lbauthz_audit_dropped_total), so that the audit trail can never stop
// users from entering their rooms. A record holds no token, cookie or key.
package audit
