package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/graph/generated"
	"github.com/truecost/truecost/graph/model"
)

const (
	// maxOperationTokens bounds the size of an operation before gqlgen
	// parses and validates it: validation grows with the square of the
	// fields that share a name, so a large query can cost seconds before
	// the complexity limit is ever consulted. An introspection query has
	// a few hundred tokens (gqlgen's: 152).
	maxOperationTokens = 3000
	// maxOperationDepth bounds the nesting of braces, brackets and
	// parentheses; introspection reaches about 10 (gqlgen's query: 8).
	maxOperationDepth = 20
	// costsComplexity is what one costs report weighs against
	// complexityLimit: each is a GROUP BY over the organization's rollups,
	// tens of milliseconds or more, so an operation may ask for a few only.
	costsComplexity = 100
)

// complexity weighs the fields that cost more than their children.
func complexity() generated.ComplexityRoot {
	var c generated.ComplexityRoot
	c.Query.Costs = func(childComplexity int, _ model.CostQuery) int {
		return costsComplexity + childComplexity
	}
	return c
}

// operationLimit refuses operations too large or too deep to parse and
// validate cheaply. It reads the query with the lexer alone, which is
// linear in its length, before gqlgen does anything else with it.
type operationLimit struct{}

var (
	_ graphql.HandlerExtension          = operationLimit{}
	_ graphql.OperationParameterMutator = operationLimit{}
)

func (operationLimit) ExtensionName() string                   { return "OperationLimit" }
func (operationLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (operationLimit) MutateOperationParameters(_ context.Context, p *graphql.RawParams) *gqlerror.Error {
	if err := checkOperationSize(p.Query); err != nil {
		e := gqlerror.Errorf("%s", domain.ErrorMessage(err))
		setCode(e, domain.ErrorCode(err))
		return e
	}
	return nil
}

// checkOperationSize returns a domain.Invalid error when query has more
// than maxOperationTokens tokens or nests deeper than maxOperationDepth.
// Lexing errors are left to the parser, which reports them with positions.
func checkOperationSize(query string) error {
	lex := lexer.New(&ast.Source{Input: query})
	tokens, depth := 0, 0
	for {
		tok, err := lex.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			return nil
		}
		tokens++
		if tokens > maxOperationTokens {
			return domain.Errorf(domain.Invalid, "the operation is too large: at most %d tokens are allowed", maxOperationTokens)
		}
		switch tok.Kind {
		case lexer.BraceL, lexer.BracketL, lexer.ParenL:
			depth++
			if depth > maxOperationDepth {
				return domain.Errorf(domain.Invalid, "the operation nests too deeply: at most %d levels are allowed", maxOperationDepth)
			}
		case lexer.BraceR, lexer.BracketR, lexer.ParenR:
			depth--
		}
	}
}
