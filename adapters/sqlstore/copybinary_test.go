package sqlstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
)

// TestBinaryCopyStoresWhatTextInputStores writes numbers and times through
// the binary COPY format line items use, beside their text, and asks
// Postgres whether each equals its own reading of the text: the same value,
// the same display scale, the same instant.
func TestBinaryCopyStoresWhatTextInputStores(t *testing.T) {
	s := sqltest.Postgres(t)
	ctx := context.Background()
	numbers := []string{"0", "-0", "0.00", "-0.000", "1", "-1", "+7", "5.", ".5", "-.25", "1.50", "12345", "123456789",
		"0.1234567", "10000", "100000000", "0.0001", "0.00001", "99999999.99999999", "1e0", "1.5E-7", "1.5e+3",
		"-2.50e2", "1e-1000", "9.99e1000", "123.456e-2", "0.000e5", "4.2E-05", "1234567890123456789012345678901234567890.5",
		"0.0000000000000000000000000000123", "1E4", "10e-1", "-0.0000001", "3.14159265358979323846264338327950288"}
	rng := rand.New(rand.NewPCG(4, 2))
	for range 2000 {
		var b strings.Builder
		if rng.IntN(4) == 0 {
			b.WriteByte('-')
		}
		fmt.Fprintf(&b, "%d", rng.IntN(1_000_000)*[]int{1, 10, 1000, 1_000_000}[rng.IntN(4)])
		if rng.IntN(3) > 0 {
			b.WriteByte('.')
			for range rng.IntN(20) {
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
		}
		if rng.IntN(5) == 0 {
			fmt.Fprintf(&b, "e%d", rng.IntN(41)-20)
		}
		numbers = append(numbers, b.String())
	}
	times := []time.Time{
		time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2026, 3, 29, 1, 30, 0, 0, time.FixedZone("", 2*3600)), time.Date(2026, 1, 1, 0, 0, 0, 1500, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 2500, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 2501, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 499, time.UTC), time.Date(2100, 2, 28, 12, 0, 0, 0, time.UTC),
	}
	for range 200 {
		times = append(times, time.Unix(rng.Int64N(4_000_000_000), rng.Int64N(1_000_000_000)))
	}

	if _, err := s.DB().ExecContext(ctx, "CREATE TABLE binary_check (n NUMERIC, n_text TEXT, ts TIMESTAMPTZ, ts_text TEXT)"); err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	stream.Write(sqlstore.BinaryCopyFraming[0])
	field := func(b []byte) { stream.Write(b) }
	text := func(v string) {
		stream.Write(binary.BigEndian.AppendUint32(nil, uint32(len(v))))
		stream.WriteString(v)
	}
	null := func() { stream.Write([]byte{0xff, 0xff, 0xff, 0xff}) }
	for i := range max(len(numbers), len(times)) {
		stream.Write([]byte{0, 4})
		if i < len(numbers) {
			b, err := sqlstore.BinaryNumeric(numbers[i])
			if err != nil {
				t.Fatalf("%s: %v", numbers[i], err)
			}
			field(b)
			text(numbers[i])
		} else {
			null()
			null()
		}
		if i < len(times) {
			b, err := sqlstore.BinaryTime(times[i])
			if err != nil {
				t.Fatalf("%s: %v", times[i], err)
			}
			field(b)
			text(times[i].Format(time.RFC3339Nano))
		} else {
			null()
			null()
		}
	}
	stream.Write(sqlstore.BinaryCopyFraming[1])
	conn, err := s.DB().DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		_, err := dc.(*stdlib.Conn).Conn().PgConn().CopyFrom(ctx, &stream, "COPY binary_check FROM STDIN (FORMAT binary)")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT n_text, n::text, n_text::numeric::text FROM binary_check
		WHERE n_text IS NOT NULL AND n::text IS DISTINCT FROM n_text::numeric::text
		UNION ALL SELECT ts_text, ts::text, ts_text::timestamptz::text FROM binary_check
		WHERE ts_text IS NOT NULL AND ts IS DISTINCT FROM ts_text::timestamptz`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var in, got, want string
		if err := rows.Scan(&in, &got, &want); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s: stored %s, text input stores %s", in, got, want)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestBinaryNumericRefusesWhatPostgresCannotRead(t *testing.T) {
	for _, n := range []string{"1e1001", "1e-1001", "abc", "1.2.3", "-", "e5"} {
		if _, err := sqlstore.BinaryNumeric(n); err == nil {
			t.Errorf("%s: accepted", n)
		}
	}
}
