// Package audit owns Signet's audit recorder: the sign-in log (every token
// asked for, granted or refused) and the activity log (every control-plane
// write).
//
// Recording uses group commit: callers enqueue a record and wait; one writer
// goroutine commits everything queued in one store Write transaction and then
// wakes every waiter with that transaction's result. A record is acknowledged
// only after it is committed, so an acknowledged record is never lost, and
// under load batches grow by themselves so recording is not the bottleneck.
// The queue is bounded: when it is full callers block (honouring their
// context), which pushes back on whoever produces records.
//
// It imports only store; it must not import the protocol packages (sts, arm)
// that call it.
package audit
