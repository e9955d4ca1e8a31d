package usersync

import (
	"cmp"
	"fmt"
	"iter"
	"slices"
	"strings"
)

// related is what the Pipeline learns of a run's related files: the groups
// files, the users files, and the fragments it rejected.
type related struct {
	userFiles  []string // files that gave users
	groupFiles []string // files that list groups and give no records
	// listed holds the IDs of the groups the groups files list, sorted
	// and once each when listedSorted is set: a slice, not a map, as a
	// school district's bundle lists hundreds of thousands of classes.
	listed       []string
	listedSorted bool
	dropped      map[int]bool // seq of each rejected fragment
}

// A GroupLinker is a [Lister] of a Sink that stores each group's
// [Group.Parent] and [Group.Account], and lists them. A Reconciler plans a
// change of them only when the Lister it is given links groups: a Sink
// that does not store them would otherwise be told to change them at every
// run. On such a Sink, CreateGroup and RenameGroup set them too (see
// [ChangeKind]).
//
// LinksGroups reports whether the Sink does: a Lister that wraps another
// implements GroupLinker and passes the question on.
type GroupLinker interface {
	Lister
	LinksGroups() bool
}

// LinksGroups reports whether l is a [GroupLinker] whose LinksGroups
// returns true.
func LinksGroups(l Lister) bool {
	gl, ok := l.(GroupLinker)
	return ok && gl.LinksGroups()
}

// A ReferenceError is why a row of a related file was rejected: it refers
// to a user or a group that the run's files do not hold. The [RowError]
// that wraps it names the row; the ReferenceError names the files that
// should have held what it refers to.
type ReferenceError struct {
	Kind  string   // "user" or "group"
	ID    string   // the user's key or the group's ID
	Files []string // the users files, or the groups files, of the run
}

func (e *ReferenceError) Error() string {
	what := "users file"
	if e.Kind == "group" {
		what = "groups file"
	}
	switch len(e.Files) {
	case 0:
		return fmt.Sprintf("%s %q: the run has no %s", e.Kind, e.ID, what)
	case 1:
		return fmt.Sprintf("%s %q is not in the %s %s", e.Kind, e.ID, what, e.Files[0])
	}
	return fmt.Sprintf("%s %q is in none of the %ss %s", e.Kind, e.ID, what, strings.Join(e.Files, ", "))
}

// joinFragments merges each fragment's groups into the first record of its
// key, and yields the records alone (see [Feed.Sorted]). seq yields records
// in order of key; dropped holds the seq of the fragments to leave out.
// It holds the records and fragments of one key at a time.
func joinFragments(seq iter.Seq2[FeedRecord, error], dropped map[int]bool) iter.Seq2[FeedRecord, error] {
	return func(yield func(FeedRecord, error) bool) {
		var (
			key   string
			users []FeedRecord
			extra []string
		)
		flush := func() bool {
			for i := range users {
				u := &users[i]
				switch {
				case i == 0 && len(extra) > 0:
					g := append(slices.Clip(u.Groups), extra...)
					slices.Sort(g)
					u.Groups = slices.Compact(g)
				case u.Groups == nil:
					u.Groups = []string{}
				}
				if !yield(*u, nil) {
					return false
				}
			}
			users, extra = users[:0], extra[:0]
			return true
		}
		for r, err := range seq {
			if err != nil {
				yield(FeedRecord{}, err)
				return
			}
			if r.Key != key {
				if !flush() {
					return
				}
				key = r.Key
			}
			if !r.Fragment {
				users = append(users, r)
			} else if !dropped[r.Index] {
				extra = append(extra, r.Groups...)
			}
		}
		flush()
	}
}

// fileRelated notes what one file was: a users file if it gave users, a
// groups file if it listed groups and gave no records.
func (rel *related) fileRelated(name string, users int, fr *FileResult, groups []Group) {
	if users > 0 {
		rel.userFiles = append(rel.userFiles, name)
	}
	if fr.Records == 0 && len(groups) > 0 {
		rel.groupFiles = append(rel.groupFiles, name)
		for _, g := range groups {
			rel.listed = append(rel.listed, g.ID)
		}
		rel.listedSorted = false
	}
}

// lists reports whether the groups files list a group with the ID.
func (rel *related) lists(id string) bool {
	if !rel.listedSorted {
		slices.Sort(rel.listed)
		rel.listed = slices.Clip(slices.Compact(rel.listed))
		rel.listedSorted = true
	}
	_, ok := slices.BinarySearch(rel.listed, id)
	return ok
}

// checkRelated rejects the fragments whose user no file of the run holds,
// or that name a group the run's groups files do not list, in one pass over
// the sorted feed: each is a rejected row of its file, and is left out of
// the feed.
func (r *run) checkRelated(feed *Feed) error {
	rel := &feed.related
	defer func() { rel.listed = nil }() // checked: the plan does not need them
	if feed.spool.nfrag == 0 {
		return nil
	}
	var (
		key      string
		user     bool
		frags    []FeedRecord
		rejected []*RowError // in key order, reported in file order
	)
	reject := func(fr FeedRecord, err *ReferenceError) {
		re := &RowError{File: fr.Origin.File, Line: fr.Origin.Line, Err: err}
		if user {
			re.Key = fr.Key // the user is in the feed anyway
		}
		if rel.dropped == nil {
			rel.dropped = make(map[int]bool)
		}
		rel.dropped[fr.Index] = true
		rejected = append(rejected, re)
		for i := range r.res.Files {
			if f := &r.res.Files[i]; f.Name == re.File {
				f.Fragments--
			}
		}
	}
	check := func() {
		for _, fr := range frags {
			if !user {
				reject(fr, &ReferenceError{Kind: "user", ID: fr.Key, Files: rel.userFiles})
				continue
			}
			if rel.groupFiles == nil {
				continue
			}
			for _, g := range fr.Groups {
				if !rel.lists(g) {
					reject(fr, &ReferenceError{Kind: "group", ID: g, Files: rel.groupFiles})
					break
				}
			}
		}
		frags, user = frags[:0], false
	}
	for rec, err := range feed.spool.sorted(r.ctx) {
		if err != nil {
			return err
		}
		if rec.Key != key {
			check()
			key = rec.Key
		}
		if rec.Fragment {
			frags = append(frags, rec)
		} else {
			user = true
		}
	}
	check()
	slices.SortFunc(rejected, func(a, b *RowError) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	for _, re := range rejected {
		feed.Rejected = append(feed.Rejected, re)
		r.countRejectedByPlan(re)
	}
	return nil
}
