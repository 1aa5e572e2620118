// Package cloudhttptest serves what tests of cloud deadlines need: a cloud
// that never answers.
package cloudhttptest

import (
	"net"
	"testing"
)

// SilentServer accepts connections on loopback and never answers them; it
// returns the server's http:// URL and closes everything when t ends.
func SilentServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(conns)
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		for c := range conns {
			_ = c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}
