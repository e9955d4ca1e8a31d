package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"testing"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/fleet"
	"github.com/usersync/usersync/source/sftpsource"
)

func TestClassify(t *testing.T) {
	// A real refused connection, on loopback.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, refused := net.Dial("tcp", addr)
	if refused == nil {
		t.Fatal("dialing a closed port succeeded")
	}
	for _, tc := range []struct {
		name string
		err  error
		want fleet.Class
	}{
		{"connection refused", &usersync.FileError{Op: "list", Err: refused}, fleet.Transient},
		{"run timeout", fmt.Errorf("list: %w", context.DeadlineExceeded), fleet.Transient},
		{"deadline", fmt.Errorf("read: %w", os.ErrDeadlineExceeded), fleet.Transient},
		{"sftp timeout", fmt.Errorf("open: %w", sftpsource.ErrTimeout), fleet.Transient},
		{"ftp 421", &textproto.Error{Code: 421, Msg: "too many connections"}, fleet.Transient},
		{"marked", fmt.Errorf("%w: the API said 503", fleet.ErrTransient), fleet.Transient},
		{"held", &usersync.GuardError{Guard: "deletes", Count: 900, Population: 1000, Limit: "10%"}, fleet.Permanent},
		{"bad file", &usersync.FileError{Op: "verify", File: "users.csv", Err: usersync.ErrIntegrity}, fleet.Permanent},
		{"no records", &usersync.FileError{Op: "map", File: "users.csv", Err: usersync.ErrNoRecords}, fleet.Permanent},
		{"stale plan", &usersync.StalePlanError{File: "users.csv", Reason: "gone"}, fleet.Permanent},
		{"wrong password", fmt.Errorf("connect: %w", sftpsource.ErrAuth), fleet.Permanent},
		{"host key", &sftpsource.HostKeyChangedError{Host: "sftp.example.com:22"}, fleet.Permanent},
		{"ftp 530", &textproto.Error{Code: 530, Msg: "login incorrect"}, fleet.Permanent},
		{"unknown", errors.New("something else"), fleet.Permanent},
	} {
		if got := fleet.Classify(tc.err); got != tc.want {
			t.Errorf("%s: Classify(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	if got := fleet.Classify(nil); got != 0 {
		t.Errorf("Classify(nil) = %v, want 0", got)
	}
}
