package oneroster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/usersync/usersync"
)

// A read is what a bundle's files gave: records by key (fragments merged
// into their users, as the Pipeline does), groups, row errors as strings.
type read struct {
	order   []string
	users   map[string]usersync.Record
	groups  map[string]usersync.Group
	rejects []string
	skipped map[string]int
}

// readBundle reads the files through a run of m, as the Pipeline would.
func readBundle(t *testing.T, m *Mapper, files map[string]string) (*read, error) {
	t.Helper()
	var infos []usersync.FileInfo
	for name, data := range files {
		infos = append(infos, usersync.FileInfo{Name: name, Size: int64(len(data))})
	}
	slices.SortFunc(infos, func(a, b usersync.FileInfo) int { return strings.Compare(a.Name, b.Name) })
	ordered, run, err := m.Begin(infos)
	if err != nil {
		return nil, err
	}
	out := &read{users: map[string]usersync.Record{}, groups: map[string]usersync.Group{}, skipped: map[string]int{}}
	var frags []usersync.Record
	for _, f := range ordered {
		out.order = append(out.order, f.Name)
		rr, err := run.NewReader(strings.NewReader(files[f.Name]), f)
		if err != nil {
			return out, fmt.Errorf("%s: %w", f.Name, err)
		}
		n := 0
		for {
			rec, err := rr.Read()
			if err == io.EOF {
				break
			}
			var re *usersync.RowError
			if errors.As(err, &re) {
				out.rejects = append(out.rejects, re.Error())
				continue
			}
			if err != nil {
				return out, fmt.Errorf("%s: %w", f.Name, err)
			}
			n++
			if rec.Fragment {
				frags = append(frags, rec)
				continue
			}
			if _, dup := out.users[rec.Key]; dup {
				t.Errorf("key %s twice", rec.Key)
			}
			out.users[rec.Key] = rec
		}
		if pr, ok := rr.(usersync.PartReader); n == 0 && !(ok && pr.Part()) {
			return out, fmt.Errorf("%s: %w", f.Name, usersync.ErrNoRecords)
		}
		if gr, ok := rr.(usersync.GroupReader); ok {
			for _, g := range gr.Groups() {
				out.groups[g.ID] = g
			}
		}
		if fr, ok := rr.(usersync.FormatReader); ok {
			out.skipped[f.Name] = fr.Format().Skipped
		}
	}
	for _, fr := range frags {
		u, ok := out.users[fr.Key]
		if !ok {
			t.Errorf("fragment %s:%d for %s, who has no record", fr.Origin.File, fr.Origin.Line, fr.Key)
			continue
		}
		u.Groups = append(slices.Clone(u.Groups), fr.Groups...)
		slices.Sort(u.Groups)
		u.Groups = slices.Compact(u.Groups)
		out.users[fr.Key] = u
	}
	return out, nil
}

// loadDir returns the files of a testdata folder.
func loadDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join("testdata", dir))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata", dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

func mustNew(t *testing.T, o *Options) *Mapper {
	t.Helper()
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// summary formats a user for comparison.
func summary(r usersync.Record) string {
	s := fmt.Sprintf("%s %v", r.Key, r.Groups)
	if r.Inactive {
		s += " inactive"
	}
	var attrs []string
	for n, v := range r.Attrs.All() {
		attrs = append(attrs, n+"="+v)
	}
	return s + " " + strings.Join(attrs, " ")
}

func sortedSummaries(users map[string]usersync.Record) []string {
	var out []string
	for _, u := range users {
		out = append(out, summary(u))
	}
	slices.Sort(out)
	return out
}

func checkLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\ngot  %s\nwant %s", what, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

func TestBulk11(t *testing.T) {
	r, err := readBundle(t, mustNew(t, nil), loadDir(t, "bulk-1.1"))
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, "order", r.order, []string{"manifest.csv", "orgs.csv", "classes.csv", "users.csv", "enrollments.csv", "academicSessions.csv", "courses.csv"})
	checkLines(t, "rejects", r.rejects, nil)
	checkLines(t, "users", sortedSummaries(r.users), []string{
		"u1 [k1 k2 s1] username=alee email=ann.lee@riverside.example given_name=Ann family_name=Lee middle_name= name=Ann Lee identifier=T100 role=teacher grades= phone= sms=",
		"u2 [k1 k2 s1] username=bortiz email=ben.ortiz@riverside.example given_name=Ben family_name=Ortiz middle_name=Jo name=Ben Ortiz identifier=S200 role=student grades=04 phone= sms=",
		"u3 [k1 s1] inactive username=cng email=cara.ng@riverside.example given_name=Cara family_name=Ng middle_name= name=Cara Ng identifier=S201 role=student grades=02 phone= sms=",
		"u4 [s1 s2] username=dortiz email=dan.ortiz@example.com given_name=Dan family_name=Ortiz middle_name= name=Dan Ortiz identifier= role=parent grades= phone= sms=",
		"u5 [d1] username=enovak email=eva.novak@riverside.example given_name=Eva family_name=Novak middle_name= name=Eva Novak identifier=A1 role=administrator grades= phone=+15550100 sms=",
	})
	checkGroups(t, r.groups)
}

func checkGroups(t *testing.T, groups map[string]usersync.Group) {
	t.Helper()
	var got []string
	for _, g := range groups {
		got = append(got, fmt.Sprintf("%s %q parent=%s", g.ID, g.Name, g.Parent))
	}
	slices.Sort(got)
	checkLines(t, "groups", got, []string{
		`d1 "Riverside District" parent=`,
		`k1 "Math 4A" parent=s1`,
		`k2 "Homeroom 4" parent=s1`,
		`s1 "Riverside Elementary" parent=d1`,
		`s2 "Riverside High" parent=d1`,
	})
}

func TestBulk12(t *testing.T) {
	r, err := readBundle(t, mustNew(t, nil), loadDir(t, "bulk-1.2"))
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, "order", r.order, []string{"manifest.csv", "orgs.csv", "classes.csv", "roles.csv", "users.csv", "enrollments.csv"})
	checkLines(t, "rejects", r.rejects, nil)
	checkLines(t, "users", sortedSummaries(r.users), []string{
		"u1 [k1 k2 s1] username=alee email=ann.lee@riverside.example given_name=Ann family_name=Lee middle_name= preferred_given_name=Annie preferred_family_name= name=Ann Lee identifier=T100 role=teacher grades= phone= sms=",
		"u2 [k1 k2 s1] username=bortiz email=ben.ortiz@riverside.example given_name=Ben family_name=Ortiz middle_name=Jo preferred_given_name= preferred_family_name= name=Ben Ortiz identifier=S200 role=student grades=04 phone= sms=",
		"u3 [k1 s1] inactive username=cng email=cara.ng@riverside.example given_name=Cara family_name=Ng middle_name= preferred_given_name= preferred_family_name= name=Cara Ng identifier=S201 role=student grades=02 phone= sms=",
		"u4 [s1 s2] username=dortiz email=dan.ortiz@example.com given_name=Dan family_name=Ortiz middle_name= preferred_given_name= preferred_family_name= name=Dan Ortiz identifier= role=parent grades= phone= sms=",
		"u5 [d1 s2] username=enovak email=eva.novak@riverside.example given_name=Eva family_name=Novak middle_name= preferred_given_name= preferred_family_name= name=Eva Novak identifier=A1 role=districtAdministrator grades= phone=+15550100 sms=",
	})
	checkGroups(t, r.groups)
}

func TestStaffOnlyKeyedByUsername(t *testing.T) {
	for _, dir := range []string{"bulk-1.1", "bulk-1.2"} {
		t.Run(dir, func(t *testing.T) {
			m := mustNew(t, &Options{Key: "username", Roles: StaffRoles(), Attrs: []string{"name", "email", "role"}, OrgPrefix: "org:", ClassPrefix: "class:"})
			r, err := readBundle(t, m, loadDir(t, dir))
			if err != nil {
				t.Fatal(err)
			}
			checkLines(t, "rejects", r.rejects, nil)
			admin := "administrator"
			if dir == "bulk-1.2" {
				admin = "districtAdministrator"
			}
			groups := "[org:d1]"
			if dir == "bulk-1.2" {
				groups = "[org:d1 org:s2]"
			}
			checkLines(t, "users", sortedSummaries(r.users), []string{
				"alee [class:k1 class:k2 org:s1] email=ann.lee@riverside.example name=Ann Lee role=teacher",
				"enovak " + groups + " email=eva.novak@riverside.example name=Eva Novak role=" + admin,
			})
			// Students and parents are out of scope: skipped, as are the
			// students' enrollments.
			if r.skipped["users.csv"] != 3 || r.skipped["enrollments.csv"] != 3 {
				t.Errorf("skipped %v, want 3 users and 3 enrollments", r.skipped)
			}
			if g := r.groups["class:k1"]; g.Parent != "org:s1" || g.Name != "Math 4A" {
				t.Errorf("class group %+v", g)
			}
		})
	}
}

// Students and staff with attributes of their own.
func TestRoleAttrs(t *testing.T) {
	m := mustNew(t, &Options{
		Attrs:     []string{"name", "email", "role"},
		RoleAttrs: map[string][]string{"student": {"name", "grades"}},
		Roles:     []string{"student", "teacher"},
	})
	r, err := readBundle(t, m, loadDir(t, "bulk-1.1"))
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, "users", sortedSummaries(r.users), []string{
		"u1 [k1 k2 s1] email=ann.lee@riverside.example name=Ann Lee role=teacher",
		"u2 [k1 k2 s1] name=Ben Ortiz grades=04",
		"u3 [k1 s1] inactive name=Cara Ng grades=02",
	})
	if _, err := New(&Options{RoleAttrs: map[string][]string{"student": {"locker"}}}); err == nil {
		t.Error("RoleAttrs locker accepted")
	}
}

func TestDelta(t *testing.T) {
	r, err := readBundle(t, mustNew(t, &Options{Delta: true}), loadDir(t, "delta-1.1"))
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, "rejects", r.rejects, nil)
	// A delta says nothing of memberships (Groups nil); a tobedeleted user
	// is an inactive record without attributes.
	checkLines(t, "users", sortedSummaries(r.users), []string{
		"u2 [] username=bortiz email=ben.ortiz-lee@riverside.example given_name=Ben family_name=Ortiz-Lee middle_name=Jo name=Ben Ortiz-Lee identifier=S200 role=student grades=05 phone= sms=",
		"u4 [] inactive ",
		"u6 [] username=fkaur email=farah.kaur@riverside.example given_name=Farah family_name=Kaur middle_name= name=Farah Kaur identifier=T101 role=teacher grades= phone= sms=",
	})
	for _, u := range r.users {
		if u.Groups != nil {
			t.Errorf("%s: Groups %v in a delta, want nil", u.Key, u.Groups)
		}
	}
}

// A 1.2 delta: roles.csv gives the roles of the users it lists; a user
// whose role it does not give has no role attribute.
func TestDelta12(t *testing.T) {
	files := map[string]string{
		"manifest.csv": "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.users,delta\nfile.roles,delta\nfile.orgs,absent\n",
		"roles.csv": "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\n" +
			"r2,active,2025-11-21T02:00:00Z,u2,primary,student,,,s1,\n" +
			"r4,tobedeleted,2025-11-21T02:00:00Z,u4,primary,parent,,,s1,\n",
		"users.csv": "sourcedId,status,dateLastModified,enabledUser,username,givenName,familyName,email\n" +
			"u2,active,2025-11-21T02:00:00Z,true,bortiz,Ben,Ortiz,ben@riverside.example\n" +
			"u4,tobedeleted,2025-11-21T02:00:00Z,,,,,\n" +
			"u6,active,2025-11-21T02:00:00Z,true,fkaur,Farah,Kaur,\n",
	}
	r, err := readBundle(t, mustNew(t, &Options{Delta: true, Attrs: []string{"name", "role"}}), files)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, "rejects", r.rejects, nil)
	checkLines(t, "users", sortedSummaries(r.users), []string{
		"u2 [] name=Ben Ortiz role=student",
		"u4 [] inactive ",
		"u6 [] name=Farah Kaur",
	})
	// With a role filter, a user whose role the delta does not say is
	// left alone.
	r, err = readBundle(t, mustNew(t, &Options{Delta: true, Roles: StudentRoles()}), files)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.users["u6"]; ok || r.skipped["users.csv"] != 1 {
		t.Errorf("u6 in scope (skipped %v)", r.skipped)
	}
}

func TestModeMustFollowManifest(t *testing.T) {
	_, err := readBundle(t, mustNew(t, nil), loadDir(t, "delta-1.1"))
	if !errors.Is(err, ErrMode) || !strings.Contains(err.Error(), "file.users is delta") {
		t.Errorf("delta bundle in a bulk sync: %v, want ErrMode", err)
	}
	_, err = readBundle(t, mustNew(t, &Options{Delta: true}), loadDir(t, "bulk-1.1"))
	if !errors.Is(err, ErrMode) {
		t.Errorf("bulk bundle in a delta sync: %v, want ErrMode", err)
	}
	files := loadDir(t, "delta-1.1")
	files["manifest.csv"] = strings.Replace(files["manifest.csv"], "file.enrollments,absent", "file.enrollments,delta", 1)
	files["enrollments.csv"] = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role\n"
	_, err = readBundle(t, mustNew(t, &Options{Delta: true}), files)
	if !errors.Is(err, ErrMode) || !strings.Contains(err.Error(), "enrollments") {
		t.Errorf("delta enrollments: %v, want ErrMode naming enrollments", err)
	}
}

func TestManifestAgreesWithFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(map[string]string)
		want string
	}{
		{"no manifest", func(f map[string]string) { delete(f, "manifest.csv") }, "no manifest.csv"},
		{"missing file", func(f map[string]string) { delete(f, "classes.csv") }, "file.classes is bulk, and classes.csv is not in the bundle"},
		{"absent file present", func(f map[string]string) { f["demographics.csv"] = "sourcedId\n" }, "file.demographics is absent, yet demographics.csv is in the bundle"},
		{"unknown file", func(f map[string]string) { f["notes.txt"] = "hi" }, "notes.txt is not a file of a OneRoster bundle"},
		{"bad mode", func(f map[string]string) {
			f["manifest.csv"] = strings.Replace(f["manifest.csv"], "file.orgs,bulk", "file.orgs,full", 1)
		}, `file.orgs is "full"`},
		{"no version", func(f map[string]string) {
			f["manifest.csv"] = strings.Replace(f["manifest.csv"], "oneroster.version,1.1\n", "", 1)
		}, "oneroster.version is missing"},
		{"unknown version", func(f map[string]string) {
			f["manifest.csv"] = strings.Replace(f["manifest.csv"], "oneroster.version,1.1", "oneroster.version,2.0", 1)
		}, `oneroster.version "2.0"`},
		{"users absent", func(f map[string]string) {
			f["manifest.csv"] = strings.Replace(f["manifest.csv"], "file.users,bulk", "file.users,absent", 1)
			delete(f, "users.csv")
		}, "file.users is absent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := loadDir(t, "bulk-1.1")
			tc.edit(files)
			_, err := readBundle(t, mustNew(t, nil), files)
			if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrManifest with %q", err, tc.want)
			}
		})
	}
}

// Files are known by their base names, in any case, with the suffixes of
// encryption and compression, in one folder (a zip's, for one).
func TestFileNames(t *testing.T) {
	files := map[string]string{}
	for name, data := range loadDir(t, "bulk-1.1") {
		switch name {
		case "users.csv":
			name = "Users.CSV.pgp"
		case "orgs.csv":
			name = "orgs.csv.gz"
		}
		files["bundle.zip/"+name] = data
	}
	r, err := readBundle(t, mustNew(t, nil), files)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.users) != 5 || len(r.groups) != 5 {
		t.Errorf("%d users, %d groups", len(r.users), len(r.groups))
	}
	for _, tc := range []struct {
		files map[string]string
		want  string
	}{
		{map[string]string{"a/manifest.csv": "", "b/users.csv": ""}, "a/manifest.csv and b/users.csv are in different folders"},
		{map[string]string{"manifest.csv": "", "MANIFEST.csv": ""}, "MANIFEST.csv and manifest.csv are the same file"},
		{map[string]string{"bundle.zip": "", "users.csv": ""}, "bundle.zip is a zip among other files"},
	} {
		if _, err := readBundle(t, mustNew(t, nil), tc.files); !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

func TestRowErrors(t *testing.T) {
	files := loadDir(t, "bulk-1.1")
	files["classes.csv"] += "k3,,,Art,04,c1,ART,scheduled,,s9,t1,,,\n" // line 4
	files["users.csv"] += strings.Join([]string{
		",,,true,s1,student,nokey,,No,Key,,,,,,,,",                // 7: no sourcedId
		"u7,,,true,s1,janitor,gjones,,Gil,Jones,,,,,,,,",          // 8: unknown role
		"u8,,,true,s9,teacher,hkim,,Hana,Kim,,,,,,,,",             // 9: unknown org
		"u9,,,maybe,s1,teacher,ipark,,Ian,Park,,,,,,,,",           // 10: enabledUser
		"u10,,,true,s1,teacher,,,Jo,Bell,,,,,,,,",                 // 11: no username
		"u11,,,true,s1,teacher,kli,,Kai,Li,,,kai at example,,,,,", // 12: email
	}, "\n") + "\n"
	files["enrollments.csv"] += strings.Join([]string{
		"e6,,,k9,s1,u1,teacher,true,,", // 7: unknown class
		"e7,,,k1,s1,u99,student,,,",    // 8: unknown user
		"e8,,,k1,s9,u2,student,,,",     // 9: unknown school
		"e9,,,k1,s1,u2,pupil,,,",       // 10: unknown role
		"e10,,,k1,s1,u7,student,,,",    // 11: a rejected user: skipped
	}, "\n") + "\n"
	r, err := readBundle(t, mustNew(t, nil), files)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, "rejects", r.rejects, []string{
		`classes.csv:4: column schoolSourcedId: "s9": unknown reference: no org s9 in orgs.csv`,
		`users.csv:7: column sourcedId: required value missing`,
		`users.csv:8: column role: "janitor": unknown role: janitor is not a role of OneRoster 1.1 (administrator, aide, guardian, parent, proctor, relative, student, teacher)`,
		`users.csv:9: column orgSourcedIds: "s9": unknown reference: no org s9 in orgs.csv`,
		`users.csv:10: column enabledUser: "maybe": invalid value: enabledUser is true or false`,
		`users.csv:11: column username: required value missing`,
		`users.csv:12: column email: "kai at example": invalid value: not an email address`,
		`enrollments.csv:7: column classSourcedId: "k9": unknown reference: no class k9 in classes.csv`,
		`enrollments.csv:8: column userSourcedId: "u99": unknown reference: no user u99 in users.csv`,
		`enrollments.csv:9: column schoolSourcedId: "s9": unknown reference: no org s9 in orgs.csv`,
		`enrollments.csv:10: column role: "pupil": unknown role: an enrollment's role is one of administrator, proctor, student, teacher`,
	})
	if len(r.users) != 5 {
		t.Errorf("%d users, want the 5 good ones", len(r.users))
	}
}

func TestRowErrors12(t *testing.T) {
	files := loadDir(t, "bulk-1.2")
	files["roles.csv"] += "r8,,,u99,primary,teacher,,,s1,\n" + // 9: no such user
		"r9,,,u1,main,teacher,,,s1,\n" + // 10: roleType
		"r10,,,u1,secondary,janitor,,,s1,\n" + // 11: role
		"r11,,,u1,secondary,aide,,,s9,\n" // 12: org
	files["users.csv"] += "u12,,,true,lmoss,,Lou,Moss,,,,,,,,,,,,,,,\n" // 7: no role
	r, err := readBundle(t, mustNew(t, nil), files)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, "rejects", r.rejects, []string{
		`roles.csv:10: column roleType: "main": invalid value: roleType is primary or secondary`,
		`roles.csv:11: column role: "janitor": unknown role: janitor is not a role of OneRoster 1.2 (aide, counselor, districtAdministrator, guardian, parent, principal, proctor, relative, siteAdministrator, student, systemAdministrator, teacher)`,
		`roles.csv:12: column orgSourcedId: "s9": unknown reference: no org s9 in orgs.csv`,
		`users.csv:7: column sourcedId: "u12": required value missing: the user has no role in roles.csv`,
		`roles.csv:9: column userSourcedId: unknown reference: no user with this sourcedId in users.csv`,
	})
}

func TestMissingColumnFailsFile(t *testing.T) {
	files := loadDir(t, "bulk-1.1")
	files["users.csv"] = "sourcedId,enabledUser,orgSourcedIds,role,username,givenName\nu1,true,s1,teacher,alee,Ann\n"
	_, err := readBundle(t, mustNew(t, nil), files)
	if !errors.Is(err, ErrRequired) || !strings.Contains(err.Error(), "users.csv: required value missing: the header lacks column familyName") {
		t.Errorf("got %v", err)
	}
}

func TestRowTooLong(t *testing.T) {
	files := loadDir(t, "bulk-1.1")
	files["users.csv"] += strings.Repeat("x", 5000)
	_, err := readBundle(t, mustNew(t, &Options{MaxRecordBytes: 4096}), files)
	if !errors.Is(err, ErrRecordTooLong) {
		t.Errorf("got %v, want ErrRecordTooLong", err)
	}
}

func TestOptions(t *testing.T) {
	if _, err := New(&Options{Key: "uuid"}); err == nil {
		t.Error("Key uuid accepted")
	}
	if _, err := New(&Options{Attrs: []string{"shoe_size"}}); err == nil {
		t.Error("Attrs shoe_size accepted")
	}
	m := mustNew(t, nil)
	if _, err := m.NewReader(strings.NewReader(""), usersync.FileInfo{Name: "users.csv"}); !errors.Is(err, ErrNotBegun) {
		t.Errorf("NewReader without Begin: %v", err)
	}
}
