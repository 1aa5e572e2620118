package sqlstore

import (
	"context"
	"testing"
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
