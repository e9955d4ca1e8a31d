package ftpsource

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jlaffaye/ftp"

	"github.com/usersync/usersync"
)

// A download streams one RETR. It holds its connection until Close: at
// the verified end of the file the connection goes back to the pool; a
// download closed before its end, or failed, closes the connection, which
// is simpler and safer than ABOR, whose handling varies across servers.
type download struct {
	ctx  context.Context
	s    *Source
	c    *conn
	resp *ftp.Response
	name string
	size int64 // from SIZE; -1 if the server does not tell
	read int64
	err  error // sticky: io.EOF at the verified end, or why the stream failed
	held bool  // c is still ours to release
	stop func() bool
}

func newDownload(ctx context.Context, s *Source, c *conn, resp *ftp.Response, name string, size int64) *download {
	d := &download{ctx: ctx, s: s, c: c, resp: resp, name: name, size: size, held: true}
	// Closing the connection is the only way to interrupt a blocked read.
	d.stop = context.AfterFunc(ctx, func() { c.kill(context.Cause(ctx)) })
	return d
}

// Read delivers the file's bytes, then io.EOF once the byte count and the
// server's final reply confirm the transfer.
func (d *download) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if err := d.ctx.Err(); err != nil {
		d.err = err
		return 0, err
	}
	n, err := d.resp.Read(p)
	d.read += int64(n)
	switch {
	case d.size >= 0 && d.read > d.size:
		d.err = fmt.Errorf("%w: %s: more than the %d bytes the server reported (SIZE): the file grew while it was read", usersync.ErrIntegrity, d.name, d.size)
	case err == io.EOF:
		d.err = d.finish()
	case err != nil && d.size == 0 && d.read == 0 && !d.c.timedOut():
		// A server with nothing to send may close a TLS data connection
		// before the handshake (Go's crypto/tls server does), which reads
		// as a reset here. SIZE said 0 bytes over the TLS-protected control
		// connection, so no content can be missing: the final reply decides.
		d.err = d.finish()
	case err != nil:
		d.err = d.broken(err)
	}
	return n, d.err
}

// finish checks, at the end of the data, that all of the file came and
// that the server says so on the control connection (226); a 426 or 451
// after the bytes, or no reply within Options.Timeout, fails the file.
func (d *download) finish() error {
	if err := d.ctx.Err(); err != nil {
		return err
	}
	if d.size >= 0 && d.read != d.size {
		return fmt.Errorf("%w: %s ended after %d bytes, the server reported %d (SIZE)", usersync.ErrIntegrity, d.name, d.read, d.size)
	}
	err := d.c.run(d.ctx, d.resp.Close)
	switch {
	case err == nil:
		d.held = false
		d.s.release(d.c)
		return io.EOF
	case d.ctx.Err() != nil:
		return d.ctx.Err()
	case errors.Is(err, ErrTimeout):
		return fmt.Errorf("%w: %s: no final reply from the server after %d bytes: %w", usersync.ErrIntegrity, d.name, d.read, err)
	}
	return fmt.Errorf("%w: %s: the server reported the transfer failed after %d bytes: %w", usersync.ErrIntegrity, d.name, d.read, err)
}

// broken returns why the data stopped short of its end.
func (d *download) broken(err error) error {
	if cerr := d.ctx.Err(); cerr != nil {
		return cerr
	}
	err = d.c.failed(err)
	if d.size >= 0 {
		return fmt.Errorf("%s: transfer broke after %d of %d bytes: %w", d.name, d.read, d.size, err)
	}
	return fmt.Errorf("%s: transfer broke after %d bytes: %w", d.name, d.read, err)
}

// Close ends the download. Before the verified end it closes the
// connection; it returns the error the stream failed with, if any.
func (d *download) Close() error {
	if d.stop == nil {
		return d.closeErr()
	}
	d.stop()
	d.stop = nil
	if d.held {
		d.held = false
		d.c.kill(errClosedEarly)
		d.s.release(d.c)
	}
	if d.err == nil {
		d.err = errClosedEarly
		return nil
	}
	return d.closeErr()
}

// errClosedEarly is why a download closed before its end closed its
// connection, and what reads after Close return.
var errClosedEarly = errors.New("download closed")

func (d *download) closeErr() error {
	if d.err == io.EOF || d.err == errClosedEarly {
		return nil
	}
	return d.err
}
