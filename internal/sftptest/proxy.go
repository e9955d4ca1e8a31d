package sftptest

import (
	"net"
	"sync"
	"testing"
)

// A Proxy forwards TCP connections from 127.0.0.1 to a server, and breaks
// them on demand: it cuts a connection once some bytes went from the
// server to the client ([Proxy.CutAfter]), or stops forwarding while
// keeping connections open, as a dead server or a dropped NAT mapping does
// ([Proxy.Stall]). Make one with [NewProxy]; it stops when the test ends.
type Proxy struct {
	// Addr is the host:port clients connect to.
	Addr   string
	target string
	ln     net.Listener

	mu     sync.Mutex
	cut    int64         // bytes from server to client after which a connection is cut; 0: never
	stall  chan struct{} // non-nil while stalled
	conns  map[net.Conn]bool
	closed chan struct{}
	wg     sync.WaitGroup
}

// NewProxy starts a Proxy to target.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]bool{}, closed: make(chan struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.Close)
	return p
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

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		if !p.track(client) || !p.track(server) {
			client.Close()
			server.Close()
			continue
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		closeBoth := sync.OnceFunc(func() { client.Close(); server.Close() })
		p.wg.Go(func() { p.pipe(client, server, 0); closeBoth() })
		p.wg.Go(func() { p.pipe(server, client, cut); closeBoth() })
	}
}

// pipe copies from src to dst until either fails, cut bytes have passed
// (if cut > 0), or the proxy closes; it holds data back while stalled.
func (p *Proxy) pipe(src, dst net.Conn, cut int64) {
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
			return // SSH never half-closes: the end of either way ends both
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
