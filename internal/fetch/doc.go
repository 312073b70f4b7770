// Package fetch is the agent's HTTP client. It connects to an edge address
// of the POP being warmed — never to what the URL's host resolves to — and
// sends the URL's own host as Host and TLS SNI, so the CDN routes and serves
// the request exactly as it would a viewer's. Bodies are read into a pooled
// buffer and dropped, so memory stays flat whatever the object's size.
//
// Connections are pooled per edge address: Go's transport pools by URL
// host, and the same host through two POPs must never share a connection.
package fetch
