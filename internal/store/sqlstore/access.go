package sqlstore

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// The data-access log is stored in pages (migration 0010): one row of
// access_pages holds a run of consecutive records written by one append,
// and access_keys indexes the pages by lookup key. Each record keeps its
// place in the hash chain (seq, prev_hash, hash) exactly as a row did, so
// VerifyAudit checks the same chain, record by record; a page adds nothing
// the chain must trust: its entries in access_keys are checked against its
// records too.
//
// A page's records column is
//
//	format (1 byte, accessPageFormat)
//	bytes(prev_hash of the first record)
//	per record: bytes(hash) varint(time) varint(status) then
//	            field(id) field(tenant_id) field(caller_id) field(client_id)
//	            field(service) field(resource_id) field(item) field(action)
//	            field(result) field(error_code) field(caller_address)
//	            field(token_id)
//
// where bytes is a uvarint length then the bytes, time is in unix µs less
// the previous record's time (the first record's is from 0), and field is
// uvarint 0 when the value equals the previous record's value of the
// field (empty for the first record), else uvarint(length+1) then the
// bytes. The records of a page mostly repeat their neighbours' tenant,
// caller, vault, action and token: a Key Vault read takes about 80 bytes
// where it took 420 written in full, which was most of what an append
// wrote to the WAL. Format 1 (every field written as bytes, every time
// absolute) is still read. Record i of the page from first_seq is number
// first_seq+i, and its prev_hash is record i-1's hash.

const (
	accessPageFormat = 2
	// accessPageFormat1 wrote every field in full.
	accessPageFormat1 = 1
	// maxPageRecords bounds a page, so a listing that needs one record of
	// a page decodes at most this many.
	maxPageRecords = 256
	// pageChunk is how many pages (or lookup entries) one query reads
	// while listing, verifying or pruning.
	pageChunk = 32
)

// accessPageFields is the number of text fields of a record in a page.
const accessPageFields = 12

// Lookup kinds in access_keys. Every record is under keyAll.
const (
	keyAll      = "all"
	keyTenant   = "tenant"
	keyCaller   = "caller"
	keyResource = "resource"
	keyToken    = "token"
)

type pageKey struct{ kind, key string }

// span is the time range, in unix µs, of a page's records under one key.
type span struct{ min, max int64 }

// pageWriter builds pages and writes them.
type pageWriter struct {
	t     *tx
	buf   []byte
	keys  map[pageKey]span
	first int64 // seq of the page's first record (while n > 0)
	n     int
	last  []byte // hash of the last record added
	// The last record's time and fields, which the next one's are written
	// against.
	lastAt     int64
	lastFields [accessPageFields]string
	// The lower-cased keys of the last record, reused while the next one
	// has the same identifiers.
	tenant, caller, resource [2]string
}

func newPageWriter(t *tx) *pageWriter {
	return &pageWriter{t: t, keys: make(map[pageKey]span, 8)}
}

// add appends record v, number seq with the given prev_hash and hash, to
// the page being built; it writes the page first when v cannot join it.
func (w *pageWriter) add(v *store.Access, seq int64, prev, hash []byte) error {
	if w.n > 0 && (w.n == maxPageRecords || seq != w.first+int64(w.n) || !bytes.Equal(prev, w.last)) {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if w.n == 0 {
		w.first = seq
		w.buf = append(w.buf[:0], accessPageFormat)
		w.buf = appendPageBytes(w.buf, prev)
		w.lastAt, w.lastFields = 0, [accessPageFields]string{}
	}
	at := v.Time.UnixMicro()
	w.buf = appendPageBytes(w.buf, hash)
	w.buf = binary.AppendVarint(w.buf, at-w.lastAt) // may wrap; decoding wraps back
	w.buf = binary.AppendVarint(w.buf, int64(v.Status))
	w.lastAt = at
	for i, s := range [accessPageFields]string{v.ID, v.TenantID, v.CallerID, v.ClientID, v.Service, v.ResourceID, v.Item,
		v.Action, v.Result, v.ErrorCode, v.CallerAddress, v.TokenID} {
		if s == w.lastFields[i] {
			w.buf = append(w.buf, 0)
			continue
		}
		w.buf = binary.AppendUvarint(w.buf, uint64(len(s))+1)
		w.buf = append(w.buf, s...)
		w.lastFields[i] = s
	}
	noteKeys(w.keys, at, memoKey(&w.tenant, v.TenantID), memoKey(&w.caller, v.CallerID),
		memoKey(&w.resource, v.ResourceID), v.TokenID)
	w.n++
	w.last = hash
	return nil
}

// noteKeys widens keys' spans by a record at time at under its lookup
// keys (tenant, caller and resource already lower-cased).
func noteKeys(keys map[pageKey]span, at int64, tenant, caller, resource, token string) {
	for _, k := range [...]pageKey{{keyAll, ""}, {keyTenant, tenant}, {keyCaller, caller}, {keyResource, resource},
		{keyToken, token}} {
		if s, ok := keys[k]; ok {
			keys[k] = span{min(s.min, at), max(s.max, at)}
		} else {
			keys[k] = span{at, at}
		}
	}
}

// memoKey is key(s), remembered for the next record with the same s.
func memoKey(memo *[2]string, s string) string {
	if memo[0] != s || memo[1] == "" {
		memo[0], memo[1] = s, key(s)
	}
	return memo[1]
}

// flush writes the page being built, if any, with its lookup entries.
func (w *pageWriter) flush() error {
	if w.n == 0 {
		return nil
	}
	what := "append to access"
	last := w.first + int64(w.n) - 1
	if _, err := w.t.exec("INSERT INTO access_pages (first_seq, last_seq, records) VALUES (?, ?, ?)",
		w.first, last, w.buf); err != nil {
		if classify(err) == errUnique {
			return fmt.Errorf("%s: a page of records %d to %d is already stored: %w", what, w.first, last, ErrAuditChainBroken)
		}
		return mapErr(err, what)
	}
	args := make([]any, 0, 5*len(w.keys))
	for k, s := range w.keys {
		args = append(args, k.kind, k.key, s.min, s.max, w.first)
	}
	n, err := execRows(w.t, accessKeyInserts[w.t.d.name], 5, args)
	if err != nil {
		return mapErr(err, what)
	}
	if n != int64(len(w.keys)) {
		return fmt.Errorf("%s: a lookup entry of the page of records %d to %d is already stored: %w",
			what, w.first, last, ErrAuditChainBroken)
	}
	w.n = 0
	clear(w.keys)
	return nil
}

func appendPageBytes(buf, b []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...)
}

// errPage is a page that does not decode.
var errPage = errors.New("malformed access page")

// decodeAccessPage returns the records of the page from firstSeq. The
// records' strings share one copy of the page.
func decodeAccessPage(firstSeq int64, page []byte) ([]store.Access, error) {
	if len(page) == 0 || (page[0] != accessPageFormat && page[0] != accessPageFormat1) {
		return nil, fmt.Errorf("%w: unknown format", errPage)
	}
	full := page[0] == accessPageFormat1
	d := pageDecoder{s: string(page), i: 1}
	prev := d.bytes()
	var out []store.Access
	var at int64
	var last [accessPageFields]string
	for d.err == nil && d.i < len(d.s) {
		v := store.Access{Seq: firstSeq + int64(len(out)), PrevHash: prev}
		v.Hash = d.bytes()
		if full {
			at = d.varint()
		} else {
			at += d.varint() // wraps as the writer's subtraction did
		}
		v.Time = time.UnixMicro(at).UTC()
		status := d.varint()
		v.Status = int(status)
		if int64(v.Status) != status {
			d.fail("status out of range")
		}
		for i, p := range [accessPageFields]*string{&v.ID, &v.TenantID, &v.CallerID, &v.ClientID, &v.Service,
			&v.ResourceID, &v.Item, &v.Action, &v.Result, &v.ErrorCode, &v.CallerAddress, &v.TokenID} {
			if full {
				*p = d.str()
				continue
			}
			*p = d.field(last[i])
			last[i] = *p
		}
		out = append(out, v)
		prev = v.Hash
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no records", errPage)
	}
	return out, nil
}

type pageDecoder struct {
	s   string
	i   int
	err error
}

func (d *pageDecoder) fail(why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", errPage, why, d.i)
	}
	d.i = len(d.s)
}

func (d *pageDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var n uint64
	for shift := 0; shift < 64; shift += 7 {
		if d.i >= len(d.s) {
			d.fail("truncated number")
			return 0
		}
		b := d.s[d.i]
		d.i++
		if shift == 63 && b > 1 {
			break
		}
		n |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return n
		}
	}
	d.fail("number overflows 64 bits")
	return 0
}

func (d *pageDecoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *pageDecoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.i) {
		d.fail("truncated text")
		return ""
	}
	s := d.s[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}

// field reads a field of a format 2 page: last when it is marked as the
// previous record's value, else the value written.
func (d *pageDecoder) field(last string) string {
	n := d.uvarint()
	if d.err != nil || n == 0 {
		return last
	}
	if n-1 > uint64(len(d.s)-d.i) {
		d.fail("truncated text")
		return ""
	}
	s := d.s[d.i : d.i+int(n-1)]
	d.i += int(n - 1)
	return s
}

func (d *pageDecoder) bytes() []byte {
	s := d.str()
	if d.err != nil {
		return nil
	}
	return []byte(s)
}

// accessHashInput appends the bytes hash(seq) of record v digests to buf:
// chainInput over accessFields, without boxing each field.
func accessHashInput(buf, prev []byte, seq int64, v *store.Access) []byte {
	buf = append(buf, prev...)
	buf = appendField(buf, string(store.StreamAccess))
	buf = appendIntField(buf, seq)
	buf = appendField(buf, v.ID)
	buf = appendIntField(buf, v.Time.UnixMicro())
	for _, s := range [...]string{v.TenantID, v.CallerID, v.ClientID, v.Service, v.ResourceID, v.Item, v.Action,
		v.Result} {
		buf = appendField(buf, s)
	}
	buf = appendIntField(buf, int64(v.Status))
	for _, s := range [...]string{v.ErrorCode, v.CallerAddress, v.TokenID} {
		buf = appendField(buf, s)
	}
	return buf
}

// AppendAccess appends data-access records to their chain, as pages of up
// to maxPageRecords; a duplicate ID is ErrConflict. On an error the
// caller's Write must fail: part of the batch may be in the transaction.
func (t *tx) AppendAccess(records []store.Access) error {
	if len(records) == 0 {
		return nil
	}
	what := "append to access"
	head, err := t.lockHead(store.StreamAccess, true)
	if err != nil {
		return err
	}
	// The newest page must end at the head. A page after it was written
	// behind the store's back: appending around it would fork the chain.
	var first, last int64
	err = t.queryRow("SELECT first_seq, last_seq FROM access_pages ORDER BY first_seq DESC LIMIT 1").Scan(&first, &last)
	switch {
	case err == nil && (first > head.seq || last > head.seq):
		return fmt.Errorf("%s: a page of records %d to %d lies past the stream's head (%d): %w",
			what, first, last, head.seq, ErrAuditChainBroken)
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return mapErr(err, what)
	}
	if err := claimAccessIDs(t, records); err != nil {
		return err
	}
	w := newPageWriter(t)
	w.buf = make([]byte, 0, 64+min(len(records), maxPageRecords)*96) // about 80 bytes a read
	hashes := make([]byte, sha256.Size*len(records))
	seq, prev := head.seq, head.hash
	var input []byte
	for i := range records {
		seq++
		input = accessHashInput(input[:0], prev, seq, &records[i])
		h := hashes[i*sha256.Size : (i+1)*sha256.Size : (i+1)*sha256.Size]
		sum := sha256.Sum256(input)
		copy(h, sum[:])
		if err := w.add(&records[i], seq, prev, h); err != nil {
			return err
		}
		prev = h
	}
	if err := w.flush(); err != nil {
		return err
	}
	return t.affect("move audit head of access", "UPDATE audit_heads SET seq = ?, hash = ? WHERE stream = ?",
		seq, prev, string(store.StreamAccess))
}

// claimAccessIDs records the IDs of records as taken; one already taken,
// by a stored record or an earlier one of records, is ErrConflict.
func claimAccessIDs(t *tx, records []store.Access) error {
	what := "append to access"
	seen := make(map[string]struct{}, len(records))
	args := make([]any, len(records))
	for i := range records {
		id := records[i].ID
		if _, dup := seen[id]; dup {
			return fmt.Errorf("%s: record %s appears twice: %w", what, id, store.ErrConflict)
		}
		seen[id] = struct{}{}
		args[i] = id
	}
	n, err := execRows(t, accessIDInserts[t.d.name], 1, args)
	if err != nil {
		return mapErr(err, what)
	}
	if n != int64(len(records)) {
		if len(records) == 1 {
			return fmt.Errorf("%s: record %s: %w", what, records[0].ID, store.ErrConflict)
		}
		return fmt.Errorf("%s: %d of %d record IDs are taken: %w", what, int64(len(records))-n, len(records), store.ErrConflict)
	}
	return nil
}

// Multi-row statements, one text per power of two up to 1<<maxInsertShift
// rows (see withInserts). The inserts skip a row that conflicts and the
// caller compares the rows affected: on PostgreSQL a unique violation
// would abort the transaction, and on SQLite a statement that can abort
// part-way must first copy every page it touches to a statement journal
// (OR IGNORE, unlike ON CONFLICT DO NOTHING, also covers NOT NULL, so the
// statement can never abort).
var (
	accessIDInserts  = ignoringInserts("access_ids (id)", "(?)")
	accessKeyInserts = ignoringInserts("access_keys (kind, key, min_time, max_time, first_seq)", "(?, ?, ?, ?, ?)")
	accessIDDeletes  = rowTexts("DELETE FROM access_ids WHERE id IN (", "?", ")")
)

// ignoringInserts are each dialect's multi-row INSERTs into table (with its
// column list) that skip conflicting rows.
func ignoringInserts(table, row string) map[string][]string {
	return map[string][]string{
		sqliteDialect.name:   rowTexts("INSERT OR IGNORE INTO "+table+" VALUES ", row, ""),
		postgresDialect.name: rowTexts("INSERT INTO "+table+" VALUES ", row, " ON CONFLICT DO NOTHING"),
	}
}

func rowTexts(head, row, tail string) []string {
	var texts []string
	for i := 0; i <= maxInsertShift; i++ {
		texts = append(texts, head+strings.TrimSuffix(strings.Repeat(row+", ", 1<<i), ", ")+tail)
	}
	return texts
}

// execRows runs texts over args, width arguments a row, in as few
// statements as the powers of two allow, and returns the rows affected.
func execRows(t *tx, texts []string, width int, args []any) (int64, error) {
	var total int64
	for rows := len(args) / width; rows > 0; {
		shift := maxInsertShift
		for 1<<shift > rows {
			shift--
		}
		n := 1 << shift
		res, err := t.exec(texts[shift], args[:n*width]...)
		if err != nil {
			return total, err
		}
		affected, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += affected
		args, rows = args[n*width:], rows-n
	}
	return total, nil
}

// storedPage is one row of access_pages.
type storedPage struct {
	first, last int64
	records     []byte
}

// decode returns the page's records, or why the page is not what it says
// it is: a fault of the page from its first record.
func (p storedPage) decode() ([]store.Access, string) {
	records, err := decodeAccessPage(p.first, p.records)
	if err != nil {
		return nil, "the page from this record does not decode: " + err.Error()
	}
	if want := p.first + int64(len(records)) - 1; p.last != want {
		return nil, fmt.Sprintf("the page from this record says it ends at %d, its records end at %d", p.last, want)
	}
	return records, ""
}

// pagesAfter reads up to pageChunk pages with first_seq > after, in order.
func pagesAfter(t *tx, what string, after int64) ([]storedPage, error) {
	rows, err := t.query("SELECT first_seq, last_seq, records FROM access_pages WHERE first_seq > ? ORDER BY first_seq LIMIT ?",
		after, pageChunk)
	if err != nil {
		return nil, mapErr(err, what)
	}
	defer rows.Close()
	var out []storedPage
	for rows.Next() {
		var p storedPage
		if err := rows.Scan(&p.first, &p.last, &p.records); err != nil {
			return nil, mapErr(err, what)
		}
		out = append(out, p)
	}
	return out, mapErr(rows.Err(), what)
}

// pageKeys is the lookup entries a page's records call for.
func pageKeys(records []store.Access) map[pageKey]span {
	keys := make(map[pageKey]span)
	for _, v := range records {
		noteKeys(keys, v.Time.UnixMicro(), key(v.TenantID), key(v.CallerID), key(v.ResourceID), v.TokenID)
	}
	return keys
}

// storedKeys reads the lookup entries of the pages from lo to hi.
func storedKeys(t *tx, what string, lo, hi int64) (map[int64]map[pageKey]span, error) {
	rows, err := t.query("SELECT first_seq, kind, key, min_time, max_time FROM access_keys WHERE first_seq >= ? AND first_seq <= ?",
		lo, hi)
	if err != nil {
		return nil, mapErr(err, what)
	}
	defer rows.Close()
	out := make(map[int64]map[pageKey]span)
	for rows.Next() {
		var first int64
		var k pageKey
		var s span
		if err := rows.Scan(&first, &k.kind, &k.key, &s.min, &s.max); err != nil {
			return nil, mapErr(err, what)
		}
		if out[first] == nil {
			out[first] = make(map[pageKey]span)
		}
		out[first][k] = s
	}
	return out, mapErr(rows.Err(), what)
}

// verifyAccess checks the access chain page by page, and each page's
// lookup entries against its records.
func verifyAccess(t *tx) (store.AuditVerification, error) {
	what := "verify access"
	var entries int64 // the lookup entries the pages call for
	return verifyStream(t, accessChain, func(c *checker[store.Access]) (*store.AuditFault, error) {
		fault, n, err := walkPages(t, c, what)
		entries = n
		return fault, err
	}, func() (*store.AuditFault, error) {
		var stored int64
		if err := t.queryRow("SELECT COUNT(*) FROM access_keys").Scan(&stored); err != nil {
			return nil, mapErr(err, what)
		}
		if stored != entries {
			return &store.AuditFault{Reason: fmt.Sprintf("inserted: %d lookup entries belong to no page", stored-entries)}, nil
		}
		return nil, nil
	})
}

// walkPages feeds every page's records to c, in order, until the first
// fault, and counts the lookup entries the pages call for.
func walkPages(t *tx, c *checker[store.Access], what string) (*store.AuditFault, int64, error) {
	var entries int64
	after := int64(-1 << 63)
	for {
		pages, err := pagesAfter(t, what, after)
		if err != nil || len(pages) == 0 {
			return nil, entries, err
		}
		keys, err := storedKeys(t, what, pages[0].first, pages[len(pages)-1].first)
		if err != nil {
			return nil, entries, err
		}
		for _, p := range pages {
			records, bad := p.decode()
			if bad != "" {
				return &store.AuditFault{Seq: p.first, Reason: "altered: " + bad}, entries, nil
			}
			for _, v := range records {
				if f := c.check(v, nil); f != nil {
					return f, entries, nil
				}
			}
			want := pageKeys(records)
			if !maps.Equal(want, keys[p.first]) {
				return &store.AuditFault{Seq: p.first, ID: records[0].ID,
					Reason: "altered: the lookup entries of the page from this record do not match its records"}, entries, nil
			}
			entries += int64(len(want))
			delete(keys, p.first)
		}
		if len(keys) > 0 {
			first := slices.Min(slices.Collect(maps.Keys(keys)))
			return &store.AuditFault{Seq: first, Reason: "inserted: lookup entries for a page that is not stored"}, entries, nil
		}
		after = pages[len(pages)-1].first
	}
}

// pruneAccess deletes the oldest access records before a time, after
// checking them, and moves the checkpoint. A page is deleted whole or, for
// the last, cut: its records to keep are written again as a page of their
// own.
func pruneAccess(t *tx, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	what := "prune access"
	head, err := t.lockHead(store.StreamAccess, true)
	if err != nil {
		return 0, err
	}
	c := &checker[store.Access]{cs: accessChain, expect: head.prunedSeq + 1, prev: head.prunedHash, head: head}
	var ids []any
	after := head.prunedSeq
	done := false
	for !done {
		pages, err := pagesAfter(t, what, after)
		if err != nil {
			return 0, err
		}
		if len(pages) == 0 {
			break
		}
		for _, p := range pages {
			records, bad := p.decode()
			if bad != "" {
				return 0, fmt.Errorf("%s: record %d: altered: %s: %w", what, p.first, bad, ErrAuditChainBroken)
			}
			// Records are pruned oldest first in sequence; the first one
			// kept ends the run, so the kept records stay one unbroken
			// chain.
			cut := 0
			for cut < len(records) && len(ids) < limit && records[cut].Time.Before(before) && records[cut].Seq <= head.seq {
				if f := c.check(records[cut], nil); f != nil {
					return 0, fmt.Errorf("%s: record %d (%s): %s: %w", what, f.Seq, f.ID, f.Reason, ErrAuditChainBroken)
				}
				ids = append(ids, records[cut].ID)
				cut++
			}
			if cut == 0 {
				done = true
				break
			}
			if err := t.affect(what, "DELETE FROM access_pages WHERE first_seq = ?", p.first); err != nil {
				return 0, err
			}
			if _, err := t.exec("DELETE FROM access_keys WHERE first_seq = ?", p.first); err != nil {
				return 0, mapErr(err, what)
			}
			if cut < len(records) {
				w := newPageWriter(t)
				for _, v := range records[cut:] {
					if err := w.add(&v, v.Seq, v.PrevHash, v.Hash); err != nil {
						return 0, err
					}
				}
				if err := w.flush(); err != nil {
					return 0, err
				}
				done = true
				break
			}
		}
		after = pages[len(pages)-1].first
	}
	if c.checked == 0 {
		return 0, nil
	}
	if _, err := execRows(t, accessIDDeletes, 1, ids); err != nil {
		return 0, mapErr(err, what)
	}
	return len(ids), t.affect(what, "UPDATE audit_heads SET pruned_seq = ?, pruned_hash = ? WHERE stream = ?",
		c.expect-1, c.prev, string(store.StreamAccess))
}

// ListAccess lists data-access records newest first; PrincipalID filters
// on CallerID. It walks the lookup entries of the filter's most selective
// key, newest first, and decodes the pages they point at, until no page
// left can hold a record newer than the last one it keeps.
func (t *tx) ListAccess(f store.AuditFilter) ([]store.Access, error) {
	what := "list access"
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	where, args := accessLookup(f)
	match := accessMatcher(f)
	out := []store.Access{}
	seen := make(map[int64]bool)
	var cursor *lookupEntry
	for {
		q, qargs := "SELECT first_seq, max_time FROM access_keys WHERE "+where, slices.Clone(args)
		if cursor != nil {
			q += " AND max_time <= ? AND (max_time, first_seq) < (?, ?)"
			qargs = append(qargs, cursor.maxTime, cursor.maxTime, cursor.first)
		}
		q += " ORDER BY max_time DESC, first_seq DESC LIMIT ?"
		entries, err := list(t, what, func(sc scanner) (lookupEntry, error) {
			var e lookupEntry
			return e, sc.Scan(&e.first, &e.maxTime)
		}, q, append(qargs, pageChunk)...)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if len(out) == limit && e.maxTime < out[limit-1].Time.UnixMicro() {
				return out, nil
			}
			if seen[e.first] {
				continue
			}
			seen[e.first] = true
			var page []byte
			err := t.queryRow("SELECT records FROM access_pages WHERE first_seq = ?", e.first).Scan(&page)
			if errors.Is(err, sql.ErrNoRows) {
				continue // an entry without its page; VerifyAudit names it
			}
			if err != nil {
				return nil, mapErr(err, what)
			}
			records, err := decodeAccessPage(e.first, page)
			if err != nil {
				return nil, fmt.Errorf("%s: page from record %d: %w", what, e.first, err)
			}
			n := len(out)
			for _, v := range records {
				if match(&v) {
					out = append(out, v)
				}
			}
			if len(out) > n {
				slices.SortFunc(out, newestFirst)
				out = out[:min(len(out), limit)]
			}
		}
		if len(entries) < pageChunk {
			return out, nil
		}
		last := entries[len(entries)-1]
		cursor = &last
	}
}

// lookupEntry is where a listing is in access_keys: an entry's page and
// the newest time under its key.
type lookupEntry struct{ maxTime, first int64 }

func newestFirst(a, b store.Access) int {
	if c := b.Time.Compare(a.Time); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}

// accessLookup picks the lookup entries a listing walks: those of its most
// selective key, within its time bounds.
func accessLookup(f store.AuditFilter) (string, []any) {
	var where []string
	var args []any
	cond := func(c string, a ...any) {
		where = append(where, c)
		args = append(args, a...)
	}
	scope := scopeKey(f.ResourceID)
	switch {
	case f.PrincipalID != "":
		cond("kind = ? AND key = ?", keyCaller, key(f.PrincipalID))
	case f.TokenID != "":
		cond("kind = ? AND key = ?", keyToken, f.TokenID)
	case f.ResourceID != "" && scope != "/":
		// At the scope, or below it (see auditWhere).
		cond("kind = ? AND key >= ? AND key < ? AND (key = ? OR key >= ?)", keyResource, scope, scope+"0", scope, scope+"/")
	case f.TenantID != "":
		cond("kind = ? AND key = ?", keyTenant, key(f.TenantID))
	default:
		cond("kind = ? AND key = ?", keyAll, "")
	}
	if !f.Since.IsZero() {
		cond("max_time >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		cond("min_time < ?", f.Until.UnixMicro())
	}
	if !f.After.IsZero() {
		cond("min_time <= ?", f.After.Time.UnixMicro())
	}
	return strings.Join(where, " AND "), args
}

// accessMatcher is the whole filter, applied to a decoded record.
func accessMatcher(f store.AuditFilter) func(*store.Access) bool {
	tenant, caller, op := key(f.TenantID), key(f.PrincipalID), strings.ToLower(f.Operation)
	scope := scopeKey(f.ResourceID)
	since, until := f.Since.UnixMicro(), f.Until.UnixMicro()
	after := f.After.Time.UnixMicro()
	return func(v *store.Access) bool {
		at := v.Time.UnixMicro()
		switch {
		case f.TenantID != "" && key(v.TenantID) != tenant,
			f.PrincipalID != "" && key(v.CallerID) != caller,
			f.Operation != "" && strings.ToLower(v.Action) != op,
			f.TokenID != "" && v.TokenID != f.TokenID,
			f.Result != "" && v.Result != f.Result,
			!f.Since.IsZero() && at < since,
			!f.Until.IsZero() && at >= until,
			!f.After.IsZero() && (at > after || at == after && v.ID >= f.After.ID):
			return false
		}
		if f.ResourceID != "" && scope != "/" {
			rk := key(v.ResourceID)
			return rk == scope || strings.HasPrefix(rk, scope+"/")
		}
		return true
	}
}

// pageAccessLog is migration 0010's Go step: it moves the rows of
// access_log into pages, in sequence order, and drops the table. A run of
// rows becomes one page while their numbers follow on and each row's
// prev_hash is the hash before it, so whatever VerifyAudit reported of the
// rows it reports of the pages: a row's lookup columns aside, which are
// derived again from the chained ones. A row without a sequence number
// (written behind the store's back on PostgreSQL) is numbered below every
// other, where VerifyAudit reports it as inserted.
func pageAccessLog(t *tx) error {
	what := "migrate access_log to pages"
	var lowest int64
	if err := t.queryRow("SELECT COALESCE(MIN(seq), 1) FROM access_log").Scan(&lowest); err != nil {
		return mapErr(err, what)
	}
	w := newPageWriter(t)
	unnumbered, err := list(t, what, func(sc scanner) (store.Access, error) { return scanAccess(sc) },
		"SELECT "+accessCols+", "+chainCols+" FROM access_log WHERE seq IS NULL ORDER BY time, id")
	if err != nil {
		return err
	}
	for i := range unnumbered {
		unnumbered[i].Seq = min(lowest, 1) - int64(len(unnumbered)-i)
	}
	if err := movePage(t, w, unnumbered); err != nil {
		return err
	}
	after := int64(-1 << 63)
	for {
		rows, err := list(t, what, func(sc scanner) (store.Access, error) { return scanAccess(sc) },
			"SELECT "+accessCols+", "+chainCols+" FROM access_log WHERE seq > ? ORDER BY seq LIMIT 10000", after)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		if err := movePage(t, w, rows); err != nil {
			return err
		}
		after = rows[len(rows)-1].Seq
	}
	if err := w.flush(); err != nil {
		return err
	}
	if _, err := t.exec("DROP TABLE access_log"); err != nil {
		return mapErr(err, what)
	}
	return nil
}

func movePage(t *tx, w *pageWriter, rows []store.Access) error {
	ids := make([]any, len(rows))
	for i := range rows {
		if err := w.add(&rows[i], rows[i].Seq, rows[i].PrevHash, rows[i].Hash); err != nil {
			return err
		}
		ids[i] = rows[i].ID
	}
	_, err := execRows(t, accessIDInserts[t.d.name], 1, ids)
	return mapErr(err, "migrate access_log to pages")
}
