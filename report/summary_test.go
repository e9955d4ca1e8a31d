package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/internal/synctest"
	"github.com/usersync/usersync/report"
)

func TestSummaryCounts(t *testing.T) {
	s := report.NewSummary(partlyFailed(), nil)
	require.NotNil(t, s.Counts.Planned)
	assert.Equal(t, usersync.Counts{GroupsCreated: 1, Created: 3, Updated: 4, Deactivated: 1, Unchanged: 40},
		*s.Counts.Planned)
	assert.Equal(t, usersync.Counts{GroupsCreated: 1, Created: 2, Updated: 3, Deactivated: 1, Unchanged: 40},
		s.Counts.Applied, "Unchanged filled in from the plan")
	assert.Equal(t, report.Counts{Planned: s.Counts.Planned, Applied: s.Counts.Applied, Failed: 2, Records: 58,
		Rejected: 1, Skipped: 2, Population: 1000}, s.Counts)

	s = report.NewSummary(held(), nil)
	assert.Equal(t, usersync.Counts{}, s.Counts.Applied, "a held run applied nothing")
	assert.Equal(t, 250, s.Counts.Planned.Deactivated)

	s = report.NewSummary(failedFile(), nil)
	assert.Nil(t, s.Counts.Planned, "no plan was made")
	assert.Empty(t, s.Files[0].SHA256, "a failed file has no hash")
	assert.Equal(t, "verify users.csv: integrity check failed: read 2048 bytes, the source announced 4812",
		s.Files[0].Error)
}

// TestSummaryCanceled checks the outcome of each change of a run canceled
// while applying: the first ones applied, the rest not attempted.
func TestSummaryCanceled(t *testing.T) {
	r := succeeded()
	r.Status = usersync.PartlyFailed
	r.Applied = usersync.Counts{GroupsCreated: 1, Created: 2}
	r.Err = fmt.Errorf("apply stopped after 3 of 7 changes: %w", context.Canceled)
	s := report.NewSummary(r, nil)
	assert.Equal(t, 4, s.Counts.NotAttempted)
	var outcomes []report.Outcome
	for _, l := range s.Changes {
		for _, c := range l.Items {
			outcomes = append(outcomes, c.Outcome)
		}
	}
	assert.Equal(t, []report.Outcome{report.OutcomeApplied, report.OutcomeApplied, report.OutcomeApplied,
		report.OutcomeNotAttempted, report.OutcomeNotAttempted, report.OutcomeNotAttempted,
		report.OutcomeNotAttempted}, outcomes)
	text := render(t, s, renderers[0].write)
	assert.Contains(t, text, "\n  Not attempted    4\n")
	assert.Contains(t, text, "\nCreated (2 of 3)\n  Ann Andersson (E1001): joins G1\n  Ann Andersson (E1002): joins G1\n  Ann Andersson (E1003): joins G1 — not attempted\n")
}

func TestSummaryCaps(t *testing.T) {
	r := failedApply()
	r.Plan = plan(0, changes(usersync.UpdateUser, "E", 23), changes(usersync.DeleteUser, "D", 2))
	r.Failed = nil
	for _, c := range synctest.Changes(t, r.Plan)[:23] {
		r.Failed = append(r.Failed, &usersync.ChangeError{Change: c, Err: errors.New("timeout")})
	}
	r.Rejected = nil
	for i := range 25 {
		r.Rejected = append(r.Rejected, &usersync.RowError{File: "users.csv", Line: i + 2, Err: usersync.ErrDuplicateKey})
	}
	r.RejectedTotal = 1234

	s := report.NewSummary(r, &report.Options{MaxListed: 5})
	require.Len(t, s.Changes, 2)
	assert.Equal(t, 23, s.Changes[0].Total)
	assert.Len(t, s.Changes[0].Items, 5)
	assert.Equal(t, 18, s.Changes[0].More())
	assert.Len(t, s.Changes[1].Items, 2, "each kind has its own cap: the deletes are listed too")
	assert.Equal(t, 23, s.Failed.Total)
	assert.Len(t, s.Failed.Items, 5)
	assert.Equal(t, 1234, s.Rejected.Total)
	assert.Len(t, s.Rejected.Items, 5)

	text := render(t, report.NewSummary(r, nil), renderers[0].write)
	assert.Contains(t, text, "Failed changes (23)\n")
	assert.Contains(t, text, "  update E020: timeout\n  and 3 more\n")
	assert.NotContains(t, text, "update E021")
	assert.Contains(t, text, "Rejected rows (1234)\n")
	assert.Contains(t, text, "  users.csv:21: duplicate key\n  and 1214 more\n")
	assert.Regexp(t, `\n  Rejected rows +1234\n`, text)
}

// TestSummaryRedacts checks that secrets and URL passwords never reach a
// summary, whichever error carries them.
func TestSummaryRedacts(t *testing.T) {
	const secret, passphrase = "hunter2-Pa55", "correct horse battery"
	leak := func(what string) error {
		return fmt.Errorf("%s: dial sftp://acme:%s@sftp.example.com:22/out with key passphrase %q", what, secret, passphrase)
	}
	r := partlyFailed()
	r.Err = leak("run")
	r.Files[0].FinishErr = leak("archive")
	r.Failed[0].Err = leak("sink")
	r.Rejected[0].Err = leak("row")
	r.ReportErrors = []error{leak("history")}
	r.Files = append(r.Files, usersync.FileResult{FileInfo: usersync.FileInfo{Name: "x.csv"}, Err: leak("file")})

	s := report.NewSummary(r, &report.Options{Secrets: []string{passphrase, "", secret}})
	for _, rd := range renderers {
		out := render(t, s, rd.write)
		assert.NotContains(t, out, secret, rd.ext)
		assert.NotContains(t, out, passphrase, rd.ext)
	}
	assert.Contains(t, s.Error, "sftp://acme:[REDACTED]@sftp.example.com:22/out with key passphrase \"[REDACTED]\"")

	// Without being told, only the URL's password goes.
	s = report.NewSummary(r, nil)
	assert.Contains(t, s.Error, "sftp://acme:[REDACTED]@sftp.example.com")
	assert.Contains(t, s.Error, passphrase)
}

func TestSummaryLabel(t *testing.T) {
	s := report.NewSummary(succeeded(), &report.Options{Label: "title"})
	require.Equal(t, usersync.CreateUser, s.Changes[1].Kind)
	assert.Equal(t, "Sales lead", s.Changes[1].Items[0].Label)
	assert.Contains(t, render(t, s, renderers[0].write), "\n  Ann Andersson (E1001) (Sales lead): joins G1\n")
	assert.Equal(t, "Sales", s.Changes[0].Items[0].Label, "a group's name is no personal data")

	s = report.NewSummary(succeeded(), &report.Options{Label: "password"})
	assert.Empty(t, s.Changes[1].Items[0].Label, "a private attribute is no label")
}

// People are named by their name attributes and key; an update shows old
// and new values, never those of a private attribute or a secret; KeysOnly
// shows keys alone.
func TestSummaryPeople(t *testing.T) {
	r := succeeded()
	s := report.NewSummary(r, &report.Options{Private: []string{"MAIL"}, Secrets: []string{"Engineer"}})
	upd := s.Changes[2]
	require.Equal(t, usersync.UpdateUser, upd.Kind)
	c := upd.Items[0]
	assert.Equal(t, "Ann Andersson", c.Name)
	assert.Equal(t, []report.Update{
		{Attr: "title", Hidden: true}, // its old value is a secret
		{Attr: "mail", Hidden: true},
		{Attr: "password", Hidden: true},
	}, c.Updates)

	s = report.NewSummary(r, nil)
	assert.Equal(t, report.Update{Attr: "title", Old: "Engineer", New: "Sales lead"}, s.Changes[2].Items[0].Updates[0])
	assert.Contains(t, render(t, s, renderers[0].write), "\n  Ann Andersson (E2001): title: Engineer → Sales lead; mail: "+pii+".old@example.com → "+pii+".ann@example.com; password: changed; leaves G7\n")

	// A given and a family name make a name; a name attribute wins.
	synctest.Changes(t, r.Plan)[1].User.Attrs = usersync.NewAttrs("givenName", "Bo", "sn", "Berg")
	s = report.NewSummary(r, &report.Options{Names: []string{"givenName sn"}})
	assert.Equal(t, "Bo Berg", s.Changes[1].Items[0].Name)

	s = report.NewSummary(succeeded(), &report.Options{KeysOnly: true})
	text := render(t, s, renderers[0].write)
	assert.NotContains(t, text, "Ann Andersson")
	assert.NotContains(t, text, pii)
	assert.Contains(t, text, "\n  E2001: title, mail, password; leaves G7\n")
}

// A held plan says exactly how to approve it: the host's command or link.
func TestSummaryHowToApprove(t *testing.T) {
	s := report.NewSummary(held(), &report.Options{ApproveCommand: "usersync approve -c acme.yaml plan.json"})
	assert.Equal(t, "review the planned changes below, then approve the plan by running: usersync approve -c acme.yaml plan.json", s.Action)
	s = report.NewSummary(held(), &report.Options{ApproveURL: "https://app.example/approve?p=1"})
	assert.Equal(t, "https://app.example/approve?p=1", s.ApproveURL)
	assert.Contains(t, render(t, s, renderers[1].write), `<a href="https://app.example/approve?p=1"`)
	s = report.NewSummary(held(), &report.Options{ApproveURL: "javascript:alert(1)"})
	assert.Empty(t, s.ApproveURL, "only http and https links")
	assert.NotContains(t, render(t, s, renderers[1].write), "javascript:")
	s = report.NewSummary(succeeded(), &report.Options{ApproveURL: "https://app.example/approve?p=1"})
	assert.Empty(t, s.ApproveURL, "only a held run")
}

// TestSummaryOtherKinds covers the changes of the grace period and of
// adoption, and a user who takes a new key.
func TestSummaryOtherKinds(t *testing.T) {
	missing := user("E5001")
	missing.MissingRuns = 2
	r := succeeded()
	r.Plan = plan(3,
		[]usersync.Change{{Kind: usersync.RenameGroup, Group: usersync.Group{ID: "G1", Name: "Sales EMEA"}}},
		[]usersync.Change{{Kind: usersync.AdoptUser, User: user("E4001"), OldKey: "ann@acme.example", Attrs: []string{"title"}}},
		[]usersync.Change{{Kind: usersync.MarkMissing, User: missing}, {Kind: usersync.MarkMissing, User: user("E5002")}})
	r.Applied = usersync.Counts{GroupsRenamed: 1, Adopted: 1, MarkedMissing: 2}
	s := report.NewSummary(r, nil)
	assert.Equal(t, "usersync: succeeded — 1 adopted, 2 marked missing, 1 group renamed, 3 unchanged, 1 rejected",
		s.Headline)
	text := render(t, s, renderers[0].write)
	assert.Contains(t, text, "\n  Adopted         1\n")
	assert.Contains(t, text, "\n  Groups renamed  1\n")
	assert.Contains(t, text, "\nGroups renamed (1)\n  G1 (Sales EMEA)\n")
	assert.Contains(t, text, "\nAdopted (1)\n  Ann Andersson (E4001, was ann@acme.example): title: (empty) → Sales lead\n")
	assert.Contains(t, text, "\nMarked missing (2)\n  Ann Andersson (E5001): missing from 2 runs in a row\n  Ann Andersson (E5002): no longer missing\n")

	s = report.NewSummary(succeeded(), nil)
	assert.NotContains(t, render(t, s, renderers[0].write), "Adopted", "rare counts show only when they happen")
}

func TestSummaryGuards(t *testing.T) {
	r := held()
	remove := r.Plan.Hold.(*usersync.GuardError)
	update := &usersync.GuardError{Guard: "updates and restores", Count: 800, Population: 1000, Limit: "75% of 1000 (750)"}
	r.Plan.Hold = errors.Join(remove, update)
	r.Err = r.Plan.Hold
	s := report.NewSummary(r, nil)
	require.Len(t, s.Guards, 2)
	assert.Equal(t, report.Guard{Guard: "deactivations and deletions", Count: 250, Population: 1000,
		Limit: "10% of 1000 (100)", Reason: remove.Error()}, s.Guards[0])
	assert.Equal(t, "updates and restores", s.Guards[1].Guard)

	r.Plan.Hold = errors.New("held by the host's own guard")
	s = report.NewSummary(r, nil)
	assert.Equal(t, []report.Guard{{Reason: "held by the host's own guard"}}, s.Guards)
}

func TestSummaryPlanWarnings(t *testing.T) {
	r := succeeded()
	r.Plan.Warnings = []*usersync.RowError{{File: "users.csv", Line: 7, Column: "Manager", Value: "E9",
		Err: errors.New("manager E9 matches no user")}}
	r.Plan.WarningsTotal = 3
	r.Files[0].Format.Warnings = []string{`unknown column "Fax" ignored`}
	s := report.NewSummary(r, nil)
	assert.Equal(t, 4, s.Warnings.Total)
	assert.Contains(t, render(t, s, renderers[0].write), "\nWarnings (4)\n"+
		"  users.csv: unknown column \"Fax\" ignored\n"+
		"  users.csv:7: column Manager: manager E9 matches no user\n"+
		"  and 2 more\n")
}

func TestSummarizeNilResult(t *testing.T) {
	r := report.Summarize(func(context.Context, *report.Summary) error { return nil }, nil)
	assert.ErrorContains(t, r.Report(context.Background(), usersync.Event{Kind: usersync.RunFinished}),
		"without a Result")
}

// TestSummarizeNoApplyPhase checks that a held run has no apply time.
func TestSummarizeNoApplyPhase(t *testing.T) {
	var got *report.Summary
	r := report.Summarize(func(_ context.Context, s *report.Summary) error { got = s; return nil }, nil)
	res := held()
	ctx := context.Background()
	at := func(s int) time.Time { return res.Started.Add(time.Duration(s) * time.Second) }
	require.NoError(t, r.Report(ctx, usersync.Event{Kind: usersync.RunStarted, Time: at(0)}))
	require.NoError(t, r.Report(ctx, usersync.Event{Kind: usersync.FileRead, Time: at(1)}))
	require.NoError(t, r.Report(ctx, usersync.Event{Kind: usersync.PlanReady, Time: at(2)}))
	require.NoError(t, r.Report(ctx, usersync.Event{Kind: usersync.RunFinished, Time: at(2), Result: res}))
	assert.Equal(t, report.Timings{Total: 2500 * time.Millisecond, Read: time.Second, Plan: time.Second}, got.Timings)
	data, err := json.Marshal(got.Timings)
	require.NoError(t, err)
	assert.JSONEq(t, `{"total_ms":2500,"read_ms":1000,"plan_ms":1000,"apply_ms":0}`, string(data))
}

// TestRenderersEscape checks that text from outside cannot forge lines,
// drive a terminal, or run as HTML.
func TestRenderersEscape(t *testing.T) {
	r := failedFile()
	r.Files[0].Name = "<script>alert(1)</script>\n\nusersync: succeeded.csv"
	r.Files[0].Format.Encoding = "\x1b[31mUTF-8"
	r.Files[0].Err = errors.New("server said:\r\nall good \u202egnp.exe <img src=x onerror=alert(2)>")
	r.Err = r.Files[0].Err
	r.Rejected = []*usersync.RowError{{File: "users.csv", Line: 3, Column: "Na\tme", Value: "x\x00<b>y", Err: errors.New("bad")}}
	r.RejectedTotal = 1
	s := report.NewSummary(r, &report.Options{Name: "Acme\r\nBcc: everyone@example.com"})

	text := render(t, s, renderers[0].write)
	for _, bad := range []string{"\x1b", "\r", "\t", "\u202e", "\x00", "\nusersync: succeeded"} {
		assert.NotContains(t, text, bad)
	}
	assert.Contains(t, text, `<script>alert(1)</script>\n\nusersync: succeeded.csv`)
	assert.Contains(t, text, "\nError     server said:\\r; all good \\u202egnp.exe <img src=x onerror=alert(2)>\n")
	assert.Contains(t, text, ": failed: see Error above\n")
	assert.Contains(t, text, `users.csv:3: column Na\tme: "x\x00<b>y": bad`)
	assert.True(t, strings.HasPrefix(s.Headline, `usersync Acme\r\nBcc: everyone@example.com: failed`),
		"the headline, an email subject, stays one line")

	html := render(t, s, renderers[1].write)
	assert.Contains(t, html, "&lt;script&gt;alert(1)&lt;/script&gt;")
	assert.Contains(t, html, "&lt;img src=x onerror=alert(2)&gt;")
	assert.Contains(t, html, "&lt;b&gt;y")
	assert.NotContains(t, html, "<script")
	assert.NotContains(t, html, "<img")
	assert.NotContains(t, html, "\u202e")
}

// TestHTMLSelfContained checks that the HTML loads nothing and needs no
// style sheet: what mail clients strip or block.
func TestHTMLSelfContained(t *testing.T) {
	for _, r := range []*usersync.Result{succeeded(), partlyFailed(), held(), failedFile(), nothingToDo(), dryRun()} {
		html := render(t, report.NewSummary(r, nil), renderers[1].write)
		for _, asset := range []string{"<style", "<link", "<script", "<img", "src=", "href=", "url(", "@import", "class="} {
			assert.NotContains(t, html, asset, r.Status.String())
		}
		assert.Contains(t, html, `<meta charset="utf-8">`)
	}
}

// TestHTMLWritesOnce checks that the document reaches w in one Write.
func TestHTMLWritesOnce(t *testing.T) {
	w := &countingWriter{}
	require.NoError(t, report.WriteHTML(w, report.NewSummary(partlyFailed(), nil)))
	assert.Equal(t, 1, w.writes)
}

func TestRenderersNilSummary(t *testing.T) {
	var b bytes.Buffer
	assert.Error(t, report.WriteHTML(&b, nil))
	assert.Error(t, report.WriteChangesCSV(&b, nil, nil))
	assert.Error(t, report.WriteRejectedCSV(&b, nil, nil))
	assert.Error(t, report.WriteAlertText(&b, nil))
	assert.Error(t, report.WriteAlertHTML(&b, nil))
}

// TestSummaryStalePlan covers an approved plan that RunApproved refused.
func TestSummaryStalePlan(t *testing.T) {
	r := held()
	r.Status = usersync.Failed
	r.Plan.Hold = nil
	r.Err = &usersync.StalePlanError{File: "users.csv", Reason: "changed"}
	s := report.NewSummary(r, nil)
	assert.Equal(t, "failed: the approved plan is out of date; nothing was applied", s.Outcome)
	assert.Equal(t, "the files or the directory changed since the plan was computed: plan again, and approve the new plan",
		s.Action)
	assert.Equal(t, 253, s.Counts.NotAttempted)
}
