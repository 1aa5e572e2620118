// Package views is the web console: server-rendered pages built with templ
// and enhanced with htmx. It is a driver of the hexagon: handlers parse the
// request, call the domain services through the small interfaces declared in
// Deps, and render a view model. One sub-package per page (layout, login,
// dashboard, connectors, accounts, runs) holds its handler, templates and view model;
// this package wires them into routes and owns what every page shares: the
// session, CSRF checks and the mapping of domain errors to HTTP responses.
package views
