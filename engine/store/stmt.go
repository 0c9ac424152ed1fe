package store

import (
	"context"
	"database/sql"
	"fmt"
)

type stmtKey struct {
	write bool
	query string
}

// warmQueries are prepared at Open so that transactions find them cached (txStmt
// prepares any other statement anew in each transaction: finishing a run that way cost
// a small flow a fiftieth of its time).
var warmQueries = []string{putStepQuery, putSlimStepQuery, putBlobQuery, hitQuery,
	putPackQuery, unpackQuery, deletePackQuery, createRunQuery,
	finishRunQuery, addRunUsageQuery}

func (s *Store) warm(ctx context.Context) error {
	for _, q := range warmQueries {
		if _, err := s.stmt(ctx, true, q); err != nil {
			return err
		}
	}
	return nil
}

// stmt returns the prepared statement for query on the writer (write) or the
// reader pool, preparing it on first use. database/sql re-prepares it per
// connection as needed, so callers may use it from any goroutine. Preparing
// waits for a connection, so it happens outside s.mu (a transaction holding
// the writer may need s.mu in txStmt) and never inside a transaction.
func (s *Store) stmt(ctx context.Context, write bool, query string) (*sql.Stmt, error) {
	k := stmtKey{write, query}
	s.mu.Lock()
	st, ok := s.stmts[k]
	s.mu.Unlock()
	if ok {
		return st, nil
	}
	db := s.p.r
	if write {
		db = s.p.w
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("preparing statement: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.stmts[k]; ok { // prepared meanwhile by another goroutine
		st.Close()
		return prev, nil
	}
	s.stmts[k] = st
	return st, nil
}

// txStmt returns a statement for query bound to tx: the cached prepared one
// when there is one, else one prepared on tx itself. It never asks the pool
// for a connection, which would deadlock: tx holds the only writer connection.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	st, ok := s.stmts[stmtKey{true, query}]
	s.mu.Unlock()
	if ok {
		return tx.StmtContext(ctx, st), nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("preparing statement: %w", err)
	}
	return st, nil
}

// exec runs one write statement in its own implicit transaction.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, true, query)
	if err != nil {
		return nil, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err == nil {
		s.ckpt.committed()
	}
	return res, err
}

// update runs fn in one write transaction (BEGIN IMMEDIATE) together with
// any pending cache hits, committing when fn returns nil and rolling back
// otherwise.
func (s *Store) update(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	hits := s.hits.take()
	defer func() {
		if err != nil {
			s.hits.putBack(hits)
		}
	}()
	tx, err := s.p.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning write: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := s.applyHits(ctx, tx, hits); err != nil {
		tx.Rollback()
		return fmt.Errorf("counting cache hits: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	s.ckpt.committed()
	return nil
}

// query runs a read statement on the reader pool.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, false, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow runs a single-row read statement on the reader pool.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	st, err := s.stmt(ctx, false, query)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}
