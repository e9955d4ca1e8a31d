package sinktest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usersync/usersync"
)

// ann is the user most cases work with, as a feed gives her.
func ann() usersync.Record {
	r := rec("E1001", "name", "Ann Berg", "email", "ann@example.com", "title", "Nurse")
	r.Groups = []string{"nurses", "ward-3"}
	r.Origin = usersync.Position{File: "users.csv", Line: 2}
	return r
}

// annGroups creates the groups ann belongs to.
func annGroups() []usersync.Change {
	return []usersync.Change{createGroup("nurses", "Nurses"), createGroup("ward-3", "Ward 3")}
}

func testCreate(e *env) {
	e.apply(annGroups()...)
	e.apply(createUser(ann()))
	e.requireUsers(managed(ann()))
	e.requireGroups(usersync.Group{ID: "nurses", Name: "Nurses"}, usersync.Group{ID: "ward-3", Name: "Ward 3"})
}

func testCreateInactive(e *env) {
	r := rec("E1002", "name", "Bo Ek")
	r.Inactive = true // the feed's status column says so
	e.apply(createUser(r))
	e.requireUsers(managed(r))
}

func testCreateTwice(e *env) {
	e.apply(annGroups()...)
	e.apply(createUser(ann()), createUser(ann()))
	e.requireUsers(managed(ann()))

	// A create is an upsert: the second one wins, whatever the layout of
	// its attributes.
	changed := ann()
	changed.Attrs = usersync.NewAttrs("title", "Head nurse", "email", "ann.berg@example.com", "name", "Ann Berg")
	e.apply(createUser(changed))
	e.requireUsers(managed(changed))

	// It sets the attributes it carries and keeps the others, such as one
	// an administrator set by hand.
	byHand := managed(changed)
	byHand.Attrs = usersync.NewAttrs("name", "Ann Berg", "phone", "+46 70 123")
	e.putUser(byHand)
	e.apply(createUser(ann()))
	want := managed(ann())
	want.Attrs = usersync.NewAttrs("name", "Ann Berg", "email", "ann@example.com", "title", "Nurse", "phone", "+46 70 123")
	e.requireUsers(want)
}

func testUpdate(e *env) {
	e.apply(annGroups()...)
	e.apply(createUser(ann()))
	// An administrator adds a phone number by hand; the feed does not map it.
	byHand := managed(ann())
	byHand.Attrs = usersync.NewAttrs("name", "Ann Berg", "email", "ann@example.com", "title", "Nurse", "phone", "+46 70 123")
	e.putUser(byHand)

	// The feed changes name and email, but the change writes name only.
	feed := ann()
	feed.Attrs = usersync.NewAttrs("name", "Ann Lind", "email", "ann.lind@example.com", "title", "Nurse")
	e.apply(change(usersync.UpdateUser, feed, "name"))
	want := byHand
	want.Attrs = usersync.NewAttrs("name", "Ann Lind", "email", "ann@example.com", "title", "Nurse", "phone", "+46 70 123")
	e.requireUsers(want)

	e.apply(change(usersync.UpdateUser, feed, "name")) // idempotent
	e.requireUsers(want)

	// A named attribute the user lacks is added.
	e.apply(change(usersync.UpdateUser, rec("E1001", "dept", "ICU"), "dept"))
	want.Attrs = usersync.NewAttrs("name", "Ann Lind", "email", "ann@example.com", "title", "Nurse", "phone", "+46 70 123", "dept", "ICU")
	e.requireUsers(want)

	// A change of memberships alone writes no attribute.
	e.apply(memberships(change(usersync.UpdateUser, feed), nil, []string{"ward-3"}))
	want.Groups = []string{"nurses"}
	e.requireUsers(want)
}

func testUpdateMissing(e *env) {
	e.apply(createUser(rec("E1", "name", "One")))
	for _, kind := range []usersync.ChangeKind{usersync.UpdateUser, usersync.RestoreUser} {
		err := e.sink.Apply(e.ctx, change(kind, rec("E404", "name", "Nobody"), "name"))
		require.ErrorIs(e.t, err, usersync.ErrNotFound, "%v of a user the Sink does not hold", kind)
	}
	e.requireUsers(managed(rec("E1", "name", "One")))
}

func testRestore(e *env) {
	e.apply(annGroups()...)
	gone := ann()
	gone.Inactive = true
	e.apply(createUser(gone))

	back := ann()
	back.Attrs = usersync.NewAttrs("name", "Ann Berg", "email", "ann@example.com", "title", "Midwife")
	e.apply(change(usersync.RestoreUser, back, "title"))
	e.requireUsers(managed(back))

	e.apply(change(usersync.RestoreUser, back, "title")) // idempotent
	e.requireUsers(managed(back))
}

func testDeactivate(e *env) {
	e.apply(annGroups()...)
	e.apply(createUser(ann()))

	// Ann left the feed: the change carries her as the Sink held her.
	held := e.user("E1001")
	e.apply(change(usersync.DeactivateUser, held))
	want := managed(ann())
	want.Inactive = true
	e.requireUsers(want)

	e.apply(change(usersync.DeactivateUser, held)) // idempotent
	e.requireUsers(want)

	// The feed marks her inactive and changes her title in one change.
	feed := ann()
	feed.Inactive = true
	feed.Attrs = usersync.NewAttrs("name", "Ann Berg", "email", "ann@example.com", "title", "Retired")
	e.apply(change(usersync.DeactivateUser, feed, "title"))
	want.Attrs = feed.Attrs
	e.requireUsers(want)
}

func testAbsent(e *env) {
	e.apply(createUser(rec("E1", "name", "One")))
	absent := rec("E404", "name", "Nobody")
	require.NoError(e.t, e.sink.Apply(e.ctx, change(usersync.DeactivateUser, absent)), "deactivate an absent user")
	require.NoError(e.t, e.sink.Apply(e.ctx, deleteUser(absent.Key)), "delete an absent user")
	e.requireUsers(managed(rec("E1", "name", "One")))
}

func testDelete(e *env) {
	e.apply(annGroups()...)
	bo := rec("E1002", "name", "Bo Ek")
	e.apply(createUser(ann()), createUser(bo))
	e.apply(deleteUser("E1001"))
	e.requireUsers(managed(bo))
	e.apply(deleteUser("E1001")) // idempotent
	e.requireUsers(managed(bo))
	e.requireGroups(usersync.Group{ID: "nurses", Name: "Nurses"}, usersync.Group{ID: "ward-3", Name: "Ward 3"})
}

func testGroups(e *env) {
	e.apply(createGroup("nurses", "Nurses"), createGroup("nurses", "Nurses"))     // idempotent
	e.apply(createGroup("ward-3", "Ward 3"), createGroup("ward-3", "Ward three")) // an upsert
	e.putGroup(usersync.Group{ID: "night", Name: "Night shift"})                  // made by hand
	e.requireGroups(
		usersync.Group{ID: "night", Name: "Night shift"},
		usersync.Group{ID: "nurses", Name: "Nurses"},
		usersync.Group{ID: "ward-3", Name: "Ward three"},
	)

	r := rec("E1001", "name", "Ann Berg")
	r.Groups = []string{"nurses"}
	e.apply(createUser(r))
	steps := []struct {
		join, leave, want []string
	}{
		{join: []string{"ward-3"}, leave: []string{"nurses"}, want: []string{"ward-3"}},
		{join: []string{"nurses", "nurses", "ward-3"}, want: []string{"nurses", "ward-3"}},
		{join: []string{"night"}, want: []string{"night", "nurses", "ward-3"}},
		{leave: []string{"night", "no-such-group"}, want: []string{"nurses", "ward-3"}},
		{leave: []string{"night"}, want: []string{"nurses", "ward-3"}},
	}
	for _, s := range steps {
		e.apply(memberships(change(usersync.UpdateUser, r), s.join, s.leave))
		want := managed(r)
		want.Groups = s.want
		e.requireUsers(want)
	}
}

func testJoinUnknownGroup(e *env) {
	e.apply(createGroup("nurses", "Nurses"))
	r := rec("E1001", "name", "Ann Berg")
	r.Groups = []string{"nurses", "no-such-group"}
	err := e.sink.Apply(e.ctx, createUser(r))
	require.ErrorIs(e.t, err, usersync.ErrNotFound, "create joining a group the Sink does not hold")
	e.requireUsers()

	r.Groups = []string{"nurses"}
	e.apply(createUser(r))
	for _, kind := range []usersync.ChangeKind{usersync.UpdateUser, usersync.RestoreUser, usersync.DeactivateUser} {
		c := change(kind, rec("E1001", "name", "Ann Lind"), "name")
		c.Join = []string{"no-such-group"}
		c.Leave = []string{"nurses"}
		err := e.sink.Apply(e.ctx, c)
		require.ErrorIs(e.t, err, usersync.ErrNotFound, "%v joining a group the Sink does not hold", kind)
		e.requireUsers(managed(r)) // the failed change changed nothing
	}
	e.requireGroups(usersync.Group{ID: "nurses", Name: "Nurses"})
}

func testHandMade(e *env) {
	e.apply(annGroups()...)
	e.putGroup(usersync.Group{ID: "admins", Name: "Admins"})
	admin := rec("root", "name", "Site Admin", "email", "admin@example.com")
	admin.Groups = []string{"admins", "nurses"}
	e.putUser(admin)
	e.apply(createUser(ann()))
	e.requireUsers(admin, managed(ann()))
	if l, ok := e.sink.(usersync.Lister); ok {
		requireSameUsers(e.t, []usersync.Record{admin, managed(ann())}, collect(e.t, l.Users(e.ctx), "Lister.Users"), "Lister.Users")
	}
}

// awkwardValues are attribute values a CSV file can carry and a Sink must
// store exactly.
func awkwardValues() []string {
	return []string{
		"unicode", "Åsa Öberg-Núñez 李小龍 Ελένη 🙂",
		"comma", "Berg, Ann",
		"quotes", `She said "hi" and 'bye'`,
		"newlines", "line 1\nline 2\r\nline 3\r",
		"tab", "a\tb",
		"padded", "  spaces around  ",
		"formula", "=HYPERLINK(\"http://x\")",
		"backslash", `C:\Users\ann`,
		"empty", "",
		"long", strings.Repeat("0123456789abcdef", 640), // 10 KiB
	}
}

func testValues(e *env) {
	e.apply(createGroup("Sjuksköterskor, natt", `Nattskift "B"`))
	r := rec("Ø-1001 åsa", awkwardValues()...)
	r.Groups = []string{"Sjuksköterskor, natt"}
	e.apply(createUser(r))
	e.requireUsers(managed(r))
	e.requireGroups(usersync.Group{ID: "Sjuksköterskor, natt", Name: `Nattskift "B"`})
	got := e.user(r.Key)
	for n, v := range r.Attrs.All() {
		gv, ok := got.Attrs.Get(n)
		require.True(e.t, ok, "attribute %q is missing", n)
		require.Equal(e.t, v, gv, "attribute %q", n)
	}

	// The same values through an update, onto a user that had none.
	e.apply(createUser(rec("E2", "name", "Bo")))
	names := r.Attrs.Layout().Names()
	e.apply(change(usersync.UpdateUser, usersync.Record{Key: "E2", Attrs: r.Attrs}, names...))
	bo := managed(rec("E2", append(awkwardValues(), "name", "Bo")...))
	e.requireUsers(managed(r), bo)

	if l, ok := e.sink.(usersync.Lister); ok {
		users, _ := e.state()
		requireSameUsers(e.t, users, collect(e.t, l.Users(e.ctx), "Lister.Users"), "Lister.Users")
	}
}

func testCanceled(e *env) {
	ctx := canceled(e.ctx)
	for _, c := range append(annGroups(), createUser(rec("E1", "name", "One"))) {
		err := e.sink.Apply(ctx, c)
		require.ErrorIs(e.t, err, context.Canceled, "Apply(%v) with a canceled ctx", c)
	}
	e.requireUsers()
	e.requireGroups()

	// Nor does a canceled ctx change an existing user.
	e.apply(createUser(rec("E1", "name", "One")))
	for _, c := range []usersync.Change{
		change(usersync.UpdateUser, rec("E1", "name", "Two"), "name"),
		change(usersync.DeactivateUser, rec("E1")),
		deleteUser("E1"),
	} {
		require.ErrorIs(e.t, e.sink.Apply(ctx, c), context.Canceled, "Apply(%v) with a canceled ctx", c)
	}
	e.requireUsers(managed(rec("E1", "name", "One")))
}

// batchPlan is a plan whose changes depend on their order, and two of which
// fail with ErrNotFound.
func batchPlan() []usersync.Change {
	bo := rec("E1002", "name", "Bo Ek")
	bo.Groups = []string{"ward-3"}
	cy := rec("E1003", "name", "Cy Holm")
	cy.Inactive = true
	stray := rec("E1004", "name", "Di Sten")
	stray.Groups = []string{"no-such-group"}
	annLater := ann()
	annLater.Attrs = usersync.NewAttrs("name", "Ann Berg", "email", "ann@example.com", "title", "Head nurse")
	return []usersync.Change{
		createGroup("nurses", "Nurses"),
		createGroup("ward-3", "Ward 3"),
		createUser(ann()),
		createUser(bo),
		createUser(cy),
		createUser(stray), // fails: unknown group
		memberships(change(usersync.UpdateUser, annLater, "title"), []string{"ward-3"}, []string{"nurses"}),
		change(usersync.UpdateUser, rec("E404", "name", "Nobody"), "name"), // fails: no such user
		change(usersync.RestoreUser, cy),
		change(usersync.DeactivateUser, bo),
		deleteUser("E1002"),
		change(usersync.UpdateUser, bo, "name"), // fails: deleted just before
		change(usersync.DeactivateUser, rec("E405")),
		deleteUser("E406"),
		createUser(bo),
		renameGroup("ward-3", "Ward three"),
		renameGroup("no-such-group", "Nobody"), // fails: no such group
		markMissing("E1003", 1, since),
		rekeyed(change(usersync.UpdateUser, rec("E1007", "name", "Cy Holm-Berg"), "name"), "E1003"),
		adopt(rec("E1008", "name", "Nobody"), "E1009", "name"), // fails: no such user
	}
}

func testBatch(e *env) {
	ba := e.batchApplier()
	plan := batchPlan()

	seq := e.fresh()
	seqErrs := make([]error, len(plan))
	for i, c := range plan {
		seqErrs[i] = seq.sink.Apply(seq.ctx, c)
	}

	errs := ba.ApplyBatch(e.ctx, plan)
	require.Len(e.t, errs, len(plan), "ApplyBatch must return one error per change when one fails")
	for i, c := range plan {
		if seqErrs[i] == nil {
			assert.NoError(e.t, errs[i], "ApplyBatch: change %d (%v) failed but applied alone", i, c)
			continue
		}
		assert.ErrorIs(e.t, errs[i], usersync.ErrNotFound, "ApplyBatch: change %d (%v)", i, c)
		assert.ErrorIs(e.t, seqErrs[i], usersync.ErrNotFound, "Apply: change %d (%v)", i, c)
	}
	users, groups := seq.state()
	e.requireUsers(users...)
	e.requireGroups(groups...)
	require.Len(e.t, users, 3, "the changes that did not fail applied")

	// A batch that succeeds returns nil, and so does an empty one.
	more := []usersync.Change{deleteUser("E1001"), createUser(rec("E1005", "name", "Ed Falk"))}
	require.Nil(e.t, ba.ApplyBatch(e.ctx, more), "ApplyBatch of changes that all apply")
	require.Nil(e.t, ba.ApplyBatch(e.ctx, nil), "ApplyBatch of no changes")
	seq.apply(more...)
	users, _ = seq.state()
	e.requireUsers(users...)
}

func testBatchCanceled(e *env) {
	ba := e.batchApplier()
	plan := batchPlan()
	errs := ba.ApplyBatch(canceled(e.ctx), plan)
	require.Len(e.t, errs, len(plan), "ApplyBatch with a canceled ctx")
	for i, err := range errs {
		require.ErrorIs(e.t, err, context.Canceled, "ApplyBatch with a canceled ctx: change %d", i)
	}
	e.requireUsers()
	e.requireGroups()
}

func testList(e *env) {
	l := e.lister()
	e.apply(annGroups()...)
	e.putGroup(usersync.Group{ID: "admins", Name: "Admins"})
	e.putUser(rec("root", "name", "Site Admin"))
	gone := rec("E1002", "name", "Bo Ek")
	gone.Inactive = true
	e.apply(createUser(ann()), createUser(gone), createUser(rec("E1003", "name", "Cy Holm")))
	e.apply(memberships(change(usersync.UpdateUser, rec("E1003")), []string{"ward-3", "admins", "nurses", "admins"}, nil))
	e.apply(memberships(change(usersync.UpdateUser, rec("E1001")), []string{"nurses"}, nil))

	users, groups := e.state()
	listed := collect(e.t, l.Users(e.ctx), "Lister.Users")
	requireSameUsers(e.t, users, listed, "Lister.Users against Harness.State")
	requireSameGroups(e.t, groups, collect(e.t, l.Groups(e.ctx), "Lister.Groups"), "Lister.Groups against Harness.State")
	for _, r := range listed {
		require.Zero(e.t, r.Origin, "user %s: Sink records have no Origin", r.Key)
		require.True(e.t, slices.IsSorted(r.Groups), "user %s: Groups must be sorted: %q", r.Key, r.Groups)
		require.Equal(e.t, len(r.Groups), len(slices.Compact(slices.Clone(r.Groups))), "user %s: Groups must not repeat: %q", r.Key, r.Groups)
	}
}

// listCancelUsers is how many users ListCanceled seeds: a Lister must
// notice a canceled ctx before it has listed that many.
const listCancelUsers = 10_000

func testListCanceled(e *env) {
	l := e.lister()
	e.apply(createGroup("nurses", "Nurses"))
	e.apply(createUser(rec("E1", "name", "One")))

	n, err := firstError(e.t, l.Users(canceled(e.ctx)), nil)
	require.ErrorIs(e.t, err, context.Canceled, "Lister.Users with a canceled ctx (after %d users)", n)
	n, err = firstError(e.t, l.Groups(canceled(e.ctx)), nil)
	require.ErrorIs(e.t, err, context.Canceled, "Lister.Groups with a canceled ctx (after %d groups)", n)

	seed := make([]usersync.Change, listCancelUsers)
	for i := range seed {
		seed[i] = createUser(rec(fmt.Sprintf("U%05d", i), "name", "Someone"))
	}
	e.applyMany(seed)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	n, err = firstError(e.t, l.Users(ctx), cancel)
	require.ErrorIs(e.t, err, context.Canceled, "Lister.Users with ctx canceled after the first user (after %d users)", n)
	require.Less(e.t, n, listCancelUsers, "Lister.Users went on to the end after ctx was canceled")
}

func testListStopEarly(e *env) {
	l := e.lister()
	e.apply(createGroup("nurses", "Nurses"), createGroup("ward-3", "Ward 3"))
	for i := range 3 {
		e.apply(createUser(rec(fmt.Sprintf("E%d", i), "name", "Someone")))
	}
	for range l.Users(e.ctx) {
		break
	}
	for range l.Groups(e.ctx) {
		break
	}
	// A Lister that held a lock past the end of the loop would block here.
	done := make(chan error, 1)
	go func() { done <- e.sink.Apply(e.ctx, deleteUser("E0")) }()
	select {
	case err := <-done:
		require.NoError(e.t, err, "Apply after leaving a listing early")
	case <-time.After(deadlockTimeout):
		require.FailNow(e.t, "Apply blocked after a loop over Lister.Users or Lister.Groups stopped early")
	}
	require.Len(e.t, collect(e.t, l.Users(e.ctx), "Lister.Users"), 2)
}

// deadlockTimeout is how long the suite waits for something that should
// take milliseconds before it calls it a deadlock.
const deadlockTimeout = 30 * time.Second

// Concurrent workers and the users each works on.
const (
	workers        = 8
	usersPerWorker = 20
)

func testConcurrent(e *env) {
	e.apply(createGroup("nurses", "Nurses"))
	ba, _ := e.sink.(usersync.BatchApplier)
	l, _ := e.sink.(usersync.Lister)

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			plan := workerPlan(w)
			if ba != nil && w%2 == 1 { // half the workers batch, if they can
				assert.Nil(e.t, ba.ApplyBatch(e.ctx, plan), "worker %d: ApplyBatch", w)
				return
			}
			for _, c := range plan {
				assert.NoError(e.t, e.sink.Apply(e.ctx, c), "worker %d: Apply(%v)", w, c)
			}
		})
	}
	if l != nil { // list while others write, for the race detector
		wg.Go(func() {
			for _, err := range l.Users(e.ctx) {
				assert.NoError(e.t, err, "Lister.Users during Apply")
			}
		})
	}
	waitOrFail(e, &wg, "concurrent Apply")

	var want []usersync.Record
	for w := range workers {
		for i := 0; i < usersPerWorker; i += 2 { // the odd ones were deleted
			r := managed(workerUser(w, i))
			r.Attrs = usersync.NewAttrs("name", "Someone", "title", "Updated")
			r.Inactive = i%4 == 0
			want = append(want, r)
		}
	}
	e.requireUsers(want...)
}

// waitOrFail waits for wg, and fails the test rather than hang if a
// deadlock keeps it from ending.
func waitOrFail(e *env, wg *sync.WaitGroup, what string) {
	e.t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(deadlockTimeout):
		require.FailNow(e.t, what+" did not finish: a deadlock?")
	}
}

// workerPlan creates, updates, deactivates and deletes worker w's users.
func workerPlan(w int) []usersync.Change {
	var plan []usersync.Change
	for i := range usersPerWorker {
		r := workerUser(w, i)
		plan = append(plan, createUser(r))
		r.Attrs = usersync.NewAttrs("name", "Someone", "title", "Updated")
		plan = append(plan, change(usersync.UpdateUser, r, "title"))
		switch {
		case i%2 == 1:
			plan = append(plan, deleteUser(r.Key))
		case i%4 == 0:
			plan = append(plan, change(usersync.DeactivateUser, r))
		}
	}
	return plan
}

func workerUser(w, i int) usersync.Record {
	r := rec(fmt.Sprintf("W%d-%02d", w, i), "name", "Someone", "title", "New")
	r.Groups = []string{"nurses"}
	return r
}
