package report_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/usersync/usersync"
)

// The Results of this file are made by hand, one per status, as a Pipeline
// would make them. The values of private attributes hold "PII" (mail, which
// the golden tests mark private, and password, private by name), so tests
// can check that no report shows one; names and titles are shown.

const pii = "PII"

func started() time.Time { return time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC) }

func user(key string) usersync.Record {
	return usersync.Record{
		Key: key,
		Attrs: usersync.NewAttrs("name", "Ann Andersson", "mail", pii+".ann@example.com", "title", "Sales lead",
			"password", pii+"-hunter2"),
	}
}

// changes returns n changes of kind, for users with keys from prefix.
func changes(kind usersync.ChangeKind, prefix string, n int) []usersync.Change {
	cs := make([]usersync.Change, n)
	for i := range cs {
		cs[i] = usersync.Change{Kind: kind, User: user(fmt.Sprintf("%s%03d", prefix, i+1))}
		switch kind {
		case usersync.CreateGroup:
			cs[i] = usersync.Change{Kind: kind, Group: usersync.Group{ID: fmt.Sprintf("G%d", i+1), Name: "Sales"}}
		case usersync.CreateUser:
			cs[i].Join = []string{"G1"}
		case usersync.UpdateUser:
			cs[i].Attrs, cs[i].Leave = []string{"title", "mail", "password"}, []string{"G7"}
			cs[i].Before = usersync.NewAttrs("title", "Engineer", "mail", pii+".old@example.com", "password", pii+"-old")
		}
	}
	return cs
}

func plan(unchanged int, parts ...[]usersync.Change) *usersync.Plan {
	p := &usersync.Plan{Unchanged: unchanged, Population: 1000}
	for _, cs := range parts {
		p.Changes.Append(cs...)
	}
	return p
}

func usersCSV() usersync.FileResult {
	return usersync.FileResult{
		FileInfo: usersync.FileInfo{Name: "users.csv", Size: 4812},
		Bytes:    4812,
		SHA256:   sha256.Sum256([]byte("users.csv")),
		Format: usersync.Format{Encoding: "UTF-8 with BOM", Delimiter: ';', Skipped: 2,
			Columns: []string{"UniqueID", "Name", "Mail", "Title", "Groups", "Skip"}},
		Records:  46,
		Rejected: 1,
	}
}

func badMail() *usersync.RowError {
	return &usersync.RowError{File: "users.csv", Line: 14, Column: "Mail", Value: "ann.andersson(at)example",
		Err: errors.New("not an email address")}
}

func succeeded() *usersync.Result {
	p := plan(40,
		changes(usersync.CreateGroup, "", 1),
		changes(usersync.CreateUser, "E1", 3),
		changes(usersync.UpdateUser, "E2", 2),
		changes(usersync.DeactivateUser, "E3", 1))
	return &usersync.Result{
		Status:        usersync.Succeeded,
		Started:       started(),
		Finished:      started().Add(4200 * time.Millisecond),
		Files:         []usersync.FileResult{usersCSV()},
		Rejected:      []*usersync.RowError{badMail()},
		RejectedTotal: 1,
		Plan:          p,
		Applied:       usersync.Counts{GroupsCreated: 1, Created: 3, Updated: 2, Deactivated: 1},
	}
}

func partlyFailed() *usersync.Result {
	p := plan(40,
		changes(usersync.CreateGroup, "", 1),
		changes(usersync.CreateUser, "E1", 3),
		changes(usersync.UpdateUser, "E2", 4),
		changes(usersync.DeactivateUser, "E3", 1))
	cs, _ := p.Changes.Collect() // in memory: no error
	failed := []*usersync.ChangeError{
		{Change: cs[3], Err: errors.New("email address already used by a user created by hand")},
		{Change: cs[5], Err: errors.New("user is locked")},
	}
	pupils := usersync.FileResult{
		FileInfo: usersync.FileInfo{Name: "pupils.csv", Size: 1920},
		Bytes:    1920,
		SHA256:   sha256.Sum256([]byte("pupils.csv")),
		// A PGP key's user ID and fingerprint, as pgpdecrypt names it.
		DecryptedBy: "Acme HR <hr@acme.example> 0x4D5E6F708192A3B4",
		Format: usersync.Format{Encoding: "UTF-16LE", Delimiter: '\t',
			Warnings: []string{`unknown column "Fax" ignored`}},
		Records: 12,
	}
	return &usersync.Result{
		Status:        usersync.PartlyFailed,
		Started:       started(),
		Finished:      started().Add(83 * time.Second),
		Files:         []usersync.FileResult{usersCSV(), pupils},
		Rejected:      []*usersync.RowError{badMail()},
		RejectedTotal: 1,
		Plan:          p,
		Applied:       usersync.Counts{GroupsCreated: 1, Created: 2, Updated: 3, Deactivated: 1},
		Failed:        failed,
		Err:           fmt.Errorf("%w: 2 of 9 changes failed, first: %v", usersync.ErrChangesFailed, failed[0]),
	}
}

func held() *usersync.Result {
	p := plan(40,
		changes(usersync.CreateUser, "E1", 3),
		changes(usersync.DeactivateUser, "E3", 250))
	p.Hold = &usersync.GuardError{Guard: "deactivations and deletions", Count: 250, Population: 1000,
		Limit: "10% of 1000 (100)"}
	return &usersync.Result{
		Status:        usersync.Held,
		Started:       started(),
		Finished:      started().Add(2500 * time.Millisecond),
		Files:         []usersync.FileResult{usersCSV()},
		Rejected:      []*usersync.RowError{badMail()},
		RejectedTotal: 1,
		Plan:          p,
		Err:           p.Hold,
	}
}

// failedFile is a run that stopped on a truncated file.
func failedFile() *usersync.Result {
	f := usersCSV()
	f.Bytes, f.Records, f.Rejected, f.Format, f.SHA256 = 2048, 20, 0, usersync.Format{}, [32]byte{}
	f.Err = &usersync.FileError{Op: "verify", File: "users.csv",
		Err: fmt.Errorf("%w: read 2048 bytes, the source announced 4812", usersync.ErrIntegrity)}
	return &usersync.Result{
		Status:   usersync.Failed,
		Started:  started(),
		Finished: started().Add(350 * time.Millisecond),
		Files:    []usersync.FileResult{f},
		Err:      f.Err,
	}
}

// failedApply is a run whose every change the Sink refused.
func failedApply() *usersync.Result {
	p := plan(40, changes(usersync.CreateUser, "E1", 3))
	var failed []*usersync.ChangeError
	for c := range p.Changes.All() {
		failed = append(failed, &usersync.ChangeError{Change: c, Err: errors.New("directory service unavailable")})
	}
	return &usersync.Result{
		Status:        usersync.Failed,
		Started:       started(),
		Finished:      started().Add(1200 * time.Millisecond),
		Files:         []usersync.FileResult{usersCSV()},
		Rejected:      []*usersync.RowError{badMail()},
		RejectedTotal: 1,
		Plan:          p,
		Failed:        failed,
		Err:           fmt.Errorf("%w: 3 of 3 changes failed, first: %v", usersync.ErrChangesFailed, failed[0]),
	}
}

func nothingToDo() *usersync.Result {
	return &usersync.Result{
		Status:   usersync.NothingToDo,
		Started:  started(),
		Finished: started().Add(40 * time.Millisecond),
	}
}

func dryRun() *usersync.Result {
	p := plan(40,
		changes(usersync.CreateUser, "E1", 2),
		changes(usersync.DeleteUser, "E4", 1))
	p.Manual = 2
	return &usersync.Result{
		Status:        usersync.Planned,
		Started:       started(),
		Finished:      started().Add(900 * time.Millisecond),
		Files:         []usersync.FileResult{usersCSV()},
		Rejected:      []*usersync.RowError{badMail()},
		RejectedTotal: 1,
		Plan:          p,
	}
}
