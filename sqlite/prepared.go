package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// SQLite compiles every statement it runs; done for each call, parsing and
// code generation were 17% of the server's CPU when sends were as fast as
// they go (a CPU profile of `herald bench throughput`). The driver keeps a
// compiled statement with each prepared *sql.Stmt, so the hot paths prepare
// each distinct query text once and reuse it: preparedDB on the read pool
// (database/sql prepares a statement once per connection), and
// uncancelled's per-transaction statements inside a group.

// maxPrepared bounds the statements a preparedDB keeps: queries built at
// run time (IN lists of varying length) are run unprepared past it.
const maxPrepared = 256

// preparedDB is a querier over a connection pool that prepares each
// distinct query text once and keeps it until close.
type preparedDB struct {
	db    *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newPreparedDB(db *sql.DB) *preparedDB {
	return &preparedDB{db: db, stmts: map[string]*sql.Stmt{}}
}

// stmt returns query prepared, or nil to run it unprepared (the cache is
// full, or preparing failed: running it reports the error).
func (p *preparedDB) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.RLock()
	st, ok := p.stmts[query]
	p.mu.RUnlock()
	if ok {
		return st
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.stmts[query]; ok {
		return st
	}
	if len(p.stmts) >= maxPrepared {
		return nil
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.stmts[query] = st
	return st
}

func (p *preparedDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.db.ExecContext(ctx, query, args...)
}

func (p *preparedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

func (p *preparedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, query, args...)
}

// close closes the prepared statements (before the pool itself).
func (p *preparedDB) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for q, st := range p.stmts {
		st.Close()
		delete(p.stmts, q)
	}
	return nil
}
