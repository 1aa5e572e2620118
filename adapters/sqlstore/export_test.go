package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/truecost/truecost/domain/billing"
)

// CountLineItems counts the stored line items of an organization, active or
// not; tests use it to prove superseded versions are gone.
func CountLineItems(t *testing.T, s *Store, orgID string) int {
	t.Helper()
	n, err := s.db.NewSelect().TableExpr("cost_line_items").Where("org_id = ?", orgID).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// LineItemTables lists the tables holding line items on Postgres, attached
// or not, from the catalog; tests use it to prove runs' tables are dropped.
func LineItemTables(t *testing.T, s *Store) []string {
	t.Helper()
	var names []string
	err := s.db.NewSelect().ColumnExpr("c.relname").TableExpr("pg_class AS c").
		Join("JOIN pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname = current_schema()").
		Where("c.relkind = 'r' AND c.relname LIKE 'cost\\_line\\_items\\_%'").
		Order("c.relname").Scan(context.Background(), &names)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// BinaryNumeric and BinaryTime are the binary COPY fields line items are
// written with, for tests that check them against Postgres's text input.
func BinaryNumeric(n string) ([]byte, error) {
	buf, _, err := appendBinaryNumeric(nil, billing.Number(n), nil)
	return buf, err
}

func BinaryTime(t time.Time) ([]byte, error) { return appendBinaryTime(nil, t) }

// BinaryCopyFraming are a binary COPY stream's header and trailer.
var BinaryCopyFraming = [2][]byte{copyBinaryHeader, copyBinaryTrailer}
