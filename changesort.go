package usersync

import (
	"cmp"
	"errors"
	"iter"
	"slices"
)

// maxRuns is how many sorted runs of one size a ChangeSorter keeps before
// it merges them into one run of the next size, as a merge sort on tape
// does: a merge reads a batch of each run at a time, so the runs it merges
// at once bound what it holds, and each change is written again only once
// per size, a handful of times for the largest plans.
const maxRuns = 16

// A ChangeSorter gathers changes in any order and hands them to a
// [ChangeWriter] in the order of their users' keys, in bounded memory: it
// holds changes until they take about its limit, then sorts them and
// packs them into a temporary file as a sorted run, and merges the runs as
// it hands them over. Changes with the same key keep the order they were
// added in. A Reconciler that plans many changes of one kind, in no
// particular order, lists them with it: a nightly sync of millions of
// users whose titles all changed holds a limit's worth of its updates,
// not all of them.
//
// Like [bufio.Writer], a ChangeSorter keeps the first error it meets:
// every later call returns it.
type ChangeSorter struct {
	dir   string
	limit int64
	held  []Change
	size  int64 // about how many bytes held takes
	runs  []sortedRun
	n     int
	err   error
}

// A sortedRun is a run of changes in key order, on disk; its level is 0
// for a run spilled from memory, and one more than theirs for a run merged
// from maxRuns runs.
type sortedRun struct {
	list  ChangeList
	level int
}

// NewChangeSorter returns a sorter that holds about limit bytes of changes
// in memory and packs the rest into temporary files in dir ("" for the
// system's). A limit of 0 or less holds them all in memory.
func NewChangeSorter(dir string, limit int64) *ChangeSorter {
	return &ChangeSorter{dir: dir, limit: limit}
}

// ChangeSorters returns n sorters that together keep about as much in
// memory as one writer from [Feed.ChangeWriter]: a Reconciler that plans
// each kind of change apart takes one for each kind.
func (f *Feed) ChangeSorters(n int) []*ChangeSorter {
	ws := f.ChangeWriters(n)
	ss := make([]*ChangeSorter, n)
	for i, w := range ws {
		ss[i] = NewChangeSorter(w.dir, w.limit)
	}
	return ss
}

// Add adds c. The sorter keeps a copy of the Change, which shares its
// strings and slices with c.
func (s *ChangeSorter) Add(c *Change) error {
	if s.err != nil {
		return s.err
	}
	size := heldSize(c)
	if s.limit > 0 && len(s.held) > 0 && s.size+size > s.limit {
		if s.err = s.spill(); s.err != nil {
			return s.err
		}
	}
	s.held = append(s.held, *c)
	s.size += size
	s.n++
	return nil
}

// Len returns the number of changes added.
func (s *ChangeSorter) Len() int { return s.n }

// spill sorts the changes held and packs them into a file as a run; when
// the last maxRuns runs are of one level, it merges them into one of the
// next, and so on up. The runs' levels never rise along s.runs, and a merge
// takes runs side by side: so the earlier run's changes stay first.
func (s *ChangeSorter) spill() error {
	slices.SortStableFunc(s.held, byUserKey)
	run, err := s.pack(mergeRuns(nil, s.held))
	if err != nil {
		return err
	}
	clear(s.held) // the strings go with the run written
	s.held, s.size = s.held[:0], 0
	s.runs = append(s.runs, sortedRun{list: run})
	for n := len(s.runs); n >= maxRuns && s.runs[n-maxRuns].level == s.runs[n-1].level; n = len(s.runs) {
		tail := s.runs[n-maxRuns:]
		one, err := s.pack(mergeRuns(tail, nil))
		if err != nil {
			return err
		}
		s.runs = append(s.runs[:n-maxRuns], sortedRun{list: one, level: tail[0].level + 1})
	}
	return nil
}

// pack writes cs, a merge of sorted runs, to a list kept on disk from its
// first change.
func (s *ChangeSorter) pack(cs iter.Seq2[Change, error]) (ChangeList, error) {
	w := NewChangeWriter(s.dir, 1) // every change is larger than a byte
	for c, err := range cs {
		if err != nil {
			return ChangeList{}, err
		}
		if err := w.Write(&c); err != nil {
			return ChangeList{}, err
		}
	}
	return w.List()
}

// WriteSorted adds the changes of s to the end of the list, in key order;
// the sorter is done after. When s held every change in memory, the list
// keeps them as they are, without copying them.
func (w *ChangeWriter) WriteSorted(s *ChangeSorter) error {
	if s.err != nil {
		return s.err
	}
	s.err = errSorterDone
	slices.SortStableFunc(s.held, byUserKey)
	held := s.held
	s.held = nil
	if len(s.runs) == 0 {
		return w.WriteSlice(held)
	}
	for c, err := range mergeRuns(s.runs, held) {
		if err != nil {
			return err
		}
		if err := w.Write(&c); err != nil {
			return err
		}
	}
	return nil
}

// errSorterDone is the error of a ChangeSorter after WriteSorted.
var errSorterDone = errors.New("usersync: ChangeSorter: WriteSorted was called")

// byUserKey orders changes by their user's key.
func byUserKey(a, b Change) int { return cmp.Compare(a.User.Key, b.User.Key) }

// mergeRuns yields the changes of runs and then of last, each sorted by key,
// in key order; of changes with the same key, those of an earlier run
// come first.
func mergeRuns(runs []sortedRun, last []Change) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		h := make(runHeap, 0, len(runs)+1)
		for i, r := range runs {
			next, stop := iter.Pull2(r.list.All())
			defer stop()
			h = h.push(&runHead{next: next, order: i})
		}
		if len(last) > 0 {
			h = h.push(&runHead{next: sliceNext(last), order: len(runs)})
		}
		for len(h) > 0 {
			top := h[0]
			if top.err != nil {
				yield(Change{}, top.err)
				return
			}
			if !yield(top.c, nil) {
				return
			}
			if !top.pull() {
				h[0] = h[len(h)-1]
				h = h[:len(h)-1]
			}
			h.down(0)
		}
	}
}

// sliceNext returns a pull func over cs.
func sliceNext(cs []Change) func() (Change, error, bool) {
	return func() (Change, error, bool) {
		if len(cs) == 0 {
			return Change{}, nil, false
		}
		c := cs[0]
		cs = cs[1:]
		return c, nil, true
	}
}

// A runHead is the next change of a sorted run in a merge.
type runHead struct {
	next  func() (Change, error, bool)
	c     Change
	err   error
	order int // the run's place: of equal keys, the earlier run's first
}

// pull moves to the run's next change, or to its error; it returns false
// at the end of the run.
func (r *runHead) pull() bool {
	c, err, ok := r.next()
	r.c, r.err = c, err
	return ok || err != nil
}

// A runHeap is a min-heap of the runs being merged, by their next change.
type runHeap []*runHead

// less puts a failed run first, so that its error stops the merge.
func (h runHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	if (a.err != nil) != (b.err != nil) {
		return a.err != nil
	}
	if c := cmp.Compare(a.c.User.Key, b.c.User.Key); c != 0 {
		return c < 0
	}
	return a.order < b.order
}

// push adds r if it has a change, or an error, to give.
func (h runHeap) push(r *runHead) runHeap {
	if !r.pull() {
		return h
	}
	h = append(h, r)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

// down moves the run at i down to its place.
func (h runHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
