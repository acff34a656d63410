-- The data-access log is stored in pages. Every Key Vault and Blob read
-- appends a record, and a row per record (the table and five indexes) cost
-- the audit writer about 10 µs of CPU per read, a quarter of what a secret
-- GET costs in all. A page is one row holding a run of consecutive records
-- (access.go has its format) written by one append; each record keeps its
-- own sequence number, prev_hash and hash, so the chain is the one 0006
-- defined and verifies as it did.
--
-- access_keys indexes the pages: one entry per page and lookup key (the
-- tenant, the caller, the resource, the token, and 'all'), with the
-- earliest and latest time of the page's records under that key. A listing
-- walks the entries of its most selective key newest first and decodes the
-- pages they point at. access_ids keeps record IDs unique.
--
-- The rows of access_log are moved into pages by the migration's Go step
-- (pageAccessLog), which then drops the table.
CREATE TABLE access_pages (
	first_seq INTEGER PRIMARY KEY,
	last_seq  INTEGER NOT NULL,
	records   BLOB NOT NULL
);
CREATE TABLE access_keys (
	kind      TEXT NOT NULL,
	key       TEXT NOT NULL,
	min_time  INTEGER NOT NULL,
	max_time  INTEGER NOT NULL,
	first_seq INTEGER NOT NULL,
	PRIMARY KEY (kind, key, max_time, first_seq)
) WITHOUT ROWID;
CREATE INDEX access_keys_page ON access_keys (first_seq);
CREATE TABLE access_ids (
	id TEXT PRIMARY KEY
) WITHOUT ROWID;
