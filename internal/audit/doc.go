// Package audit owns Signet's audit recorder and retention: the sign-in log
// (every token asked for, granted or refused), the activity log (every
// control-plane write) and the data-access log (every secret or blob
// touched, or refused).
//
// Recording uses group commit: callers enqueue a record and wait; one writer
// goroutine commits everything queued in one store Write transaction and then
// wakes every waiter with that transaction's result. A record is acknowledged
// only after it is committed, so an acknowledged record is never lost, and
// under load batches grow by themselves so recording is not the bottleneck.
// StartSignIn queues a sign-in without waiting and hands back the wait, so
// the STS signs its token while the record commits; it can mark the client
// assertion used in the same transaction, refusing a replay atomically.
// The queue is bounded: when it is full callers block (honouring their
// context), which pushes back on whoever produces records.
//
// Tamper evidence (sequence numbers and a SHA-256 hash chain per stream) is
// the store's: it is computed inside the append transaction, where the
// stream's head is locked, so it holds across replicas. Pruner enforces
// per-stream retention in bounded transactions through store.PruneAudit,
// which keeps a checkpoint so the chain still verifies after pruning.
//
// It imports only store; it must not import the protocol packages (sts, arm)
// that call it.
package audit
