// Package model holds the GraphQL API's own types: the structs and enums
// gqlgen generates from graph/*.graphqls (models_gen.go), and the marshalers
// of the custom scalars Decimal, Date and Time. Domain types are never bound
// here; the resolvers in package graph convert between the two.
package model
