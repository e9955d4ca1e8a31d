package netfault_test

import (
	"bytes"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync/internal/netfault"
)

// echoServer sends size bytes to each connection, then echoes what it
// reads.
func echoServer(t *testing.T, size int) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := c.Write(make([]byte, size)); err == nil {
					io.Copy(c, c)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestDialContextRoutesAndCuts(t *testing.T) {
	target := echoServer(t, 100_000)
	p := netfault.NewProxy(t, "")
	c, err := p.DialContext(t.Context(), "tcp", target)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.ReadFull(c, make([]byte, 100_000))
	require.NoError(t, err, "routed to the target")
	_, err = c.Write([]byte("ping"))
	require.NoError(t, err)
	got := make([]byte, 4)
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(got), "bytes after the routing line reach the target")

	p.CutAfter(10_000)
	cut, err := p.DialContext(t.Context(), "tcp", target)
	require.NoError(t, err)
	defer cut.Close()
	n, _ := io.Copy(io.Discard, cut)
	assert.Equal(t, int64(10_000), n, "cut after 10 000 bytes")
}

func TestStallDropAndFixedTarget(t *testing.T) {
	target := echoServer(t, 0)
	p := netfault.NewProxy(t, target)
	c, err := net.Dial("tcp", p.Addr)
	require.NoError(t, err)
	defer c.Close()

	p.Stall()
	_, err = c.Write([]byte("x"))
	require.NoError(t, err)
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	_, err = c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "nothing forwarded while stalled")
	p.Resume()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1)
	_, err = io.ReadFull(c, b)
	require.NoError(t, err, "held back bytes go through on Resume")

	p.Drop()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, c)
	assert.NoError(t, err, "dropped: the connection ends")
	assert.True(t, bytes.Equal(b, []byte("x")))
}
