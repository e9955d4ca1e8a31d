package reconcile

import (
	"fmt"
	"path"
	"slices"

	"github.com/usersync/usersync"
)

// accounts is what a run knows of Policy.Accounts: which account each file
// feeds, which accounts' files arrived, and which rows are one user.
type accounts struct {
	byFile map[string]string // file name -> account group
	all    map[string]bool   // every account group
	active map[string]bool   // account groups whose file arrived
	more   map[int32][]int32 // first row of a user -> its rows in other files
}

// newAccounts links each of the feed's files to the first account whose
// pattern matches its name, and fails for a file that no account takes.
func newAccounts(policy []Account, feed *usersync.Feed) (*accounts, error) {
	a := &accounts{
		byFile: make(map[string]string),
		all:    make(map[string]bool),
		active: make(map[string]bool),
		more:   make(map[int32][]int32),
	}
	for _, acc := range policy {
		a.all[acc.Group] = true
	}
	for _, name := range feedFiles(feed) {
		i := slices.IndexFunc(policy, func(acc Account) bool {
			ok, _ := path.Match(acc.File, name)
			if !ok { // a file of an archive, "bundle.zip/school-a.csv", matches by its own name too
				ok, _ = path.Match(acc.File, path.Base(name))
			}
			return ok
		})
		if i < 0 {
			return nil, fmt.Errorf("reconcile: file %s belongs to no account of Policy.Accounts", name)
		}
		a.byFile[name] = policy[i].Group
		a.active[policy[i].Group] = true
	}
	return a, nil
}

// feedFiles returns the names of the feed's files that give users:
// Feed.Files (an archive's files rather than the archive, as records name
// them), or for a feed made by hand without them, the files its records
// name.
func feedFiles(feed *usersync.Feed) []string {
	var names []string
	for _, f := range feed.Files {
		files := []usersync.FileResult{f}
		if f.Members != nil {
			files = f.Members
		}
		for _, f := range files {
			if f.Fragments == f.Records && (f.Records > 0 || f.Groups > 0) {
				continue // a memberships or groups file: no account's users
			}
			names = append(names, f.Name)
		}
	}
	if names != nil {
		return names
	}
	seen := make(map[string]bool)
	for i := range feed.Records {
		if f := feed.Records[i].Origin.File; !seen[f] && !feed.Records[i].Fragment {
			seen[f] = true
			names = append(names, f)
		}
	}
	return names
}

// sameFileTwice reports whether two of the rows come from one file.
func (a *accounts) sameFileTwice(recs []usersync.Record, rows []int32) bool {
	files := make(map[string]bool, len(rows))
	for _, i := range rows {
		f := recs[i].Origin.File
		if files[f] {
			return true
		}
		files[f] = true
	}
	return false
}

// merge makes rows, from different accounts' files, one user: the first row
// gives the attributes, and a later row that disagrees gets a warning.
func (pl *planner) merge(rows []int32) {
	first := rows[0]
	pl.acct.more[first] = rows[1:]
	f := &pl.recs[first]
	for _, i := range rows[1:] {
		pl.state[i] = merged
		if r := &pl.recs[i]; !r.Attrs.Equal(f.Attrs) || r.Inactive != f.Inactive {
			pl.warnings.add(&pl.recs[i], "", "", fmt.Errorf("%w: %s is used", ErrRowsDiffer, f.Origin))
		}
	}
}

// memberships returns the groups that the rows of the user whose first row
// is d, held as row i, make the user join and leave: the account of each
// file that lists the user, and the groups the rows' groups column names.
// A user leaves the accounts whose files arrived without them; the groups
// column, when there is one, decides the other groups. In delta mode
// nobody leaves an account.
func (a *accounts) memberships(pl *planner, d *usersync.Record, i int32, have []string) (join, leave []string) {
	want := a.want(nil, d)
	said := d.Groups != nil
	for _, r := range a.more[i] { // none for a row not held (i is -1), which is its user's only row
		want = a.want(want, &pl.recs[r])
		said = said || pl.recs[r].Groups != nil
	}
	join, leave = diffSorted(want, have)
	delta := pl.policy.Mode == Delta
	leave = slices.DeleteFunc(leave, func(g string) bool {
		switch {
		case a.all[g]:
			return delta || !a.active[g] // an account whose file did not arrive is kept
		default:
			return !said
		}
	})
	if len(leave) == 0 {
		leave = nil
	}
	return join, leave
}

// want adds to the sorted set want the groups row rec puts its user in:
// the account of its file, and the groups it names.
func (a *accounts) want(want []string, rec *usersync.Record) []string {
	want = insertSorted(want, a.byFile[rec.Origin.File])
	for _, g := range rec.Groups {
		want = insertSorted(want, g)
	}
	return want
}

// inSilentAccount reports whether u belongs to an account whose file did not
// arrive: such a user is not absent.
func (a *accounts) inSilentAccount(u *usersync.Record) bool {
	for _, g := range u.Groups {
		if a.all[g] && !a.active[g] {
			return true
		}
	}
	return false
}

// insertSorted adds s to the sorted set set.
func insertSorted(set []string, s string) []string {
	i, found := slices.BinarySearch(set, s)
	if found {
		return set
	}
	return slices.Insert(set, i, s)
}
