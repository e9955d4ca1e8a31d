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
		r := digestReader{r: io.NewSectionReader(p.file, 0, p.size)}
		for n := 1; ; n++ {
			d, err := r.next()
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

// A digestReader reads back what appendDigest wrote, a block of the file
// at a time: each block becomes one string, and the keys in it are
// substrings of it, so that a million keys cost a few hundred allocations
// rather than a million, and the collector little work. A key kept holds
// its block: a consumer that keeps many clones them (the default
// Reconciler clones those of the users it reads in full).
type digestReader struct {
	r     io.Reader
	block string
	off   int
	eof   bool
}

// digestBlock is how many bytes a digestReader reads at a time, at least.
const digestBlock = 64 << 10

// next returns the next digest; io.EOF at a clean end.
func (dr *digestReader) next() (UserDigest, error) {
	for {
		d, n, err := parseDigest(dr.block[dr.off:])
		if err != nil || n > 0 {
			dr.off += n
			return d, err
		}
		if dr.eof { // n == 0: what is left is not a whole digest
			if dr.off == len(dr.block) {
				return UserDigest{}, io.EOF
			}
			return UserDigest{}, io.ErrUnexpectedEOF
		}
		rest := dr.block[dr.off:]
		buf := make([]byte, max(digestBlock, 2*len(rest)))
		copy(buf, rest)
		m, err := io.ReadFull(dr.r, buf[len(rest):])
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			dr.eof = true
		case err != nil:
			return UserDigest{}, err
		}
		dr.block, dr.off = string(buf[:len(rest)+m]), 0
	}
}

// parseDigest parses the digest s starts with and returns its length, or
// 0 if s holds only part of one.
func parseDigest(s string) (UserDigest, int, error) {
	if len(s) < 2 {
		return UserDigest{}, 0, nil
	}
	flags := s[0]
	var klen uint64
	i := 1
	for shift := 0; ; shift += 7 {
		if i == len(s) {
			return UserDigest{}, 0, nil
		}
		if shift > 63 {
			return UserDigest{}, 0, errors.New("a key's length overflows")
		}
		c := s[i]
		i++
		klen |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	if klen > uint64(len(s)-i) || uint64(len(s)-i)-klen < 16 {
		return UserDigest{}, 0, nil
	}
	key := s[i : i+int(klen)]
	i += int(klen)
	return UserDigest{
		Key:    key,
		Attrs:  Digest(le64(s[i:])),
		Groups: Digest(le64(s[i+8:])),
		Known:  flags&digestKnown != 0,
	}, i + 16, nil
}

// le64 decodes 8 little-endian bytes.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
