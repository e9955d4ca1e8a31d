package sftptest

import (
	"testing"

	"github.com/usersync/usersync/internal/netfault"
)

// A Proxy forwards TCP connections from 127.0.0.1 to a server, and breaks
// them on demand: it cuts a connection once some bytes went from the
// server to the client ([Proxy.CutAfter]), or stops forwarding while
// keeping connections open, as a dead server or a dropped NAT mapping does
// ([Proxy.Stall]). It is [netfault.Proxy], which the FTP tests share.
type Proxy = netfault.Proxy

// NewProxy starts a Proxy to target; it stops when the test ends.
func NewProxy(t testing.TB, target string) *Proxy { return netfault.NewProxy(t, target) }
