package usersync

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"slices"
	"unsafe"
)

// A ChangeList is the changes of a [Plan], in the order they apply.
//
// A list made by [NewChangeList] or Append holds its changes in memory. A
// list made by a [ChangeWriter] (the default Reconciler's, through
// [Feed.ChangeWriter]) holds them in memory up to the run's share of its
// memory budget and the rest in a temporary file, read back as the list is
// ranged over: a first load of a million users plans a million creates,
// and holds an eighth of the budget's worth of them (32 MiB by default).
//
// A ChangeList is a value, like a slice: copies share their changes, and
// only one of them may Append. The zero ChangeList is empty and ready to
// use.
type ChangeList struct {
	segs   []changeSeg
	n      int
	counts Counts
}

// A changeSeg is a run of a list's changes: held in mem, or packed in a
// file at [off, off+size).
type changeSeg struct {
	mem       []Change
	file      *changeFile
	off, size int64
	n         int
	counts    Counts
	kept      bool // mem is a caller's slice: Append starts another segment
}

// NewChangeList returns a list of the changes, held in memory. The list
// keeps cs: the caller must not change it after.
func NewChangeList(cs ...Change) ChangeList {
	var l ChangeList
	l.keep(cs)
	return l
}

// keep adds cs at the end of the list as a segment of its own, without
// copying it.
func (l *ChangeList) keep(cs []Change) {
	if len(cs) == 0 {
		return
	}
	s := changeSeg{mem: cs, n: len(cs), kept: true}
	for i := range cs {
		s.counts.add(cs[i].Kind)
	}
	l.segs = append(l.segs, s)
	l.n += s.n
	l.counts.addAll(s.counts)
}

// appendChunk is how many changes Append puts in one segment before it
// starts another: a list of many changes grows a chunk at a time, rather
// than by copying all of them into a slice twice as large, which holds
// three times their memory for a moment.
const appendChunk = 4096

// Append adds the changes at the end of the list, in memory.
func (l *ChangeList) Append(cs ...Change) {
	if len(cs) == 0 {
		return
	}
	k := len(l.segs) - 1
	if k >= 0 && l.segs[k].file == nil && !l.segs[k].kept && len(l.segs[k].mem) < appendChunk {
		l.segs[k].mem = append(l.segs[k].mem, cs...)
	} else {
		l.segs = append(l.segs, changeSeg{mem: append([]Change(nil), cs...)})
		k++
	}
	s := &l.segs[k]
	s.n = len(s.mem)
	l.n += len(cs)
	for i := range cs {
		s.counts.add(cs[i].Kind)
		l.counts.add(cs[i].Kind)
	}
}

// Len returns the number of changes.
func (l ChangeList) Len() int { return l.n }

// All yields the changes in order. A list kept in a file can fail to read
// back: All then yields the error and stops.
func (l ChangeList) All() iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		for batch, err := range l.batches(256) {
			if err != nil {
				yield(Change{}, err)
				return
			}
			for i := range batch {
				if !yield(batch[i], nil) {
					return
				}
			}
		}
	}
}

// Collect returns the changes in a slice, all in memory. A list held in
// memory in one piece returns its own slice, as [bytes.Buffer.Bytes] does:
// changing it changes the list.
func (l ChangeList) Collect() ([]Change, error) {
	if len(l.segs) == 1 && l.segs[0].file == nil {
		return l.segs[0].mem, nil
	}
	out := make([]Change, 0, l.n)
	for c, err := range l.All() {
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// batches yields the changes in slices of at most size, in order: the
// slices of changes held in memory are the list's own, those read back
// from a file new for each batch, so that a Reporter may keep a *Change.
func (l ChangeList) batches(size int) iter.Seq2[[]Change, error] {
	return func(yield func([]Change, error) bool) {
		for _, s := range l.segs {
			if s.file == nil {
				for cs := s.mem; len(cs) > 0; cs = cs[min(size, len(cs)):] {
					if !yield(cs[:min(size, len(cs))], nil) {
						return
					}
				}
				continue
			}
			if !s.file.read(s, size, yield) {
				return
			}
		}
	}
}

// MarshalJSON encodes the changes as a JSON array, holding the encoding in
// memory; [Plan.WriteJSON] streams it instead.
func (l ChangeList) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := l.writeJSON(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeJSON writes the JSON array MarshalJSON gives to w, a change at a
// time.
func (l ChangeList) writeJSON(w io.Writer) error {
	sep := "["
	for c, err := range l.All() {
		if err != nil {
			return err
		}
		j, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		if _, err := w.Write(j); err != nil {
			return err
		}
		sep = ","
	}
	if sep == "[" {
		_, err := io.WriteString(w, "[]")
		return err
	}
	_, err := io.WriteString(w, "]")
	return err
}

// UnmarshalJSON decodes an array written by MarshalJSON into memory.
// Changes with attributes of the same names share one Layout.
func (l *ChangeList) UnmarshalJSON(b []byte) error {
	w := NewChangeWriter("", 0)
	if err := readChanges(json.NewDecoder(bytes.NewReader(b)), w); err != nil {
		return err
	}
	var err error
	*l, err = w.List()
	return err
}

// A ChangeWriter builds a [ChangeList] of many changes in bounded memory:
// it holds changes in memory until they take about its limit, and packs
// the rest into a temporary file. The file is removed from its directory
// as soon as it is made where the system allows (on Unix, say), and
// otherwise when the list is garbage: either way it is gone with the list.
type ChangeWriter struct {
	dir   string
	limit int64
	held  int64 // about how many bytes the changes in memory take
	list  ChangeList
	file  *changeFile
	w     *bufio.Writer
	seg   changeSeg // the file segment being written
	buf   []byte    // the change being packed
	user  []byte    // its user, packed
	err   error
}

// NewChangeWriter returns a writer that holds about limit bytes of changes
// in memory and packs the rest into a temporary file in dir ("" for the
// system's). A limit of 0 or less holds them all in memory.
func NewChangeWriter(dir string, limit int64) *ChangeWriter {
	return &ChangeWriter{dir: dir, limit: limit}
}

// ChangeWriter returns a writer that keeps changes within the run's memory
// budget (see Pipeline.MemoryBudget), and the rest in its TempDir. A
// Reconciler that plans many changes builds its plan with it.
func (f *Feed) ChangeWriter() *ChangeWriter {
	dir := ""
	if f.spool != nil {
		dir = f.spool.dir
	}
	return NewChangeWriter(dir, f.MemoryLimit())
}

// MemoryLimit returns how many bytes of records or changes a Reconciler
// should hold in memory at a time, beside what the feed itself holds: an
// eighth of the run's memory budget (see Pipeline.MemoryBudget). A writer
// from [Feed.ChangeWriter] holds that much; a Reconciler that holds rows
// or users while it plans keeps them to about as much, and reads the rest
// from the feed again, or from disk.
func (f *Feed) MemoryLimit() int64 {
	if f.spool != nil {
		return int64(f.spool.limit)
	}
	return DefaultMemoryBudget / 8
}

// ChangeWriters returns n writers that together keep about as much in
// memory as one from ChangeWriter: a Reconciler that lists changes in
// several runs, to join them after, builds each run with one.
func (f *Feed) ChangeWriters(n int) []*ChangeWriter {
	one := f.ChangeWriter()
	limit := one.limit
	if limit > 0 {
		limit = max(limit/int64(n), 1)
	}
	ws := make([]*ChangeWriter, n)
	for i := range ws {
		ws[i] = NewChangeWriter(one.dir, limit)
	}
	return ws
}

// Write adds c at the end of the list.
func (w *ChangeWriter) Write(c *Change) error {
	if w.err != nil {
		return w.err
	}
	if w.file == nil {
		size := heldSize(c)
		if w.limit <= 0 || w.held+size <= w.limit {
			w.held += size
			w.list.Append(*c)
			return nil
		}
		if w.err = w.create(); w.err != nil {
			return w.err
		}
	}
	w.buf, w.user = w.file.codec.packChange(w.buf[:0], w.user[:0], c)
	var n [binary.MaxVarintLen64]byte
	if _, err := w.w.Write(binary.AppendUvarint(n[:0], uint64(len(w.buf)))); err != nil {
		w.err = err
	} else if _, err := w.w.Write(w.buf); err != nil {
		w.err = err
	}
	if w.err != nil {
		w.err = fmt.Errorf("usersync: write the plan to disk: %w", w.err)
		return w.err
	}
	w.seg.size += int64(uvarintLen(len(w.buf)) + len(w.buf))
	w.seg.n++
	w.seg.counts.add(c.Kind)
	w.list.counts.add(c.Kind)
	w.list.n++
	return nil
}

// WriteSlice adds the changes of cs at the end of the list. Those it holds
// in memory it does not copy: the list keeps cs, and the caller must not
// change it after.
func (w *ChangeWriter) WriteSlice(cs []Change) error {
	n := 0
	if w.err == nil && w.file == nil {
		for n < len(cs) {
			size := heldSize(&cs[n])
			if w.limit > 0 && w.held+size > w.limit {
				break
			}
			w.held += size
			n++
		}
		w.list.keep(cs[:n])
	}
	for i := range cs[n:] {
		if err := w.Write(&cs[n+i]); err != nil {
			return err
		}
	}
	return w.err
}

// WriteList adds l's changes at the end of the list; those l keeps in a
// file stay there, and those it holds in memory are kept as they are, as
// far as the limit allows (see WriteSlice).
func (w *ChangeWriter) WriteList(l ChangeList) error {
	for _, s := range l.segs {
		if s.file == nil {
			if err := w.WriteSlice(s.mem); err != nil {
				return err
			}
			continue
		}
		if err := w.endSegment(); err != nil {
			return err
		}
		w.list.segs = append(w.list.segs, s)
		w.list.n += s.n
		w.list.counts.addAll(s.counts)
	}
	return nil
}

// List finishes the list and returns it; the writer is done.
func (w *ChangeWriter) List() (ChangeList, error) {
	if err := w.endSegment(); err != nil {
		return ChangeList{}, err
	}
	w.err = errors.New("usersync: ChangeWriter: List was called")
	return w.list, nil
}

// endSegment ends the file segment being written, if any: the changes
// after it come from another list.
func (w *ChangeWriter) endSegment() error {
	if w.err != nil {
		return w.err
	}
	if w.file == nil || w.seg.n == 0 {
		return nil
	}
	if err := w.w.Flush(); err != nil {
		w.err = fmt.Errorf("usersync: write the plan to disk: %w", err)
		return w.err
	}
	w.list.segs = append(w.list.segs, w.seg)
	w.seg = changeSeg{file: w.file, off: w.seg.off + w.seg.size}
	w.w.Reset(io.NewOffsetWriter(w.file.f, w.seg.off))
	return nil
}

// create makes the writer's file; the changes after go there.
func (w *ChangeWriter) create() error {
	f, err := os.CreateTemp(w.dir, "usersync-plan-*")
	if err != nil {
		return fmt.Errorf("usersync: write the plan to disk: %w", err)
	}
	cf := &changeFile{f: f}
	if os.Remove(f.Name()) != nil {
		// The system keeps open files' names (Windows): remove it when
		// the list is garbage.
		runtime.AddCleanup(cf, func(f *os.File) {
			name := f.Name()
			f.Close()
			os.Remove(name)
		}, f)
	}
	w.file = cf
	w.seg = changeSeg{file: cf}
	w.w = bufio.NewWriterSize(io.NewOffsetWriter(f, 0), 1<<16)
	return nil
}

// heldSize is about how many bytes c takes in memory: the Change and the
// text and slices it holds.
func heldSize(c *Change) int64 {
	const str = int64(unsafe.Sizeof(""))
	n := int64(unsafe.Sizeof(*c)) + int64(tailLen(&c.User)) + int64(len(c.Before.data))
	n += str * int64(len(c.User.Groups)+len(c.Attrs)+len(c.Join)+len(c.Leave))
	for _, s := range c.Attrs {
		n += int64(len(s))
	}
	return n
}

// A changeFile holds packed changes; its codec names their Layouts and
// files. Once written, it is only read, by any number of readers at once.
type changeFile struct {
	f     *os.File
	codec recordCodec
}

// read yields the changes of segment s in new slices of at most size; it
// returns false if yield asked to stop or an error was yielded.
func (cf *changeFile) read(s changeSeg, size int, yield func([]Change, error) bool) bool {
	r := bufio.NewReaderSize(io.NewSectionReader(cf.f, s.off, s.size), 1<<16)
	var body []byte
	for left := s.n; left > 0; {
		batch := make([]Change, 0, min(size, left))
		for len(batch) < cap(batch) {
			n, err := binary.ReadUvarint(r)
			if err == nil {
				body = slices.Grow(body[:0], int(n))[:n]
				_, err = io.ReadFull(r, body)
			}
			var c Change
			if err == nil {
				c, err = cf.codec.unpackChange(body)
			}
			if err != nil {
				yield(nil, fmt.Errorf("usersync: read the plan back from disk: %w", err))
				return false
			}
			batch = append(batch, c)
		}
		left -= len(batch)
		if !yield(batch, nil) {
			return false
		}
	}
	return true
}

// packChange appends c's body to b: kind, invitation, the user as pack
// packs a record (in user, which it returns for reuse), then the group,
// the old key, the reason, the attribute names, the joins and leaves, and
// the values before.
func (rc *recordCodec) packChange(b, user []byte, c *Change) ([]byte, []byte) {
	b = append(b, byte(c.Kind), byte(c.Invite))
	user = rc.pack(user, &c.User, 0)
	b = binary.AppendUvarint(b, uint64(len(user)))
	b = append(b, user...)
	for _, s := range [...]string{c.Group.ID, c.Group.Name, c.Group.Parent, c.Group.Account, c.OldKey, c.Reason} {
		b = appendString(b, s)
	}
	for _, l := range [...][]string{c.Attrs, c.Join, c.Leave} {
		b = appendStrings(b, l)
	}
	b = binary.AppendUvarint(b, uint64(rc.layoutID(c.Before.layout)))
	return appendString(b, c.Before.data), user
}

// appendStrings appends a list of strings: its length plus one (0 for a
// nil list), then each string.
func appendStrings(b []byte, l []string) []byte {
	if l == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(l))+1)
	for _, s := range l {
		b = appendString(b, s)
	}
	return b
}

// unpackChange decodes a body written by packChange. The strings outside
// the user share one allocation.
func (rc *recordCodec) unpackChange(b []byte) (Change, error) {
	if len(b) < 2 {
		return Change{}, errCorruptSpool
	}
	c := Change{Kind: ChangeKind(b[0]), Invite: Invite(b[1])}
	n, w := binary.Uvarint(b[2:])
	if w <= 0 || n > uint64(len(b)-2-w) {
		return c, errCorruptSpool
	}
	user := b[2+w : 2+w+int(n)]
	var err error
	if c.User, _, err = rc.unpack(user); err != nil {
		return c, err
	}
	d := packedText{s: string(b[2+w+int(n):])}
	for _, s := range [...]*string{&c.Group.ID, &c.Group.Name, &c.Group.Parent, &c.Group.Account, &c.OldKey, &c.Reason} {
		*s = d.str()
	}
	c.Attrs, c.Join, c.Leave = d.strs(), d.strs(), d.strs()
	layout, ok := rc.layout(d.uvarint())
	if c.Before.data = d.str(); c.Before.data != "" {
		c.Before.layout = layout
	}
	if d.bad || !ok || d.s != "" {
		return c, errCorruptSpool
	}
	return c, nil
}

// packedText reads what packChange wrote; bad is set, and zero values
// returned, once it runs short.
type packedText struct {
	s   string
	bad bool
}

func (d *packedText) uvarint() uint64 {
	var x uint64
	for i := 0; i < len(d.s) && i < binary.MaxVarintLen64; i++ {
		b := d.s[i]
		x |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			d.s = d.s[i+1:]
			return x
		}
	}
	d.bad, d.s = true, ""
	return 0
}

func (d *packedText) str() string {
	n := d.uvarint()
	if n > uint64(len(d.s)) {
		d.bad, d.s = true, ""
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

func (d *packedText) strs() []string {
	n := d.uvarint()
	if n == 0 || n-1 > uint64(len(d.s)) {
		return nil
	}
	l := make([]string, n-1)
	for i := range l {
		l[i] = d.str()
	}
	return l
}
