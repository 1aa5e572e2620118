package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain/tenancy"
)

var _ tenancy.AttemptStore = (*Store)(nil)

type attemptRow struct {
	bun.BaseModel `bun:"table:login_attempts"`
	Key           string     `bun:"key,pk"`
	Failures      int        `bun:"failures"`
	LastFailure   time.Time  `bun:"last_failure"`
	BlockedUntil  *time.Time `bun:"blocked_until"`
}

func (r attemptRow) domain() tenancy.Attempt {
	a := tenancy.Attempt{Failures: r.Failures, LastFailure: r.LastFailure.UTC()}
	if r.BlockedUntil != nil {
		a.BlockedUntil = r.BlockedUntil.UTC()
	}
	return a
}

// Attempt returns the failed attempts recorded under key, or the zero
// Attempt.
func (s *Store) Attempt(ctx context.Context, key string) (tenancy.Attempt, error) {
	var row attemptRow
	err := s.db.NewSelect().Model(&row).Where("key = ?", key).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return tenancy.Attempt{}, nil
	}
	return row.domain(), mapErr(err, "failed attempts")
}

// UpdateAttempt replaces the record of key with update's answer in one
// transaction: the row is locked on Postgres, and SQLite transactions
// begin immediate, so that concurrent failures all count.
func (s *Store) UpdateAttempt(ctx context.Context, key string, update func(tenancy.Attempt) tenancy.Attempt) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Make sure a row exists to lock.
		if _, err := tx.NewInsert().Model(&attemptRow{Key: key, LastFailure: time.Unix(0, 0).UTC()}).
			On("CONFLICT (key) DO NOTHING").Exec(ctx); err != nil {
			return mapErr(err, "failed attempts")
		}
		var row attemptRow
		q := tx.NewSelect().Model(&row).Where("key = ?", key)
		if s.dialect == Postgres {
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx); err != nil {
			return mapErr(err, "failed attempts")
		}
		a := update(row.domain())
		row = attemptRow{Key: key, Failures: a.Failures, LastFailure: a.LastFailure.UTC()}
		if !a.BlockedUntil.IsZero() {
			until := a.BlockedUntil.UTC()
			row.BlockedUntil = &until
		}
		_, err := tx.NewUpdate().Model(&row).WherePK().Exec(ctx)
		return mapErr(err, "failed attempts")
	})
}

// DeleteAttempt forgets the failed attempts recorded under key.
func (s *Store) DeleteAttempt(ctx context.Context, key string) error {
	_, err := s.db.NewDelete().Model((*attemptRow)(nil)).Where("key = ?", key).Exec(ctx)
	return mapErr(err, "failed attempts")
}

// DeleteAttemptsBefore forgets the records whose last failure is older
// than t.
func (s *Store) DeleteAttemptsBefore(ctx context.Context, t time.Time) error {
	_, err := s.db.NewDelete().Model((*attemptRow)(nil)).Where("last_failure < ?", t.UTC()).Exec(ctx)
	return mapErr(err, "failed attempts")
}
