// Package domain is the core of Truecost: the rules of billing, tenancy and
// connectors, and the ports through which they reach storage and the clouds.
//
// Nothing under domain imports an SDK, SQL or HTTP package, nor any package of
// this module outside domain. Adapters implement the ports declared here;
// graph, views and jobs drive the services. This root package holds the
// vocabulary every subpackage shares: the coded Error.
package domain
