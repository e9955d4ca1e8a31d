package ftptest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	ftpserver "goftp.io/server/v2"
)

// driver serves the Server's folder through an os.Root, so that no path a
// client sends reaches outside it, with times in UTC (goftp formats MDTM
// and MLSD times as they come, and FTP wants UTC).
type driver struct{ root *os.Root }

var _ ftpserver.Driver = (*driver)(nil)

// rel turns a goftp path ("/in/users.csv", already cleaned) into a name
// relative to the root.
func rel(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "."
	}
	return p
}

// utcInfo reports its modification time in UTC.
type utcInfo struct{ fs.FileInfo }

func (i utcInfo) ModTime() time.Time { return i.FileInfo.ModTime().UTC() }

func (d *driver) Stat(_ *ftpserver.Context, p string) (os.FileInfo, error) {
	fi, err := d.root.Stat(rel(p))
	if err != nil {
		return nil, err
	}
	return utcInfo{fi}, nil
}

func (d *driver) ListDir(_ *ftpserver.Context, p string, fn func(os.FileInfo) error) error {
	f, err := d.root.Open(rel(p))
	if err != nil {
		return err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return err
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if err := fn(utcInfo{fi}); err != nil {
			return err
		}
	}
	return nil
}

func (d *driver) DeleteDir(_ *ftpserver.Context, p string) error {
	fi, err := d.root.Lstat(rel(p))
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New("not a folder")
	}
	return d.root.Remove(rel(p))
}

func (d *driver) DeleteFile(_ *ftpserver.Context, p string) error {
	fi, err := d.root.Lstat(rel(p))
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("is a folder")
	}
	return d.root.Remove(rel(p))
}

func (d *driver) Rename(_ *ftpserver.Context, from, to string) error {
	return d.root.Rename(rel(from), rel(to))
}

func (d *driver) MakeDir(_ *ftpserver.Context, p string) error {
	return d.root.Mkdir(rel(p), 0o755)
}

func (d *driver) GetFile(_ *ftpserver.Context, p string, offset int64) (int64, io.ReadCloser, error) {
	f, err := d.root.Open(rel(p))
	if err != nil {
		return 0, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err == nil && offset > 0 {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return 0, nil, err
	}
	return fi.Size() - offset, f, nil
}

func (d *driver) PutFile(_ *ftpserver.Context, p string, r io.Reader, offset int64) (int64, error) {
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if offset >= 0 {
		flag = os.O_WRONLY | os.O_CREATE
	}
	f, err := d.root.OpenFile(rel(p), flag, 0o644)
	if err != nil {
		return 0, err
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return 0, err
		}
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// retrCommand is goftp's RETR unless a Fault is set, in which case it
// sends the file itself and ends the transfer as the Fault says.
type retrCommand struct {
	ftpserver.Command
	s *Server
}

func (c retrCommand) Execute(sess *ftpserver.Session, param string) {
	fault := Fault(c.s.fault.Load())
	if fault == NoFault {
		c.Command.Execute(sess, param)
		return
	}
	data, err := c.s.root.ReadFile(rel(sess.BuildPath(param)))
	if err != nil {
		sess.WriteMessage(550, "File not available")
		return
	}
	dc := sess.DataConn()
	if dc == nil {
		sess.WriteMessage(425, "Use PASV or EPSV first")
		return
	}
	sess.WriteMessage(150, fmt.Sprintf("Data transfer starting %d bytes", len(data)))
	if fault == ShortData {
		data = data[:len(data)/2]
	}
	_, err = io.Copy(dc, bytes.NewReader(data))
	dc.Close()
	switch {
	case err != nil:
		sess.WriteMessage(426, "Failure writing network stream")
	case fault == Reply426:
		sess.WriteMessage(426, "Connection closed; transfer aborted")
	case fault == ShortData:
		sess.WriteMessage(226, "Transfer complete")
	case fault == NoFinalReply:
		// Silence: the client must give up on its own.
	}
}

// sizeCommand answers SIZE as vsftpd does: for regular files only, 550
// otherwise. (goftp's answers for folders too, and logs every miss to the
// standard logger.) FEAT lists it.
type sizeCommand struct {
	ftpserver.Command
	s *Server
}

func (c sizeCommand) IsExtend() bool { return true }

func (c sizeCommand) Execute(sess *ftpserver.Session, param string) {
	fi, err := c.s.root.Stat(rel(sess.BuildPath(param)))
	if err != nil || !fi.Mode().IsRegular() {
		sess.WriteMessage(550, "Could not get file size.")
		return
	}
	sess.WriteMessage(213, fmt.Sprint(fi.Size()))
}

// feature is a command that FEAT lists, as servers list MDTM.
type feature struct{ ftpserver.Command }

func (feature) IsExtend() bool { return true }

// An implicit-TLS server speaks TLS from the first byte. goftp cannot:
// its sessions encrypt data connections only after AUTH TLS. So each
// connection tells goftp "AUTH TLS" itself, hides the plaintext greeting
// and the 234 answer from the client, and implicitAuth greets the client
// again once TLS is up.
type implicitListener struct{ net.Listener }

func (l *implicitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &implicitConn{Conn: c, inject: []byte("AUTH " + implicitParam + "\r\n")}, nil
}

// implicitParam marks the AUTH that implicitConn injects.
const implicitParam = "TLS-IMPLICIT"

// implicitConn reads the injected AUTH line before the client's bytes, and
// swallows what goftp writes until its answer to it (the plaintext greeting
// and "234").
type implicitConn struct {
	net.Conn
	mu       sync.Mutex
	inject   []byte
	swallow  bytes.Buffer
	swallowd bool // done swallowing
}

func (c *implicitConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.inject) > 0 {
		n := copy(p, c.inject)
		c.inject = c.inject[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}

func (c *implicitConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if !c.swallowd {
		c.swallow.Write(p)
		if bytes.Contains(c.swallow.Bytes(), []byte("\r\n234 ")) || bytes.HasPrefix(c.swallow.Bytes(), []byte("234 ")) {
			c.swallowd = true
		}
		c.mu.Unlock()
		return len(p), nil
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// implicitAuth upgrades the connection when implicitConn asks, then greets
// the client over TLS.
type implicitAuth struct{ ftpserver.Command }

func (a implicitAuth) RequireAuth() bool { return false }

func (a implicitAuth) Execute(sess *ftpserver.Session, param string) {
	if param != implicitParam {
		sess.WriteMessage(503, "Already using TLS")
		return
	}
	a.Command.Execute(sess, "TLS")
	sess.WriteMessage(220, welcome)
}
