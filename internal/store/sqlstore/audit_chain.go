package sqlstore

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/signet-platform/signet/internal/store"
)

// The audit hash chain. Each stream's records are numbered 1, 2, … in
// append order and
//
//	hash(n) = SHA-256(hash(n-1) || field(stream) || field(n) || field(col)…)
//
// over the stream's columns as stored (times as unix microseconds), where
// field(x) is x's decimal or UTF-8 text prefixed by its length in bytes as a
// big-endian int64, and hash(0) is 32 zero bytes. The length prefixes make
// the encoding unambiguous. Migration 0006 computes the same function in SQL
// (signet_audit_field on PostgreSQL, the signet_audit_hash function below on
// SQLite) to chain the rows that existed before it.
//
// audit_heads holds each stream's head (last seq and hash) and the
// retention checkpoint (last pruned seq and hash). Appenders read the head
// with SELECT … FOR UPDATE inside their write transaction: on PostgreSQL a
// second replica appending at the same time waits for the row and then
// fails serialization (the store's Write retries it on the new head), so
// the chain never forks; on SQLite writers are serialized anyway.

// genesis is hash(0), the prev_hash of a stream's first record.
var genesis = make([]byte, sha256.Size)

func init() {
	// Migration 0006 hashes existing rows on SQLite with these; the store
	// registers them before any connection is opened.
	sqlite.MustRegisterDeterministicScalarFunction("signet_audit_hash", -1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		if len(args) < 3 {
			return nil, errors.New("signet_audit_hash: want prev, stream, seq, fields…")
		}
		prev, _ := args[0].([]byte)
		stream, _ := args[1].(string)
		seq, ok := args[2].(int64)
		if !ok {
			return nil, fmt.Errorf("signet_audit_hash: seq is %T, want an integer", args[2])
		}
		fields := make([]any, len(args)-3)
		for i, a := range args[3:] {
			fields[i] = a
		}
		return chainHash(prev, store.AuditStream(stream), seq, fields), nil
	})
	sqlite.MustRegisterDeterministicScalarFunction("signet_key", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		s, _ := args[0].(string)
		return key(s), nil
	})
}

// chainHash is hash(seq) for a record whose stored column values are fields.
func chainHash(prev []byte, stream store.AuditStream, seq int64, fields []any) []byte {
	sum := sha256.Sum256(chainInput(nil, prev, stream, seq, fields))
	return sum[:]
}

// chainInput appends the bytes hash(seq) digests to buf. Building them in
// one buffer and hashing it with sha256.Sum256 costs no allocation once buf
// has grown, where a streaming hash.Hash costs several per record.
func chainInput(buf, prev []byte, stream store.AuditStream, seq int64, fields []any) []byte {
	buf = append(buf, prev...)
	buf = appendField(buf, string(stream))
	buf = appendIntField(buf, seq)
	for _, f := range fields {
		switch v := f.(type) {
		case string:
			buf = appendField(buf, v)
		case int64:
			buf = appendIntField(buf, v)
		case int:
			buf = appendIntField(buf, int64(v))
		case []byte:
			buf = appendField(buf, v)
		case nil:
			buf = appendField(buf, "")
		default:
			// Only the types above are stored in audit columns.
			panic(fmt.Sprintf("sqlstore: audit field of type %T", f))
		}
	}
	return buf
}

func appendField[S string | []byte](buf []byte, s S) []byte {
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendIntField(buf []byte, n int64) []byte {
	var digits [20]byte
	return appendField(buf, strconv.AppendInt(digits[:0], n, 10))
}

// chainStream is what the chain code needs to know about one stream.
type chainStream[T any] struct {
	stream  store.AuditStream
	table   string
	cols    string   // the hashed columns, in hash order
	keyCols []string // lookup columns derived from hashed ones
	fields  func(T) []any
	keys    func(T) []string
	at      func(T) time.Time // the record's Time
	// scan reads cols, then chainCols, then extra.
	scan func(sc scanner, extra ...any) (T, error)
	// link points at a record's Seq, PrevHash and Hash, and gives its ID.
	link func(*T) (seq *int64, prev, hash *[]byte, id string)
	// inserts[dialect name][mode][i] appends 1<<i rows; set by
	// withInserts.
	inserts map[string][insertModes][]string
}

type chainHead struct {
	seq, prunedSeq   int64
	hash, prunedHash []byte
}

// lockHead reads a stream's head; in a write transaction on PostgreSQL it
// also locks the row until commit.
func (t *tx) lockHead(stream store.AuditStream, lock bool) (chainHead, error) {
	q := "SELECT seq, hash, pruned_seq, pruned_hash FROM audit_heads WHERE stream = ?"
	if lock && t.d == postgresDialect {
		q += " FOR UPDATE"
	}
	var h chainHead
	err := t.queryRow(q, string(stream)).Scan(&h.seq, &h.hash, &h.prunedSeq, &h.prunedHash)
	if err != nil {
		return h, mapErr(err, "read audit head of "+string(stream))
	}
	return h, nil
}

// checker walks a chain in seq order from a checkpoint and names the first
// break.
type checker[T any] struct {
	cs      chainStream[T]
	expect  int64  // the next seq the chain must continue with
	prev    []byte // the hash the next record must carry as prev_hash
	head    chainHead
	checked int64
}

// check returns the fault of one record, or nil when it continues the
// chain; then it advances. gotKeys are the record's stored lookup columns,
// checked against its fields; nil for a stream that stores none beside
// its records (the access log's pages are checked against theirs apart).
func (c *checker[T]) check(v T, gotKeys []string) *store.AuditFault {
	seqp, prevp, hashp, id := c.cs.link(&v)
	seq := *seqp
	switch {
	case seq > c.head.seq:
		return &store.AuditFault{Seq: seq, ID: id, Reason: fmt.Sprintf(
			"inserted: sequence number beyond the stream's head (%d)", c.head.seq)}
	case seq < c.expect:
		return &store.AuditFault{Seq: seq, ID: id, Reason: fmt.Sprintf(
			"inserted: sequence number at or before the retention checkpoint (%d)", c.expect-1)}
	case seq > c.expect:
		return &store.AuditFault{Seq: c.expect, Reason: missing(c.expect, seq-1) + " before record " + id}
	case !bytes.Equal(*prevp, c.prev):
		return &store.AuditFault{Seq: seq, ID: id, Reason: "prev_hash does not match the previous record's hash"}
	case !bytes.Equal(*hashp, chainHash(c.prev, c.cs.stream, seq, c.cs.fields(v))):
		return &store.AuditFault{Seq: seq, ID: id, Reason: "altered: hash does not match the record's fields"}
	}
	if gotKeys != nil {
		for i, want := range c.cs.keys(v) {
			if gotKeys[i] != want {
				return &store.AuditFault{Seq: seq, ID: id, Reason: "altered: lookup column " + c.cs.keyCols[i] +
					" does not match the record"}
			}
		}
	}
	c.checked++
	c.expect, c.prev = seq+1, *hashp
	return nil
}

func missing(from, to int64) string {
	if from == to {
		return fmt.Sprintf("missing: record %d was deleted", from)
	}
	return fmt.Sprintf("missing: records %d to %d were deleted", from, to)
}

// verifyChain checks a whole stream stored a row per record.
func verifyChain[T any](t *tx, cs chainStream[T]) (store.AuditVerification, error) {
	return verifyStream(t, cs, func(c *checker[T]) (*store.AuditFault, error) {
		return walk(t, c, "SELECT "+cs.cols+", "+chainCols+", "+strings.Join(cs.keyCols, ", ")+
			" FROM "+cs.table+" WHERE seq IS NOT NULL ORDER BY seq")
	}, func() (*store.AuditFault, error) {
		// On SQLite seq is the rowid, never NULL: a row inserted without
		// one was numbered, and the walk judged it.
		if t.d == sqliteDialect {
			return nil, nil
		}
		var id string
		err := t.queryRow("SELECT id FROM " + cs.table + " WHERE seq IS NULL ORDER BY time, id LIMIT 1").Scan(&id)
		switch {
		case err == nil:
			return &store.AuditFault{ID: id, Reason: "inserted: record without a sequence number"}, nil
		case errors.Is(err, sql.ErrNoRows):
			return nil, nil
		}
		return nil, mapErr(err, "verify "+string(cs.stream))
	})
}

// verifyStream checks cs's chain from its retention checkpoint to its
// head: walk feeds the stored records to the checker in order until the
// first fault; the head must then be reached, and its hash matched; last,
// if all that holds, finds what the walk cannot see (records outside the
// chain).
func verifyStream[T any](t *tx, cs chainStream[T], walk func(*checker[T]) (*store.AuditFault, error),
	last func() (*store.AuditFault, error)) (store.AuditVerification, error) {
	head, err := t.lockHead(cs.stream, false)
	if err != nil {
		return store.AuditVerification{}, err
	}
	out := store.AuditVerification{
		Stream: cs.stream,
		Head:   store.AuditCheckpoint{Seq: head.seq, Hash: head.hash},
		Pruned: store.AuditCheckpoint{Seq: head.prunedSeq, Hash: head.prunedHash},
	}
	c := &checker[T]{cs: cs, expect: head.prunedSeq + 1, prev: head.prunedHash, head: head}
	fault, err := walk(c)
	if err != nil {
		return out, err
	}
	if fault == nil && c.expect <= head.seq {
		fault = &store.AuditFault{Seq: c.expect, Reason: missing(c.expect, head.seq) + " (the newest)"}
	}
	if fault == nil && !bytes.Equal(c.prev, head.hash) {
		fault = &store.AuditFault{Seq: head.seq, Reason: "the stream's head hash does not match its last record"}
	}
	if fault == nil {
		if fault, err = last(); err != nil {
			return out, err
		}
	}
	out.Checked, out.FirstBad, out.OK = c.checked, fault, fault == nil
	return out, nil
}

// walk feeds the rows of q (cols, chainCols, keyCols) to c until the first
// fault.
func walk[T any](t *tx, c *checker[T], q string, args ...any) (*store.AuditFault, error) {
	what := "verify " + string(c.cs.stream)
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, mapErr(err, what)
	}
	defer rows.Close()
	keys := make([]string, len(c.cs.keyCols))
	keyDest := make([]any, len(keys))
	for i := range keys {
		keyDest[i] = &keys[i]
	}
	for rows.Next() {
		v, err := c.cs.scan(rows, keyDest...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if f := c.check(v, keys); f != nil {
			return f, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, what)
	}
	return nil, nil
}

// ErrAuditChainBroken is returned by PruneAudit when the records it would
// delete do not verify: deleting them would destroy the evidence; and by
// the appends when the sequence number after the head is taken by a row
// written behind the store's back: appending around it would fork the
// chain.
var ErrAuditChainBroken = errors.New("sqlstore: audit chain broken")

// pruneChain deletes the oldest records before a time, after checking
// them, and moves the checkpoint.
func pruneChain[T any](t *tx, cs chainStream[T], before time.Time, max int) (int, error) {
	if max <= 0 {
		return 0, nil
	}
	head, err := t.lockHead(cs.stream, true)
	if err != nil {
		return 0, err
	}
	c := &checker[T]{cs: cs, expect: head.prunedSeq + 1, prev: head.prunedHash, head: head}
	what := "prune " + string(cs.stream)
	rows, err := t.query("SELECT "+cs.cols+", "+chainCols+", "+strings.Join(cs.keyCols, ", ")+
		" FROM "+cs.table+" WHERE seq > ? ORDER BY seq LIMIT ?", head.prunedSeq, max)
	if err != nil {
		return 0, mapErr(err, what)
	}
	keys := make([]string, len(cs.keyCols))
	keyDest := make([]any, len(keys))
	for i := range keys {
		keyDest[i] = &keys[i]
	}
	var fault *store.AuditFault
	for rows.Next() {
		v, err := cs.scan(rows, keyDest...)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		// Records are pruned oldest first in sequence; the first one kept
		// ends the run, so the kept records stay one unbroken chain.
		if seq, _, _, _ := cs.link(&v); !cs.at(v).Before(before) || *seq > head.seq {
			break
		}
		if fault = c.check(v, keys); fault != nil {
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, mapErr(err, what)
	}
	if fault != nil {
		return 0, fmt.Errorf("%s: record %d (%s): %s: %w", what, fault.Seq, fault.ID, fault.Reason, ErrAuditChainBroken)
	}
	if c.checked == 0 {
		return 0, nil
	}
	last := c.expect - 1
	n, err := t.count(what, "DELETE FROM "+cs.table+" WHERE seq > ? AND seq <= ?", head.prunedSeq, last)
	if err != nil {
		return 0, err
	}
	if int64(n) != c.checked {
		return 0, fmt.Errorf("%s: deleted %d records, checked %d: %w", what, n, c.checked, ErrAuditChainBroken)
	}
	return n, t.affect(what, "UPDATE audit_heads SET pruned_seq = ?, pruned_hash = ? WHERE stream = ?",
		last, c.prev, string(cs.stream))
}

// VerifyAudit checks one stream's chain.
func (t *tx) VerifyAudit(stream store.AuditStream) (store.AuditVerification, error) {
	switch stream {
	case store.StreamSignIns:
		return verifyChain(t, signInChain)
	case store.StreamActivity:
		return verifyChain(t, activityChain)
	case store.StreamAccess:
		return verifyAccess(t)
	}
	return store.AuditVerification{}, fmt.Errorf("sqlstore: verify: unknown audit stream %q: %w", stream, store.ErrNotFound)
}

// PruneAudit deletes a stream's oldest records older than before.
func (t *tx) PruneAudit(stream store.AuditStream, before time.Time, max int) (int, error) {
	switch stream {
	case store.StreamSignIns:
		return pruneChain(t, signInChain, before, max)
	case store.StreamActivity:
		return pruneChain(t, activityChain, before, max)
	case store.StreamAccess:
		return pruneAccess(t, before, max)
	}
	return 0, fmt.Errorf("sqlstore: prune: unknown audit stream %q: %w", stream, store.ErrNotFound)
}
