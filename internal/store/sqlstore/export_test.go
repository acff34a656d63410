package sqlstore

// PreparedStatements counts the statements s has prepared, over its pools.
func PreparedStatements(s *Store) int {
	n := 0
	for _, c := range []*stmtCache{s.readStmts, s.writeStmts} {
		c.stmts.Range(func(any, any) bool { n++; return true })
		if s.readStmts == s.writeStmts {
			break
		}
	}
	return n
}
