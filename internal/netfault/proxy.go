// Package netfault breaks TCP connections on purpose, for tests: a [Proxy]
// forwards connections on 127.0.0.1 and cuts them after some bytes, or
// stops forwarding while keeping them open, as a dead server or a dropped
// NAT mapping does.
//
// A client reaches the server through the proxy either by connecting to
// [Proxy.Addr] (one fixed target, enough for SSH), or by dialing with
// [Proxy.DialContext], which routes a connection to any address through the
// proxy. The second suits protocols with more than one connection, such as
// FTP, whose data connections go to ports the server picks as it goes.
package netfault

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// A Proxy forwards TCP connections from 127.0.0.1 to a server, and breaks
// them on demand: it cuts a connection once some bytes went from the
// server to the client ([Proxy.CutAfter]), or stops forwarding while
// keeping connections open ([Proxy.Stall]). Make one with [NewProxy]; it
// stops when the test ends.
type Proxy struct {
	// Addr is the host:port clients connect to, to reach the target given
	// to NewProxy.
	Addr   string
	target string
	ln     net.Listener // forwards to target
	routed net.Listener // forwards where the first line says (DialContext)

	mu     sync.Mutex
	cut    int64         // bytes from server to client after which a connection is cut; 0: never
	stall  chan struct{} // non-nil while stalled
	conns  map[net.Conn]bool
	closed chan struct{}
	wg     sync.WaitGroup
}

// NewProxy starts a Proxy whose Addr forwards to target. With an empty
// target, only DialContext routes connections.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{target: target, conns: map[net.Conn]bool{}, closed: make(chan struct{})}
	var err error
	if p.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if p.routed, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		p.ln.Close()
		t.Fatal(err)
	}
	p.Addr = p.ln.Addr().String()
	p.wg.Go(func() { p.accept(p.ln, p.fixedTarget) })
	p.wg.Go(func() { p.accept(p.routed, readTarget) })
	t.Cleanup(p.Close)
	return p
}

// DialContext connects to addr through the proxy, so that CutAfter and
// Stall apply to the connection. Give it to a client as its dial function.
func (p *Proxy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.routed.Addr().String())
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(c, "%s\n", addr); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// CutAfter makes each new connection close once n bytes have gone from
// the server to the client; 0 never cuts.
func (p *Proxy) CutAfter(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = n
}

// Stall stops forwarding on every connection, both ways, without closing
// any; new connections are accepted and hang too.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stall == nil {
		p.stall = make(chan struct{})
	}
}

// Resume forwards again what Stall held back.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stall != nil {
		close(p.stall)
		p.stall = nil
	}
}

// Drop closes every connection open now, as a server restart or a
// network failure would; new connections are forwarded as before.
func (p *Proxy) Drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() {
	p.mu.Lock()
	select {
	case <-p.closed:
		p.mu.Unlock()
		return
	default:
	}
	close(p.closed)
	p.ln.Close()
	p.routed.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.closed:
		c.Close()
		return false
	default:
	}
	p.conns[c] = true
	return true
}

// fixedTarget returns the target given to NewProxy.
func (p *Proxy) fixedTarget(r *bufio.Reader) (string, error) { return p.target, nil }

// readTarget reads the line DialContext sends first: the address to reach.
func readTarget(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(line, "\n"), nil
}

func (p *Proxy) accept(ln net.Listener, target func(*bufio.Reader) (string, error)) {
	for {
		client, err := ln.Accept()
		if err != nil {
			return
		}
		if !p.track(client) {
			continue
		}
		p.wg.Go(func() { p.forward(client, target) })
	}
}

// forward connects client to its target and copies both ways until either
// end closes.
func (p *Proxy) forward(client net.Conn, target func(*bufio.Reader) (string, error)) {
	in := bufio.NewReader(client) // may hold bytes read past the routing line
	addr, err := target(in)
	if err != nil || addr == "" {
		client.Close()
		return
	}
	server, err := net.Dial("tcp", addr)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(server) {
		client.Close()
		return
	}
	p.mu.Lock()
	cut := p.cut
	p.mu.Unlock()
	closeBoth := sync.OnceFunc(func() { client.Close(); server.Close() })
	p.wg.Go(func() { p.pipe(in, server, 0); closeBoth() })
	p.pipe(server, client, cut)
	closeBoth()
}

// pipe copies from src to dst until either fails, cut bytes have passed
// (if cut > 0), or the proxy closes; it holds data back while stalled.
func (p *Proxy) pipe(src io.Reader, dst net.Conn, cut int64) {
	buf := make([]byte, 32<<10)
	var sent int64
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitStall() {
				return
			}
			if cut > 0 && sent+int64(n) >= cut {
				dst.Write(buf[:cut-sent])
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
		}
		if err != nil {
			return // the end of either way ends both: neither SSH nor FTP half-closes
		}
	}
}

// waitStall blocks while the proxy is stalled; it returns false once the
// proxy is closed.
func (p *Proxy) waitStall() bool {
	p.mu.Lock()
	stall := p.stall
	p.mu.Unlock()
	if stall == nil {
		return true
	}
	select {
	case <-stall:
		return true
	case <-p.closed:
		return false
	}
}
