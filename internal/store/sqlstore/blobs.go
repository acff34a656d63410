package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// Blob storage records. Account, container and blob names are compared
// exactly (byte order, as Azure lists them); resource ids case-insensitively.

const blobAccountCols = "name, id, resource_id, tenant_id, key_sealed, created_at"

func scanBlobAccount(sc scanner) (store.BlobAccount, error) {
	var v store.BlobAccount
	var created sql.NullInt64
	err := sc.Scan(&v.Name, &v.ID, &v.ResourceID, &v.TenantID, &v.KeySealed, &created)
	v.CreatedAt = fromMicros(created)
	return v, err
}

func (t *tx) CreateBlobAccount(v store.BlobAccount) error {
	return t.insert("create blob account "+v.Name,
		`INSERT INTO blob_accounts (name, id, resource_key, resource_id, tenant_id, key_sealed, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		v.Name, v.ID, key(v.ResourceID), v.ResourceID, v.TenantID, v.KeySealed, micros(v.CreatedAt))
}

func (t *tx) GetBlobAccount(name string) (store.BlobAccount, error) {
	return getOne(t, "get blob account "+name, scanBlobAccount,
		"SELECT "+blobAccountCols+" FROM blob_accounts WHERE name = ?", name)
}

func (t *tx) GetBlobAccountByResourceID(resourceID string) (store.BlobAccount, error) {
	return getOne(t, "get blob account of "+resourceID, scanBlobAccount,
		"SELECT "+blobAccountCols+" FROM blob_accounts WHERE resource_key = ?", key(resourceID))
}

func (t *tx) ListBlobAccounts() ([]store.BlobAccount, error) {
	return list(t, "list blob accounts", scanBlobAccount, "SELECT "+blobAccountCols+" FROM blob_accounts ORDER BY name")
}

// DeleteBlobAccount relies on the cascade from accounts to containers to
// blobs and staged blocks.
func (t *tx) DeleteBlobAccount(name string) error {
	return t.affect("delete blob account "+name, "DELETE FROM blob_accounts WHERE name = ?", name)
}

const containerCols = "account_id, name, metadata, etag, last_modified, created_at"

func scanContainer(sc scanner) (store.BlobContainer, error) {
	var v store.BlobContainer
	var meta string
	var modified, created sql.NullInt64
	if err := sc.Scan(&v.AccountID, &v.Name, &meta, &v.ETag, &modified, &created); err != nil {
		return v, err
	}
	v.LastModified, v.CreatedAt = fromMicros(modified), fromMicros(created)
	return v, fromJSON(meta, &v.Metadata)
}

func (t *tx) CreateBlobContainer(v store.BlobContainer) error {
	meta, err := toJSON(v.Metadata)
	if err != nil {
		return fmt.Errorf("create container %s: %w", v.Name, err)
	}
	what := "create container " + v.Name
	res, err := t.execGuarded(`INSERT INTO blob_containers (account_id, name, metadata, etag, last_modified, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		v.AccountID, v.Name, meta, v.ETag, micros(v.LastModified), micros(v.CreatedAt))
	if err != nil {
		return mapErr(err, what) // a missing account is a foreign-key ErrNotFound
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(fmt.Errorf("%s: %w", what, store.ErrConflict), err)
	}
	return nil
}

func (t *tx) GetBlobContainer(accountID, name string) (store.BlobContainer, error) {
	return getOne(t, "get container "+name, scanContainer,
		"SELECT "+containerCols+" FROM blob_containers WHERE account_id = ? AND name = ?", accountID, name)
}

func (t *tx) UpdateBlobContainer(v store.BlobContainer) error {
	meta, err := toJSON(v.Metadata)
	if err != nil {
		return fmt.Errorf("update container %s: %w", v.Name, err)
	}
	return t.affect("update container "+v.Name,
		"UPDATE blob_containers SET metadata = ?, etag = ?, last_modified = ? WHERE account_id = ? AND name = ?",
		meta, v.ETag, micros(v.LastModified), v.AccountID, v.Name)
}

// nameRange adds the prefix and start conditions of a listing. A prefix
// is a range scan on the primary key: [prefix, prefix+U+10FFFF).
func nameRange(f store.BlobFilter, where []string, args []any) ([]string, []any) {
	if f.Prefix != "" {
		where, args = append(where, "name >= ?", "name < ?"), append(args, f.Prefix, f.Prefix+"\U0010FFFF")
	}
	if f.StartAt != "" {
		where, args = append(where, "name >= ?"), append(args, f.StartAt)
	}
	return where, args
}

func limitClause(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d", n)
}

func (t *tx) ListBlobContainers(f store.BlobFilter) ([]store.BlobContainer, error) {
	where, args := nameRange(f, []string{"account_id = ?"}, []any{f.AccountID})
	return list(t, "list containers", scanContainer, "SELECT "+containerCols+" FROM blob_containers WHERE "+
		strings.Join(where, " AND ")+" ORDER BY name"+limitClause(f.Limit), args...)
}

func (t *tx) DeleteBlobContainer(accountID, name string) ([]string, error) {
	what := "delete container " + name
	const cond = "account_id = ? AND container = ?"
	files, err := t.filesWhere(what, cond, cond, accountID, name)
	if err != nil {
		return nil, err
	}
	if err := t.affect(what, "DELETE FROM blob_containers WHERE account_id = ? AND name = ?", accountID, name); err != nil {
		return nil, err
	}
	return files, nil
}

const blobCols = `account_id, container, name, size, content_type, content_encoding, content_language,
	content_disposition, cache_control, content_md5, metadata, etag, created_at, last_modified, extents`

// blobColsInline selects a blob with its inline content; listings use
// blobCols with a NULL in its place, so they never read the content.
const (
	blobColsInline = blobCols + ", inline"
	blobColsListed = blobCols + ", NULL"
)

func scanBlob(sc scanner) (store.Blob, error) {
	var v store.Blob
	var meta, extents string
	var created, modified sql.NullInt64
	if err := sc.Scan(&v.AccountID, &v.Container, &v.Name, &v.Size, &v.ContentType, &v.ContentEncoding,
		&v.ContentLanguage, &v.ContentDisposition, &v.CacheControl, &v.ContentMD5, &meta, &v.ETag,
		&created, &modified, &extents, &v.Inline); err != nil {
		return v, err
	}
	v.CreatedAt, v.LastModified = fromMicros(created), fromMicros(modified)
	if err := fromJSON(meta, &v.Metadata); err != nil {
		return v, err
	}
	return v, fromJSON(extents, &v.Extents)
}

func (t *tx) PutBlob(v store.Blob) error {
	what := "put blob " + v.Container + "/" + v.Name
	meta, err := toJSON(v.Metadata)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if v.Inline != nil && len(v.Extents) > 0 {
		return fmt.Errorf("%s: a blob has inline content or extents, not both", what)
	}
	extents, err := toJSON(v.Extents)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var inline any // NULL when nil; an empty non-nil slice stays non-NULL
	if v.Inline != nil {
		inline = v.Inline
	}
	_, err = t.exec(`INSERT INTO blobs (`+blobColsInline+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id, container, name) DO UPDATE SET size = excluded.size,
			content_type = excluded.content_type, content_encoding = excluded.content_encoding,
			content_language = excluded.content_language, content_disposition = excluded.content_disposition,
			cache_control = excluded.cache_control, content_md5 = excluded.content_md5,
			metadata = excluded.metadata, etag = excluded.etag, created_at = excluded.created_at,
			last_modified = excluded.last_modified, extents = excluded.extents, inline = excluded.inline`,
		v.AccountID, v.Container, v.Name, v.Size, v.ContentType, v.ContentEncoding, v.ContentLanguage,
		v.ContentDisposition, v.CacheControl, blob(v.ContentMD5), meta, v.ETag, micros(v.CreatedAt),
		micros(v.LastModified), extents, inline)
	return mapErr(err, what)
}

func (t *tx) GetBlob(accountID, container, name string) (store.Blob, error) {
	return getOne(t, "get blob "+container+"/"+name, scanBlob,
		"SELECT "+blobColsInline+" FROM blobs WHERE account_id = ? AND container = ? AND name = ?",
		accountID, container, name)
}

func (t *tx) ListBlobs(f store.BlobFilter) ([]store.Blob, error) {
	where, args := nameRange(f, []string{"account_id = ?", "container = ?"}, []any{f.AccountID, f.Container})
	return list(t, "list blobs", scanBlob, "SELECT "+blobColsListed+" FROM blobs WHERE "+
		strings.Join(where, " AND ")+" ORDER BY name"+limitClause(f.Limit), args...)
}

func (t *tx) DeleteBlob(accountID, container, name string) ([]string, error) {
	what := "delete blob " + container + "/" + name
	files, err := t.filesWhere(what, "account_id = ? AND container = ? AND name = ?",
		"account_id = ? AND container = ? AND blob = ?", accountID, container, name)
	if err != nil {
		return nil, err
	}
	if err := t.affect(what, "DELETE FROM blobs WHERE account_id = ? AND container = ? AND name = ?",
		accountID, container, name); err != nil {
		return nil, err
	}
	if _, err := t.exec("DELETE FROM blob_uncommitted_blocks WHERE account_id = ? AND container = ? AND blob = ?",
		accountID, container, name); err != nil {
		return nil, mapErr(err, what)
	}
	return files, nil
}

// filesWhere lists the content files of the blobs matching blobCond and of
// the staged blocks matching blockCond (the same condition, over the staged
// blocks' columns).
func (t *tx) filesWhere(what, blobCond, blockCond string, args ...any) ([]string, error) {
	extents, err := list(t, what, func(sc scanner) (string, error) {
		var s string
		return s, sc.Scan(&s)
	}, "SELECT extents FROM blobs WHERE "+blobCond, args...)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range extents {
		var xs []store.BlobExtent
		if err := fromJSON(e, &xs); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		for _, x := range xs {
			files = append(files, x.FileID)
		}
	}
	staged, err := list(t, what, func(sc scanner) (string, error) {
		var s string
		return s, sc.Scan(&s)
	}, "SELECT file_id FROM blob_uncommitted_blocks WHERE "+blockCond, args...)
	if err != nil {
		return nil, err
	}
	return append(files, staged...), nil
}

const blockCols = "account_id, container, blob, block_id, file_id, size, created_at"

func scanBlock(sc scanner) (store.UncommittedBlock, error) {
	var v store.UncommittedBlock
	var created int64
	err := sc.Scan(&v.AccountID, &v.Container, &v.Blob, &v.ID, &v.FileID, &v.Size, &created)
	v.CreatedAt = time.UnixMicro(created).UTC()
	return v, err
}

func (t *tx) PutUncommittedBlock(v store.UncommittedBlock) (string, error) {
	what := "stage block for " + v.Container + "/" + v.Blob
	old, err := getOne(t, what, scanBlock, "SELECT "+blockCols+` FROM blob_uncommitted_blocks
		WHERE account_id = ? AND container = ? AND blob = ? AND block_id = ?`, v.AccountID, v.Container, v.Blob, v.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	_, err = t.exec(`INSERT INTO blob_uncommitted_blocks (`+blockCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id, container, blob, block_id) DO UPDATE SET file_id = excluded.file_id,
			size = excluded.size, created_at = excluded.created_at`,
		v.AccountID, v.Container, v.Blob, v.ID, v.FileID, v.Size, v.CreatedAt.UnixMicro())
	if err != nil {
		return "", mapErr(err, what)
	}
	return old.FileID, nil
}

func (t *tx) ListUncommittedBlocks(accountID, container, blob string, limit int) ([]store.UncommittedBlock, error) {
	return list(t, "list staged blocks of "+container+"/"+blob, scanBlock, "SELECT "+blockCols+
		" FROM blob_uncommitted_blocks WHERE account_id = ? AND container = ? AND blob = ? ORDER BY block_id"+
		limitClause(limit), accountID, container, blob)
}

func (t *tx) DeleteUncommittedBlocks(accountID, container, blob string) error {
	_, err := t.exec("DELETE FROM blob_uncommitted_blocks WHERE account_id = ? AND container = ? AND blob = ?",
		accountID, container, blob)
	return mapErr(err, "drop staged blocks of "+container+"/"+blob)
}

func (t *tx) PruneUncommittedBlocks(before time.Time, limit int) ([]store.UncommittedBlock, error) {
	what := "prune staged blocks"
	old, err := list(t, what, scanBlock, "SELECT "+blockCols+
		" FROM blob_uncommitted_blocks WHERE created_at < ? ORDER BY created_at"+limitClause(limit), before.UnixMicro())
	if err != nil {
		return nil, err
	}
	for _, b := range old {
		if _, err := t.exec(`DELETE FROM blob_uncommitted_blocks
			WHERE account_id = ? AND container = ? AND blob = ? AND block_id = ?`,
			b.AccountID, b.Container, b.Blob, b.ID); err != nil {
			return nil, mapErr(err, what)
		}
	}
	return old, nil
}

func (t *tx) BlobFileIDs(accountID string) ([]string, error) {
	return t.filesWhere("list content files", "account_id = ?", "account_id = ?", accountID)
}
