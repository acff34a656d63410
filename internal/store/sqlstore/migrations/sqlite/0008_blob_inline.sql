-- Small blobs held in the row (SQLite). Keep in step with
-- postgres/0008_blob_inline.sql. inline is the sealed content of a blob
-- small enough to commit with its metadata in one transaction (no content
-- file, no file sync); NULL for a blob whose content is in extents. It is
-- the last column so that listings, which never select it, do not read
-- its overflow pages.

ALTER TABLE blobs ADD COLUMN inline BLOB;
