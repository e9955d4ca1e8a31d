package sftpsource

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pkg/sftp"

	"github.com/usersync/usersync"
)

// A download streams a remote file with many read requests in flight.
//
// A feeder goroutine hands out the file's pieces, in order, up to
// conn.reqs at a time; each piece is read by its own goroutine
// with File.ReadAt, which for a piece no larger than the client's packet
// size keeps asking until the piece is full or the file ends, so a server
// that answers with less than asked never leaves a hole. Read delivers
// the pieces in order. This is the pipelining of File.WriteTo without its
// silent truncation on short reads (pkg/sftp issue 658), and without the
// extra goroutine and copy an io.Pipe would add.
type download struct {
	ctx     context.Context
	c       *conn
	f       *sftp.File
	name    string
	size    int64
	chunk   int64 // bytes per read request
	timeout time.Duration

	pieces chan *piece   // in file order
	free   chan []byte   // buffers not in use; their number bounds the reads in flight
	quit   chan struct{} // closed by Close: stop handing out pieces
	wg     sync.WaitGroup
	timer  *time.Timer
	stopFn func() bool // removes the AfterFunc that kills c when ctx ends

	cur  *piece // being delivered
	pos  int    // bytes of cur delivered
	read int64  // bytes delivered
	err  error  // sticky: the stream's end or failure

	startOnce sync.Once // the first Read starts feed: opening and closing reads nothing
	closeOnce sync.Once
	closeErr  error
}

// A piece is one read request's part of the file.
type piece struct {
	off  int64
	b    []byte
	n    int
	err  error
	done chan struct{}
}

func newDownload(ctx context.Context, c *conn, f *sftp.File, size int64, name string, timeout time.Duration) *download {
	d := &download{
		ctx: ctx, c: c, f: f, name: name, size: size, chunk: int64(c.chunk), timeout: timeout,
		pieces: make(chan *piece, c.reqs),
		free:   make(chan []byte, c.reqs),
		quit:   make(chan struct{}),
		timer:  time.NewTimer(timeout),
	}
	d.timer.Stop()
	for range c.reqs {
		d.free <- make([]byte, c.chunk)
	}
	// Closing the connection is the only way to stop reads under way.
	d.stopFn = context.AfterFunc(ctx, func() { c.kill(context.Cause(ctx)) })
	return d
}

// feed hands out the pieces up to the size, and the one just past it, whose
// empty answer confirms the end (or shows that the file grew).
func (d *download) feed() {
	defer close(d.pieces)
	for off := int64(0); off <= d.size; off += d.chunk {
		var b []byte
		select {
		case b = <-d.free:
		case <-d.quit:
			return
		}
		p := &piece{off: off, b: b, done: make(chan struct{})}
		d.wg.Go(func() {
			p.n, p.err = d.f.ReadAt(p.b, p.off)
			close(p.done)
		})
		select {
		case d.pieces <- p:
		case <-d.quit:
			return
		}
	}
}

// Read delivers the file's bytes in order.
func (d *download) Read(p []byte) (int, error) {
	if err := d.ctx.Err(); err != nil {
		return 0, err
	}
	d.startOnce.Do(func() { d.wg.Go(d.feed) })
	for d.err == nil && (d.cur == nil || d.pos == d.cur.n) {
		d.err = d.next()
	}
	if d.cur != nil && d.pos < d.cur.n {
		n := copy(p, d.cur.b[d.pos:d.cur.n])
		d.pos += n
		d.read += int64(n)
		return n, nil
	}
	return 0, d.err
}

// next moves to the next piece, or returns why the stream ends: io.EOF at
// the verified end, or an error.
func (d *download) next() error {
	if d.cur != nil {
		ended := d.cur.err == io.EOF
		d.free <- d.cur.b[:cap(d.cur.b)]
		d.cur = nil
		if ended {
			return d.verifyEnd()
		}
	}
	p, ok := <-d.pieces
	if !ok {
		// Every piece up to just past the size came back full.
		return fmt.Errorf("%w: %s grew while it was read: more than the %d bytes the server reported", usersync.ErrIntegrity, d.name, d.size)
	}
	if err := d.wait(p); err != nil {
		return err
	}
	d.fillShort(p)
	if p.err != nil && p.err != io.EOF {
		return cause(d.c.failed(p.err))
	}
	d.cur, d.pos = p, 0
	return nil
}

// wait waits for a piece, at most Options.Timeout: a server that sends
// nothing that long is taken for dead, and its connection closed.
func (d *download) wait(p *piece) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	d.timer.Reset(d.timeout)
	defer d.timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-d.ctx.Done():
		return d.ctx.Err()
	case <-d.timer.C:
		err := timeout(fmt.Sprintf("no data for %s", d.name), d.timeout)
		d.c.kill(err)
		return err
	}
}

// fillShort completes a piece that ended before the file's size: a server
// may answer a read with less than asked even with its packet size, and
// File.ReadAt reports that as the end of the file when the piece is larger
// than the client's packet size (as with a client given to New).
func (d *download) fillShort(p *piece) {
	for p.err == io.EOF && p.n < len(p.b) && p.off+int64(p.n) < d.size {
		n, err := d.f.ReadAt(p.b[p.n:], p.off+int64(p.n))
		p.n += n
		p.err = err
		if n == 0 {
			return
		}
	}
}

// verifyEnd checks, at the file's end, that exactly the size the server
// reported was delivered.
func (d *download) verifyEnd() error {
	if d.read != d.size {
		return fmt.Errorf("%w: %s ended after %d bytes, the server reported %d", usersync.ErrIntegrity, d.name, d.read, d.size)
	}
	return io.EOF
}

// Close stops the download and closes the remote file. Reads still in
// flight are waited for, at most Options.Timeout.
func (d *download) Close() error {
	d.closeOnce.Do(func() {
		d.startOnce.Do(func() {}) // no feed after Close
		close(d.quit)
		finished := make(chan struct{})
		go func() { d.wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(d.timeout):
			d.c.kill(timeout("closing "+d.name, d.timeout))
			<-finished
		}
		d.stopFn()
		if !d.c.alive() {
			d.closeErr = d.c.err
			if d.err == io.EOF {
				d.closeErr = nil // everything was read and verified
			}
			return
		}
		d.closeErr = d.c.run(context.Background(), d.timeout, "close "+d.name, func() error { return cause(d.f.Close()) })
	})
	return d.closeErr
}
