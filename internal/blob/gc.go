package blob

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// StagedBlockLifetime is how long an uncommitted block is kept, as in
// Azure.
const StagedBlockLifetime = 7 * 24 * time.Hour

func (s *Server) kicks() chan struct{} {
	s.once.Do(func() { s.deleted = make(chan struct{}, 1) })
	return s.deleted
}

// accountDeleted tells Run that an account's files may now be orphaned.
func (s *Server) accountDeleted() {
	select {
	case s.kicks() <- struct{}{}:
	default:
	}
}

// Sweep removes every content file nothing refers to: directories of
// accounts that no longer exist, temporary files of writes that never
// committed (a crash mid-upload), and committed files no blob or staged
// block names (a crash between the rename and the metadata commit, or a
// removal cut short). Call it at start, before serving: a write in flight
// has files no record names yet.
func (s *Server) Sweep(ctx context.Context) (removed int, err error) {
	removed, err = s.removeAccountDirs(ctx)
	if err != nil {
		return removed, fmt.Errorf("blob sweep: %w", err)
	}
	dirs, err := s.Content.Accounts()
	if err != nil {
		return removed, err
	}
	for _, id := range dirs {
		var files []string
		err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
			files, err = tx.BlobFileIDs(id)
			return err
		})
		if err != nil {
			return removed, fmt.Errorf("blob sweep: %w", err)
		}
		keep := make(map[string]bool, len(files))
		for _, f := range files {
			keep[f] = true
		}
		n, err := s.Content.Sweep(id, func(f string) bool { return keep[f] })
		removed += n
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// Run collects garbage until ctx ends: staged blocks older than a week
// (hourly), and the files of deleted accounts (when one is deleted).
func (s *Server) Run(ctx context.Context) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := s.PruneStagedBlocks(ctx); err != nil && ctx.Err() == nil {
				s.logger().Warn("pruning staged blocks", "err", err)
			}
		case <-s.kicks():
			s.removeDeletedAccounts(ctx)
		}
	}
}

// PruneStagedBlocks drops staged blocks older than StagedBlockLifetime
// and removes their files.
func (s *Server) PruneStagedBlocks(ctx context.Context) error {
	for {
		var old []store.UncommittedBlock
		err := s.Store.Write(ctx, func(tx store.Tx) (err error) {
			old, err = tx.PruneUncommittedBlocks(s.now().Add(-StagedBlockLifetime), 1000)
			return err
		})
		if err != nil {
			return err
		}
		for _, b := range old {
			s.removeFiles(b.AccountID, []string{b.FileID})
		}
		if len(old) < 1000 {
			return nil
		}
	}
}

// removeDeletedAccounts removes the directories of accounts that are gone
// from the store. The deleting transaction may not have committed when
// the kick arrives, so a directory whose account is still recorded is
// looked at again shortly, for a bounded time.
func (s *Server) removeDeletedAccounts(ctx context.Context) {
	for attempt := 0; attempt < 20; attempt++ {
		pending, err := s.removeOrphanAccounts(ctx)
		if err != nil {
			s.logger().Warn("removing files of deleted storage accounts", "err", err)
		}
		if !pending || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// removeOrphanAccounts removes account directories without an account;
// pending reports that the kick found nothing to remove yet.
func (s *Server) removeOrphanAccounts(ctx context.Context) (pending bool, err error) {
	removed, err := s.removeAccountDirs(ctx)
	return removed == 0, err
}

// removeAccountDirs removes the content directories of accounts the store
// no longer has, and forgets their content keys (an account of only inline
// blobs has a key but no directory).
func (s *Server) removeAccountDirs(ctx context.Context) (removed int, err error) {
	dirs, err := s.Content.Accounts()
	if err != nil {
		return 0, err
	}
	live := map[string]bool{}
	err = s.Store.Read(ctx, func(tx store.Tx) error {
		accts, err := tx.ListBlobAccounts()
		for _, a := range accts {
			live[a.ID] = true
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	s.keys.Range(func(id, _ any) bool {
		if !live[id.(string)] {
			s.keys.Delete(id)
		}
		return true
	})
	var errs []error
	for _, id := range dirs {
		if live[id] {
			continue
		}
		if err := s.Content.RemoveAccount(id); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}
