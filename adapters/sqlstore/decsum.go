package sqlstore

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"sync"

	"github.com/shopspring/decimal"
	"modernc.org/sqlite"

	"github.com/truecost/truecost/domain/billing"
)

// SQLite keeps money as decimal text and its SUM() would add it as binary
// floats. decsum(x) is the exact sum SQLite's reports use instead: the
// same decimal arithmetic as the ingester's totals, text in and text out.
// NULLs count as zero, as they do for the rollups. The driver holds
// functions globally, so the first SQLite store registers it for all.
//
// decmul(a, b) is the exact product of two decimals, text in and text out,
// NULL when either is NULL: what pricing multiplies costs with; decsub(a,
// b) their exact difference, the margin of resale over cost.
//
// tagtext(type, value) turns a json_each value into the text reports show
// for a tag: strings as they are, other JSON values as JSON text, the way
// Postgres's jsonb_each_text does.
var registerDecsum = sync.OnceValue(func() error {
	err := sqlite.RegisterFunction("decsum", &sqlite.FunctionImpl{
		NArgs:         1,
		Deterministic: true,
		MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) {
			return &decimalSum{}, nil
		},
	})
	if err != nil {
		return err
	}
	err = sqlite.RegisterFunction("decmul", &sqlite.FunctionImpl{
		NArgs:         2,
		Deterministic: true,
		Scalar:        decMul,
	})
	if err != nil {
		return err
	}
	err = sqlite.RegisterFunction("decsub", &sqlite.FunctionImpl{
		NArgs:         2,
		Deterministic: true,
		Scalar:        decSub,
	})
	if err != nil {
		return err
	}
	return sqlite.RegisterFunction("tagtext", &sqlite.FunctionImpl{
		NArgs:         2,
		Deterministic: true,
		Scalar:        tagText,
	})
})

func tagText(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	typ, _ := args[0].(string)
	switch typ {
	case "null":
		return nil, nil
	case "true", "false":
		return typ, nil
	}
	switch v := args[1].(type) {
	case nil:
		return nil, nil
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	}
	return fmt.Sprint(args[1]), nil
}

type decimalSum struct {
	sum billing.Sum
}

func (d *decimalSum) Step(_ *sqlite.FunctionContext, args []driver.Value) error {
	var text string
	switch v := args[0].(type) {
	case nil:
		return nil
	case string:
		text = v
	case []byte:
		text = string(v)
	case int64:
		text = fmt.Sprint(v)
	case float64:
		// Only a value written outside Truecost can be a float; keep its
		// shortest exact rendering rather than failing the report.
		text = fmt.Sprint(v)
	default:
		return fmt.Errorf("decsum: unexpected %T", v)
	}
	n, err := billing.ParseNumber(text)
	if err != nil {
		return fmt.Errorf("decsum: %w", err)
	}
	d.sum.Add(n)
	return nil
}

func (d *decimalSum) WindowInverse(*sqlite.FunctionContext, []driver.Value) error {
	return fmt.Errorf("decsum cannot be used as a window function")
}

func (d *decimalSum) WindowValue(*sqlite.FunctionContext) (driver.Value, error) {
	return d.sum.Decimal().String(), nil
}

func (d *decimalSum) Final(*sqlite.FunctionContext) {}

func decMul(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	return decOp(args, decimal.Decimal.Mul)
}

func decSub(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	return decOp(args, decimal.Decimal.Sub)
}

func decOp(args []driver.Value, op func(a, b decimal.Decimal) decimal.Decimal) (driver.Value, error) {
	var out decimal.Decimal
	for i, a := range args {
		var text string
		switch v := a.(type) {
		case nil:
			return nil, nil
		case string:
			text = v
		case []byte:
			text = string(v)
		case int64:
			text = strconv.FormatInt(v, 10)
		case float64:
			text = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return nil, fmt.Errorf("decimal operand: unexpected %T", a)
		}
		d, err := decimal.NewFromString(text)
		if err != nil {
			return nil, fmt.Errorf("decimal operand: %w", err)
		}
		if i == 0 {
			out = d
		} else {
			out = op(out, d)
		}
	}
	return out.String(), nil
}
