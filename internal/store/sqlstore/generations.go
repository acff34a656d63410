package sqlstore

import (
	"fmt"

	"github.com/signet-platform/signet/internal/store"
)

func (t *tx) Generations() (map[store.Generation]int64, error) {
	rows, err := t.query("SELECT name, value FROM generations")
	if err != nil {
		return nil, mapErr(err, "read generations")
	}
	defer rows.Close()
	out := make(map[store.Generation]int64, len(store.AllGenerations))
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			return nil, fmt.Errorf("read generations: %w", err)
		}
		out[store.Generation(name)] = v
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, "read generations")
	}
	for _, g := range store.AllGenerations {
		if _, ok := out[g]; !ok {
			out[g] = 0
		}
	}
	return out, nil
}

// BumpGeneration moves g once per transaction: every change a transaction
// makes becomes visible at one commit, so one step covers them all. The
// new value is kept to tell this process's watchers once the transaction
// commits (see Store.NotifyGenerations).
func (t *tx) BumpGeneration(g store.Generation) error {
	if _, done := t.bumped[g]; done {
		return nil
	}
	var v int64
	err := t.queryRow(`INSERT INTO generations (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = generations.value + 1 RETURNING value`, string(g)).Scan(&v)
	if err != nil {
		return mapErr(err, "bump generation "+string(g))
	}
	if t.bumped == nil {
		t.bumped = make(map[store.Generation]int64, 1)
	}
	t.bumped[g] = v
	return nil
}

// changed bumps g after a write method changed something of g's domain.
func (t *tx) changed(g store.Generation, err error) error {
	if err != nil {
		return err
	}
	return t.BumpGeneration(g)
}

// countChanged is count for a statement that changes g's domain: it bumps
// g when some row changed.
func (t *tx) countChanged(g store.Generation, what, q string, args ...any) (int, error) {
	n, err := t.count(what, q, args...)
	if err != nil || n == 0 {
		return n, err
	}
	return n, t.BumpGeneration(g)
}
