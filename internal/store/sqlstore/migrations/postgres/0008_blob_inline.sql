-- Small blobs held in the row (PostgreSQL). Keep in step with
-- sqlite/0008_blob_inline.sql. inline is the sealed content of a blob
-- small enough to commit with its metadata in one transaction (no content
-- file, no file sync); NULL for a blob whose content is in extents.

ALTER TABLE blobs ADD COLUMN inline BYTEA;
