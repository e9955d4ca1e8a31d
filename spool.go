package usersync

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
)

// A spool keeps the records of a run under a memory limit. Records are
// packed into a chunk of bytes; a full chunk is sorted by key and written to
// a temporary file as a sorted run, in the background while the next chunk
// fills; reading them back merges the runs. So a file of any size costs
// two chunks of memory and its size in disk, and a file that fails costs
// only disk, which Close gives back.
//
// A spool is used by one goroutine (the one reading the files), besides
// the writer it starts itself.
type spool struct {
	dir   string // for the temporary file; "" for the system's
	limit int    // bytes of packed records in one chunk
	codec recordCodec

	cur, spare *chunk
	writing    chan error // the write in flight, or nil
	f          *os.File   // the sorted runs, one after the other
	size       int64
	runs       []section
	n          int // users added
	nfrag      int // fragments added (see Record.Fragment)
	scratch    []byte
	err        error // the first write error
}

// A chunk is packed records in arrival order, with an index to sort them.
type chunk struct {
	buf  []byte
	ents []entry
}

// An entry locates one packed record in a chunk: the record is
// buf[off:end], its key buf[key:key+klen].
type entry struct{ off, end, key, klen uint32 }

type section struct{ off, n int64 }

func newSpool(dir string, limit int) *spool {
	return &spool{
		dir: dir, limit: min(max(limit, 1<<16), maxChunk),
		cur: &chunk{},
	}
}

// Len returns the number of records added, not counting fragments.
func (s *spool) Len() int { return s.n }

// add packs r, the next record in file order.
func (s *spool) add(r *Record) error {
	if s.err != nil {
		return s.err
	}
	seq := s.n
	if r.Fragment {
		seq = s.nfrag
	}
	body := s.codec.pack(s.scratch[:0], r, seq)
	s.scratch = body
	c := s.cur
	if c.buf == nil {
		// One allocation of the whole chunk: memory the kernel gives as
		// zero pages, counted in RSS only as records fill it, and never
		// copied to grow.
		c.buf = make([]byte, 0, s.limit)
		if c.ents == nil {
			c.ents = make([]entry, 0, s.limit/128) // rows of 128 bytes or more
		}
	}
	if len(c.buf) > 0 && len(c.buf)+len(body)+binary.MaxVarintLen64 > cap(c.buf) {
		if err := s.flush(); err != nil {
			return err
		}
		c = s.cur
	}
	off := len(c.buf)
	c.buf = binary.AppendUvarint(c.buf, uint64(len(body)))
	start := len(c.buf)
	c.buf = append(c.buf, body...)
	key := start + len(body) - tailLen(r)
	c.ents = append(c.ents, entry{off: uint32(off), end: uint32(len(c.buf)), key: uint32(key), klen: uint32(len(r.Key))})
	if r.Fragment {
		s.nfrag++
	} else {
		s.n++
	}
	return nil
}

// maxChunk keeps offsets within uint32.
const maxChunk = 1 << 31

// A recordCodec packs records into bytes and back, numbering the Layouts
// and file names it meets so that a packed record names them in a byte or
// two. What one codec packed only it can unpack.
type recordCodec struct {
	layouts   []*Layout
	layoutIDs map[*Layout]int
	files     []string
	fileIDs   map[string]int
}

// pack appends r's body: seq, layout, file, line, flags, marker, the
// lengths, then the key, the attributes and the groups, so that one
// string holds all of a decoded record's text. The spool numbers users
// and fragments apart: a user's seq is its place among the users.
func (rc *recordCodec) pack(b []byte, r *Record, seq int) []byte {
	b = binary.AppendUvarint(b, uint64(seq))
	b = binary.AppendUvarint(b, uint64(rc.layoutID(r.Attrs.layout)))
	b = binary.AppendUvarint(b, uint64(rc.fileID(r.Origin.File)))
	b = binary.AppendUvarint(b, uint64(r.Origin.Line))
	var flags byte
	if r.Inactive {
		flags |= 1
	}
	if r.Managed {
		flags |= 2
	}
	if r.Groups != nil {
		flags |= 4
	}
	if r.Fragment {
		flags |= 8
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(r.MissingRuns))
	b = binary.AppendVarint(b, r.MissingSince)
	b = binary.AppendUvarint(b, uint64(len(r.Key)))
	b = binary.AppendUvarint(b, uint64(len(r.Attrs.data)))
	b = binary.AppendUvarint(b, uint64(len(r.Groups)))
	b = append(b, r.Key...)
	b = append(b, r.Attrs.data...)
	for _, g := range r.Groups {
		b = appendString(b, g)
	}
	return b
}

// tailLen is the length of what pack writes after the key.
func tailLen(r *Record) int {
	n := len(r.Key) + len(r.Attrs.data)
	for _, g := range r.Groups {
		n += uvarintLen(len(g)) + len(g)
	}
	return n
}

func (rc *recordCodec) layoutID(l *Layout) int {
	id, ok := rc.layoutIDs[l]
	if !ok {
		if rc.layoutIDs == nil {
			rc.layoutIDs = make(map[*Layout]int)
		}
		id = len(rc.layouts)
		rc.layouts = append(rc.layouts, l)
		rc.layoutIDs[l] = id
	}
	return id
}

func (rc *recordCodec) fileID(name string) int {
	id, ok := rc.fileIDs[name]
	if !ok {
		if rc.fileIDs == nil {
			rc.fileIDs = make(map[string]int)
		}
		id = len(rc.files)
		rc.files = append(rc.files, name)
		rc.fileIDs[name] = id
	}
	return id
}

// layout returns the Layout of id, or false if the codec numbered none.
func (rc *recordCodec) layout(id uint64) (*Layout, bool) {
	if id >= uint64(len(rc.layouts)) {
		return nil, false
	}
	return rc.layouts[id], true
}

// unpack decodes a body written by pack. The record's strings share one
// allocation.
func (rc *recordCodec) unpack(b []byte) (Record, int, error) {
	var r Record
	v, b, err := parseHeader(b)
	if err != nil {
		return r, 0, err
	}
	seq, layout, file, line, flags := int(v[hSeq]), v[hLayout], v[hFile], int(v[hLine]), v[hFlags]
	klen, alen, ngroups := int(v[hKeyLen]), int(v[hAttrsLen]), int(v[hGroups])
	l, ok := rc.layout(layout)
	if !ok || file >= uint64(len(rc.files)) {
		return r, 0, errCorruptSpool
	}
	text := string(b)
	r.Key = text[:klen]
	r.Attrs = Attrs{layout: l, data: text[klen : klen+alen]}
	if r.Attrs.data == "" {
		r.Attrs.layout = nil
	}
	r.Inactive, r.Managed, r.Fragment = flags&1 != 0, flags&2 != 0, flags&8 != 0
	r.MissingRuns, r.MissingSince = uint16(v[hMissingRuns]), int64(v[hMissingSince])
	r.Origin = Position{File: rc.files[file], Line: line}
	if flags&4 != 0 {
		r.Groups = make([]string, ngroups)
		rest := text[klen+alen:]
		for i := range r.Groups {
			n, w := uvarint(rest)
			if w <= 0 || w+n > len(rest) {
				return r, 0, errCorruptSpool
			}
			r.Groups[i], rest = rest[w:w+n], rest[w+n:]
		}
	}
	return r, seq, nil
}

// The fields of a packed record's header, in the order pack writes them.
const (
	hSeq = iota
	hLayout
	hFile
	hLine
	hFlags
	hMissingRuns
	hMissingSince
	hKeyLen
	hAttrsLen
	hGroups
	nHeader
)

// parseHeader splits a packed body into its header and its text.
func parseHeader(b []byte) (v [nHeader]uint64, text []byte, err error) {
	for i := range v {
		switch i {
		case hFlags:
			if len(b) == 0 {
				return v, nil, errCorruptSpool
			}
			v[i], b = uint64(b[0]), b[1:]
		case hMissingSince:
			x, w := binary.Varint(b)
			if w <= 0 {
				return v, nil, errCorruptSpool
			}
			v[i], b = uint64(x), b[w:]
		default:
			x, w := binary.Uvarint(b)
			if w <= 0 {
				return v, nil, errCorruptSpool
			}
			v[i], b = x, b[w:]
		}
	}
	if v[hKeyLen]+v[hAttrsLen] > uint64(len(b)) {
		return v, nil, errCorruptSpool
	}
	return v, b, nil
}

var errCorruptSpool = errors.New("usersync: corrupt record spool")

// flush sorts the current chunk and writes it as a run, in the background.
func (s *spool) flush() error {
	if err := s.wait(); err != nil {
		return err
	}
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, "usersync-spool-*")
		if err != nil {
			s.err = fmt.Errorf("usersync: spool records to disk: %w", err)
			return s.err
		}
		s.f = f
	}
	c := s.cur
	run := section{off: s.size, n: int64(len(c.buf))}
	s.size += run.n
	s.runs = append(s.runs, run)
	done := make(chan error, 1)
	s.writing = done
	go func() { done <- writeRun(s.f, run.off, c) }()
	s.cur = s.spare
	if s.cur == nil {
		s.cur = &chunk{ents: make([]entry, 0, cap(c.ents))}
	}
	s.spare = c
	return nil
}

// wait waits for the write in flight, and makes its chunk the spare.
func (s *spool) wait() error {
	if s.writing != nil {
		if err := <-s.writing; err != nil && s.err == nil {
			s.err = fmt.Errorf("usersync: spool records to disk: %w", err)
		}
		s.writing = nil
		if s.spare != nil {
			s.spare.buf, s.spare.ents = s.spare.buf[:0], s.spare.ents[:0]
		}
	}
	return s.err
}

// writeRun writes c's records to f at off, sorted.
func writeRun(f *os.File, off int64, c *chunk) error {
	c.sort()
	w := bufio.NewWriterSize(io.NewOffsetWriter(f, off), 1<<16)
	for _, e := range c.ents {
		if _, err := w.Write(c.buf[e.off:e.end]); err != nil {
			return err
		}
	}
	return w.Flush()
}

// sort orders the entries by key; equal keys keep arrival order.
func (c *chunk) sort() {
	buf := c.buf
	slices.SortFunc(c.ents, func(a, b entry) int {
		return cmp.Or(bytes.Compare(buf[a.key:a.key+a.klen], buf[b.key:b.key+b.klen]), cmp.Compare(a.off, b.off))
	})
}

// Close removes the temporary file. The spool cannot be read after.
func (s *spool) Close() error {
	s.wait()
	s.cur, s.spare = nil, nil
	if s.f == nil {
		return nil
	}
	name := s.f.Name()
	err := s.f.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	s.f = nil
	return err
}

// sorted yields every record in order of key, equal keys in arrival order,
// with its arrival index; fragments too, which [joinFragments] merges.
func (s *spool) sorted(ctx context.Context) iter.Seq2[FeedRecord, error] {
	return func(yield func(FeedRecord, error) bool) {
		if err := s.wait(); err != nil {
			yield(FeedRecord{}, err)
			return
		}
		if len(s.runs) > 0 && len(s.cur.ents) > 0 {
			// Runs are on disk already: the last chunk joins them, so that
			// the merge holds no chunk while the plan grows (at 5M users,
			// 36 MB of a 114 MB peak of live heap).
			err := s.flush()
			if err == nil {
				err = s.wait()
			}
			if err != nil {
				yield(FeedRecord{}, err)
				return
			}
			s.cur = &chunk{}
		}
		// Reading back needs no second chunk: let the plan have its memory.
		s.spare = nil
		s.cur.sort()
		m := &merger{s: s}
		if err := m.init(); err != nil {
			yield(FeedRecord{}, err)
			return
		}
		for n := 0; m.Len() > 0; n++ {
			if n%4096 == 4095 && ctx.Err() != nil {
				yield(FeedRecord{}, ctx.Err())
				return
			}
			c := m.cursors[0]
			r, seq, err := s.codec.unpack(c.body)
			if err == nil {
				err = c.next()
			}
			if err != nil {
				yield(FeedRecord{}, err)
				return
			}
			if c.body == nil {
				heap.Pop(m)
			} else {
				heap.Fix(m, 0)
			}
			if !yield(FeedRecord{Index: seq, Record: r}, nil) {
				return
			}
		}
	}
}

// A merger is a heap of cursors, one per sorted run and one for the chunk
// in memory, ordered by their current record.
type merger struct {
	s       *spool
	cursors []*cursor
}

func (m *merger) init() error {
	for _, run := range m.s.runs {
		c := &cursor{r: bufio.NewReaderSize(io.NewSectionReader(m.s.f, run.off, run.n), 1<<16)}
		if err := c.next(); err != nil {
			return err
		}
		if c.body != nil {
			m.cursors = append(m.cursors, c)
		}
	}
	if len(m.s.cur.ents) > 0 {
		c := &cursor{mem: m.s.cur}
		if err := c.next(); err != nil {
			return err
		}
		m.cursors = append(m.cursors, c)
	}
	heap.Init(m)
	return nil
}

func (m *merger) Len() int      { return len(m.cursors) }
func (m *merger) Swap(i, j int) { m.cursors[i], m.cursors[j] = m.cursors[j], m.cursors[i] }
func (m *merger) Push(x any)    { m.cursors = append(m.cursors, x.(*cursor)) }
func (m *merger) Pop() any {
	c := m.cursors[len(m.cursors)-1]
	m.cursors = m.cursors[:len(m.cursors)-1]
	return c
}
func (m *merger) Less(i, j int) bool {
	a, b := m.cursors[i], m.cursors[j]
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}

// A cursor reads one sorted run, from the file or from the chunk in
// memory: body is its current record (nil at the end), key and seq that
// record's.
type cursor struct {
	r    *bufio.Reader
	mem  *chunk
	i    int
	buf  []byte
	body []byte
	key  []byte
	seq  uint64
}

func (c *cursor) next() error {
	c.body, c.key = nil, nil
	if c.mem != nil {
		if c.i == len(c.mem.ents) {
			return nil
		}
		e := c.mem.ents[c.i]
		c.i++
		_, w := binary.Uvarint(c.mem.buf[e.off:])
		c.body = c.mem.buf[int(e.off)+w : e.end]
	} else {
		n, err := binary.ReadUvarint(c.r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		c.buf = slices.Grow(c.buf[:0], int(n))[:n]
		if _, err := io.ReadFull(c.r, c.buf); err != nil {
			return err
		}
		c.body = c.buf
	}
	return c.parseKey()
}

// parseKey finds the current record's seq and key, as pack wrote them.
func (c *cursor) parseKey() error {
	v, text, err := parseHeader(c.body)
	if err != nil {
		return err
	}
	c.seq, c.key = v[hSeq], text[:v[hKeyLen]]
	return nil
}

// A FeedRecord is a record of a [Feed] with its place in the feed.
type FeedRecord struct {
	// Index is the record's place in file order, counting from 0 across
	// the run's files: records are in the order the files listed them.
	Index int
	Record
}
