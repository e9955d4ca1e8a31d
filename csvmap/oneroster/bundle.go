package oneroster

import (
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"

	"github.com/usersync/usersync"
)

// Modes of a file in the manifest.
const (
	bulk   = "bulk"
	delta  = "delta"
	absent = "absent"
)

// A bundle is the state of one run: what the manifest said and what the
// files read so far hold that the next ones refer to.
type bundle struct {
	m       *Mapper
	listed  map[string]string // spec name ("users") -> the file's name in the run
	version string            // "1.0", "1.1" or "1.2"
	modes   map[string]string // spec name -> bulk, delta or absent

	orgs      map[string]bool     // org sourcedIds of orgs.csv
	orgGroups map[string]string   // org sourcedId -> its group ID, one string for every class of the org
	classes   map[uint64]struct{} // hashes of classes.csv's sourcedIds (the group ID is ClassPrefix and it)
	roles     roleIndex           // 1.2: roles.csv by user
	users     userIndex           // users.csv by sourcedId
	seed      maphash.Seed
}

// hash returns the hash of a sourcedId that the indexes hold.
func (b *bundle) hash(id string) uint64 { return maphash.String(b.seed, id) }

// readsEnrollments reports whether the run reads enrollments.csv.
func (b *bundle) readsEnrollments() bool {
	return b.listed["enrollments"] != "" && !b.m.opts.NoEnrollments
}

// forget drops the indexes of users and classes once the last file that
// refers to them is read (enrollments.csv, or users.csv when the run reads
// no enrollments): the run still has its plan to make, and a district's
// million users and hundreds of thousands of classes would hold tens of
// MB to the end of it.
func (b *bundle) forget() {
	b.users, b.roles, b.classes = userIndex{}, roleIndex{}, nil
}

var _ usersync.Mapper = (*bundle)(nil)

// NewReader reads one file of the bundle.
func (b *bundle) NewReader(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	name, _ := specName(f.Name)
	if name == "manifest" {
		if b.modes != nil {
			return nil, fmt.Errorf("%w: read twice in one run", ErrManifest)
		}
		return b.readManifest(r, f)
	}
	if b.modes == nil {
		return nil, fmt.Errorf("%w: %s read before manifest.csv", ErrManifest, f.Name)
	}
	if b.listed[name] != f.Name {
		return nil, fmt.Errorf("%w: %s was not among the files the run began with", ErrManifest, f.Name)
	}
	switch {
	case name == "orgs":
		return b.readOrgs(r, f)
	case name == "classes":
		return b.readClasses(r, f)
	case name == "roles" && b.version == "1.2":
		return b.readRoles(r, f)
	case name == "users":
		return b.readUsers(r, f)
	case name == "enrollments" && !b.m.opts.NoEnrollments:
		return b.readEnrollments(r, f)
	}
	return partReader{}, nil
}

// bulk reports whether the bundle holds the whole of the named file, so
// that a reference to it can be checked.
func (b *bundle) bulk(name string) bool { return b.modes[name] == bulk }

// readManifest reads manifest.csv and checks it against the files listed
// and the sync's mode.
func (b *bundle) readManifest(r io.Reader, f usersync.FileInfo) (usersync.RecordReader, error) {
	t, err := openTable(r, f, b.m.opts.MaxRecordBytes, "propertyName", "value")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	props := make(map[string]string)
	for {
		err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrManifest, err)
		}
		p := t.get("propertyName")
		if _, dup := props[p]; dup {
			return nil, fmt.Errorf("%w: line %d: property %s appears twice", ErrManifest, t.line, p)
		}
		props[p] = t.get("value")
	}
	bad := func(format string, args ...any) (usersync.RecordReader, error) {
		return nil, fmt.Errorf("%w: %s", ErrManifest, fmt.Sprintf(format, args...))
	}
	if props["manifest.version"] == "" {
		return bad("manifest.version is missing (1.0)")
	}
	v := props["oneroster.version"]
	switch {
	case v == "1.0", v == "1.1":
	case v == "1.2", strings.HasPrefix(v, "1.2."):
		v = "1.2"
	case v == "":
		return bad("oneroster.version is missing (1.1 or 1.2)")
	default:
		return bad("oneroster.version %q: this reader knows 1.0, 1.1 and 1.2", v)
	}
	b.version = v
	b.modes = make(map[string]string)
	for p, val := range props {
		name, ok := strings.CutPrefix(p, "file.")
		if !ok {
			continue
		}
		mode := strings.ToLower(val)
		if mode != bulk && mode != delta && mode != absent {
			return bad("%s is %q: bulk, delta or absent", p, val)
		}
		b.modes[name] = mode
	}
	// Each listed file must be declared present, each declared file listed.
	for name, file := range b.listed {
		if name == "manifest" {
			continue
		}
		switch b.modes[name] {
		case bulk, delta:
		case absent:
			return bad("file.%s is absent, yet %s is in the bundle", name, file)
		default:
			return bad("file.%s is missing, yet %s is in the bundle", name, file)
		}
	}
	names := make([]string, 0, len(b.modes))
	for name := range b.modes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if mode := b.modes[name]; mode != absent && b.listed[name] == "" {
			return bad("file.%s is %s, and %s.csv is not in the bundle: an incomplete bundle is not applied", name, mode, name)
		}
	}
	if b.modes["users"] == absent || b.modes["users"] == "" {
		return bad("file.users is absent: a bundle without users.csv has no users to sync")
	}
	if err := b.checkMode(); err != nil {
		return nil, err
	}
	return partReader{}, nil
}

// checkMode checks the manifest's modes against the sync's: the files that
// make users must be in the sync's mode.
func (b *bundle) checkMode() error {
	want, run := bulk, "bulk (a snapshot)"
	if b.m.opts.Delta {
		want, run = delta, "delta"
	}
	userFiles := []string{"users"}
	if b.version == "1.2" {
		userFiles = append(userFiles, "roles")
	}
	for _, name := range userFiles {
		if mode := b.modes[name]; mode != absent && mode != "" && mode != want {
			return fmt.Errorf("%w: manifest.csv says file.%s is %s, and the sync runs in %s: set the Reconciler's mode and the Mapper's Options.Delta to the bundle's", ErrMode, name, mode, run)
		}
	}
	if b.modes["roles"] != bulk && b.version == "1.2" && !b.m.opts.Delta {
		return fmt.Errorf("%w: file.roles is %s: a 1.2 bulk bundle needs roles.csv for its users' roles", ErrManifest, b.modes["roles"])
	}
	if mode := b.modes["enrollments"]; b.m.opts.Delta && !b.m.opts.NoEnrollments && mode != absent && mode != "" {
		return fmt.Errorf("%w: file.enrollments is %s in a delta run: usersync lists a user's groups in full, so class memberships come from bulk bundles; send delta bundles without enrollments.csv, or set Options.NoEnrollments", ErrMode, mode)
	}
	return nil
}

// A partReader reads a file of the bundle that feeds no user, such as
// manifest.csv (read by NewReader) or courses.csv: the Pipeline reads it to
// its end (and hashes it), and it holds no users.
type partReader struct{}

func (partReader) Read() (usersync.Record, error) { return usersync.Record{}, io.EOF }
func (partReader) Part() bool                     { return true }
