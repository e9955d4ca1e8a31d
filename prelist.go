package usersync

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
)

// A prelisting is a Sink's digests, listed into a temporary file while the
// Pipeline reads the files: the database's side of the diff (a scan of
// every stored user) and the mapping of the files then run on two cores
// instead of one after the other, and the Reconciler reads the digests
// back from the file, which costs a fraction of the listing. Memory holds
// one buffer at each end, whatever the number of users; the file takes
// about 30 bytes a user.
type prelisting struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the listing ended

	// Set before done is closed.
	file *os.File // nil if it could not be created
	size int64    // bytes of complete digests in file
	err  error    // why the listing failed
}

// prelist starts listing l's digests into a temporary file in dir ("" for
// os.TempDir()). Close removes the file.
func prelist(ctx context.Context, dir string, l DigestLister) *prelisting {
	ctx, cancel := context.WithCancel(ctx)
	p := &prelisting{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.err = p.list(ctx, dir, l)
	}()
	return p
}

// list writes every digest l yields to a new temporary file.
func (p *prelisting) list(ctx context.Context, dir string, l DigestLister) error {
	f, err := os.CreateTemp(dir, "usersync-digests-*")
	if err != nil {
		return fmt.Errorf("spool the digests: %w", err)
	}
	p.file = f
	w := bufio.NewWriterSize(f, 256<<10)
	var b []byte
	var size int64
	for d, err := range l.Digests(ctx) {
		if err != nil {
			return err
		}
		b = appendDigest(b[:0], &d)
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("spool the digests: %w", err)
		}
		size += int64(len(b))
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("spool the digests: %w", err)
	}
	p.size = size
	return nil
}

// digests waits for the listing to end and yields what it listed, or its
// error. It may be called more than once.
func (p *prelisting) digests(ctx context.Context) iter.Seq2[UserDigest, error] {
	return func(yield func(UserDigest, error) bool) {
		select {
		case <-p.done:
		case <-ctx.Done():
			yield(UserDigest{}, ctx.Err())
			return
		}
		if p.err != nil {
			yield(UserDigest{}, p.err)
			return
		}
		r := bufio.NewReaderSize(io.NewSectionReader(p.file, 0, p.size), 64<<10)
		for n := 1; ; n++ {
			d, err := readDigest(r)
			if err == io.EOF {
				return
			}
			if err == nil && n%ctxCheckEvery == 0 {
				err = ctx.Err()
			}
			if err != nil {
				yield(UserDigest{}, fmt.Errorf("read the spooled digests: %w", err))
				return
			}
			if !yield(d, nil) {
				return
			}
		}
	}
}

// Close stops the listing if it still runs, and removes its file.
func (p *prelisting) Close() error {
	p.cancel()
	<-p.done
	if p.file == nil {
		return nil
	}
	return errors.Join(p.file.Close(), os.Remove(p.file.Name()))
}

// A spooled digest is a flags byte (Known), the key's length as a uvarint,
// the key, and the two digests, little-endian.
const digestKnown = 1

func appendDigest(b []byte, d *UserDigest) []byte {
	var flags byte
	if d.Known {
		flags |= digestKnown
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(d.Key)))
	b = append(b, d.Key...)
	b = binary.LittleEndian.AppendUint64(b, uint64(d.Attrs))
	return binary.LittleEndian.AppendUint64(b, uint64(d.Groups))
}

// readDigest reads a digest appendDigest wrote; io.EOF at a clean end.
func readDigest(r *bufio.Reader) (UserDigest, error) {
	flags, err := r.ReadByte()
	if err != nil {
		return UserDigest{}, err // io.EOF: the end
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return UserDigest{}, noEOF(err)
	}
	var b []byte
	if size := int(n) + 16; size <= r.Size() {
		b, err = r.Peek(size)
		defer r.Discard(size)
	} else { // a key longer than the buffer
		b = make([]byte, size)
		_, err = io.ReadFull(r, b)
	}
	if err != nil {
		return UserDigest{}, noEOF(err)
	}
	return UserDigest{
		Key:    string(b[:n]),
		Attrs:  Digest(binary.LittleEndian.Uint64(b[n:])),
		Groups: Digest(binary.LittleEndian.Uint64(b[n+8:])),
		Known:  flags&digestKnown != 0,
	}, nil
}

// noEOF turns an end of file inside a digest into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
