package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	day1 = "EmployeeID,Name,Email,Department,Teams\n" +
		"E101,Anna Lindqvist,anna@acme.example,Nursing,ward-3|night\n" +
		"E102,Björn Sandberg,bjorn@acme.example,Nursing,ward-3\n" +
		"E103,Carla Jensen,carla@acme.example,Reception,front-desk\n"
	// Day 2: Carla moves to Admin, Björn left, Hanna is new.
	day2 = "EmployeeID,Name,Email,Department,Teams\n" +
		"E101,Anna Lindqvist,anna@acme.example,Nursing,ward-3|night\n" +
		"E103,Carla Jensen,carla@acme.example,Admin,front-desk\n" +
		"E109,Hanna Ek,hanna@acme.example,Nursing,night\n"
)

// drop delivers a file as upload tools do: written under a hidden name,
// then renamed into place once complete.
func drop(t *testing.T, dir, name, data string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".part")
	require.NoError(t, os.WriteFile(tmp, []byte(data), 0o600))
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, name)))
}

// archived counts the files archived in dir.
func archived(t *testing.T, dir string) int {
	names, err := filepath.Glob(filepath.Join(dir, "archive", "*users.csv"))
	require.NoError(t, err)
	return len(names)
}

// user returns the user with the given external ID, or false.
func user(svc *UserService, id string) (User, bool) {
	u, err := svc.UserByExternalID(context.Background(), id)
	return u, err == nil
}

// TestWatch drops a file in the folder and sees it synced, then a changed
// one and sees the changes, while a user created in the app stays as it is.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	svc := NewUserService()
	ines, err := svc.CreateUser(t.Context(), User{ExternalID: "app-7", Active: true,
		Profile: map[string]string{"name": "Ines Vidal", "email": "ines@consulting.example"}})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out bytes.Buffer // written by the Runner's goroutine: read once watch returned
	done := make(chan error, 1)
	go func() {
		cfg := config{dir: dir, every: 20 * time.Millisecond, minAge: -1}
		done <- watch(ctx, cfg, svc, &out, slog.New(slog.DiscardHandler))
	}()

	// Generous bounds: the Runner looks every 20ms, and a loaded machine
	// may take a while; a pass takes milliseconds.
	const wait, tick = 20 * time.Second, 10 * time.Millisecond
	// Each file is dropped once the one before was archived, as nightly
	// files are: a file replaced while its sync finishes would be archived
	// without being read.
	drop(t, dir, "users.csv", day1)
	require.Eventually(t, func() bool { return archived(t, dir) == 1 }, wait, tick, "day 1 synced")
	anna, _ := user(svc, "E101")
	assert.Equal(t, []string{"night", "ward-3"}, anna.Teams)
	assert.True(t, anna.Synced)

	drop(t, dir, "users.csv", day2)
	require.Eventually(t, func() bool { return archived(t, dir) == 2 }, wait, tick, "day 2 synced")
	_, ok := user(svc, "E109")
	assert.True(t, ok)
	carla, _ := user(svc, "E103")
	assert.Equal(t, "Admin", carla.Profile["department"])
	bjorn, _ := user(svc, "E102")
	assert.False(t, bjorn.Active)
	still, _ := user(svc, "app-7")
	assert.Equal(t, ines, still)

	// The same export delivered again is archived without being applied
	// again: Pickup remembers the content it applied.
	drop(t, dir, "users.csv", day2)
	require.Eventually(t, func() bool { return archived(t, dir) == 3 }, wait, tick, "day 2 again archived")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(wait):
		t.Fatal("watch did not return after its ctx was canceled")
	}
	s := out.String()
	t.Log(s)
	assert.Contains(t, s, "succeeded — 3 created, 3 groups created")
	assert.Contains(t, s, "succeeded — 1 created, 1 updated, 1 deactivated")
	assert.Contains(t, s, "already applied")
	assert.NoFileExists(t, filepath.Join(dir, "users.csv"))
}
