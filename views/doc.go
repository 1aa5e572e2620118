// Package views is the web console: server-rendered pages built with templ
// and enhanced with htmx. It is a driver of the hexagon: handlers parse the
// request, call the domain services through the small interfaces declared in
// Deps, and render a view model. One sub-package per page (loginpage,
// dashboardpage, connectorspage, accountspage, runspage) holds its handler,
// templates and view model; the suffix keeps page packages apart from the
// domain packages they show, so no import needs renaming. layout holds the
// page shell and formatting, viewkit what the management pages share. This
// package wires the pages into routes and owns what every page shares: the
// session, CSRF checks and the mapping of domain errors to HTTP responses.
package views
