package sqlstore

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/signet-platform/signet/internal/store"
)

// maxInsertShift bounds one INSERT to 1<<maxInsertShift rows. Under load
// the audit writer appends hundreds of records per transaction (access
// record IDs and page lookup entries, sign-ins under a token load), and
// one statement per row spent as much CPU in database/sql and the driver's
// per-call work as in SQLite's b-trees.
// 32 rows of at most 20 columns stay far below both engines' parameter
// limits (SQLite 32766, PostgreSQL 65535).
const maxInsertShift = 5

// How a chunk of records is inserted.
type insertMode int

const (
	// insertNumbered binds each row's seq and skips a row that breaks a
	// constraint (ON CONFLICT DO NOTHING, OR IGNORE on SQLite): a unique
	// violation would abort a PostgreSQL transaction, and the appender is
	// to say what failed.
	insertNumbered insertMode = iota
	// insertAppended leaves seq, SQLite's rowid, out: SQLite numbers the
	// rows after the table's last, which is the chain's numbering while
	// that row is the head. An explicit rowid in a multi-row INSERT may
	// fail its integer check after earlier rows went in, so SQLite copies
	// every page the statement touches to a statement journal first, to be
	// able to undo it; an appended rowid cannot fail, and needs none.
	insertAppended
	insertModes
)

// withInserts fills in cs's INSERT statements: for each mode of each
// dialect, one text per power of two up to 1<<maxInsertShift rows, so that
// any batch is a few statements whose texts the statement cache prepares
// once.
func withInserts[T any](cs chainStream[T]) chainStream[T] {
	base := strings.Join(strings.Fields(cs.cols+", "+strings.Join(cs.keyCols, ", ")), " ")
	cs.inserts = make(map[string][insertModes][]string)
	for _, d := range []dialect{sqliteDialect, postgresDialect} {
		var texts [insertModes][]string
		for mode := range insertModes {
			if mode == insertAppended && d != sqliteDialect {
				continue
			}
			cols, verb, tail := base+", "+chainCols, "INSERT", " ON CONFLICT DO NOTHING"
			if d == sqliteDialect {
				// OR IGNORE also covers NOT NULL, which under DO NOTHING
				// still aborts and so needs a statement journal too.
				verb, tail = "INSERT OR IGNORE", ""
			}
			if mode == insertAppended {
				cols = base + ", prev_hash, hash"
			}
			row := "(" + placeholders(strings.Count(cols, ",")+1) + ")"
			for i := 0; i <= maxInsertShift; i++ {
				values := strings.TrimSuffix(strings.Repeat(row+", ", 1<<i), ", ")
				texts[mode] = append(texts[mode], verb+" INTO "+cs.table+" ("+cols+") VALUES "+values+tail)
			}
		}
		cs.inserts[d.name] = texts
	}
	return cs
}

// appendChained numbers, hashes and inserts records after the stream's
// head, in the order given, and moves the head. A record whose ID is taken
// (by a stored record or an earlier one in records) is ErrConflict. On an
// error the caller's Write must fail, as the contract has it: rows of the
// batch may already be in the transaction.
func appendChained[T any](t *tx, cs chainStream[T], records []T) error {
	if len(records) == 0 {
		return nil
	}
	head, err := t.lockHead(cs.stream, true)
	if err != nil {
		return err
	}
	what := "append to " + string(cs.stream)
	mode := insertNumbered
	if t.d == sqliteDialect {
		// The table's last row is the head unless retention deleted every
		// row, or rows were written behind the store's back; the chain's
		// numbers are then bound one by one.
		var last sql.NullInt64
		if err := t.queryRow("SELECT MAX(seq) FROM " + cs.table).Scan(&last); err != nil {
			return mapErr(err, what)
		}
		if last.Int64 == head.seq {
			mode = insertAppended
		}
	}
	texts := cs.inserts[t.d.name][mode]
	seq, prev := head.seq, head.hash
	// One allocation for every record's hash; each is stored as its own
	// 32-byte slice of it.
	hashes := make([]byte, sha256.Size*len(records))
	var input []byte
	args := make([]any, 0, min(len(records), 1<<maxInsertShift)*(strings.Count(texts[0], "?")))
	for done := 0; done < len(records); {
		shift := maxInsertShift
		for 1<<shift > len(records)-done {
			shift--
		}
		chunk := records[done : done+1<<shift]
		args = args[:0]
		for _, v := range chunk {
			seq++
			fields := cs.fields(v)
			input = chainInput(input[:0], prev, cs.stream, seq, fields)
			h := hashes[:sha256.Size:sha256.Size]
			hashes = hashes[sha256.Size:]
			sum := sha256.Sum256(input)
			copy(h, sum[:])
			args = append(args, fields...)
			for _, k := range cs.keys(v) {
				args = append(args, k)
			}
			if mode == insertNumbered {
				args = append(args, seq)
			}
			args = append(args, prev, h)
			prev = h
		}
		res, err := t.exec(texts[shift], args...)
		if err != nil {
			return mapErr(err, what)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if n != int64(len(chunk)) {
			err := appendConflict(t, cs, records[:done+len(chunk)], done, head.seq)
			if mode == insertAppended {
				// Every row after the head is this call's: leave the
				// transaction as it found it.
				_, derr := t.exec("DELETE FROM "+cs.table+" WHERE seq > ?", head.seq)
				err = errors.Join(err, mapErr(derr, what))
			}
			return err
		}
		if mode == insertAppended {
			if id, err := res.LastInsertId(); err != nil || id != seq {
				return errors.Join(fmt.Errorf("%s: SQLite numbered the records up to %d, want %d", what, id, seq),
					err)
			}
		}
		done += len(chunk)
	}
	return t.affect("move audit head of "+string(cs.stream),
		"UPDATE audit_heads SET seq = ?, hash = ? WHERE stream = ?", seq, prev, string(cs.stream))
}

// appendConflict explains an INSERT that skipped some of records[from:]:
// a record whose ID an earlier one of records, or a record stored before
// them, already has is ErrConflict. Otherwise a sequence number was taken
// by a row the head does not cover (written behind the store's back), which
// is ErrAuditChainBroken: appends stop rather than fork the chain around it.
func appendConflict[T any](t *tx, cs chainStream[T], records []T, from int, head int64) error {
	what := "append to " + string(cs.stream)
	seen := make(map[string]bool, len(records))
	for i := range records {
		_, _, _, id := cs.link(&records[i])
		if seen[id] {
			return fmt.Errorf("%s: record %s appears twice: %w", what, id, store.ErrConflict)
		}
		seen[id] = true
		if i < from {
			continue
		}
		var n int
		err := t.queryRow("SELECT COUNT(*) FROM "+cs.table+" WHERE id = ? AND (seq IS NULL OR seq <= ?)", id, head).Scan(&n)
		if err != nil {
			return mapErr(err, what)
		}
		if n > 0 {
			return fmt.Errorf("%s: record %s: %w", what, id, store.ErrConflict)
		}
	}
	return fmt.Errorf("%s: a sequence number after the stream's head (%d) is taken: %w", what, head, ErrAuditChainBroken)
}
