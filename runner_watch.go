package usersync

import (
	"cmp"
	"context"
	"fmt"
)

// watch lists the Runner's Watch source every WatchEvery until ctx is done,
// and asks for a run when a file is new or changed since the last listing.
func (l *loop) watch(ctx context.Context) {
	src, every := l.r.Watch, cmp.Or(l.r.WatchEvery, DefaultWatchEvery)
	var seen map[string]FileInfo // nil until a listing succeeds
	failing := false
	for {
		files, err := src.List(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// A server that is down fails every listing: say so once,
			// then quietly until it answers again.
			l.watchFailed(ctx, err, failing)
			failing = true
		default:
			if failing {
				l.log.InfoContext(ctx, "usersync: watch: listing works again")
				failing = false
			}
			if why := arrived(seen, files); why != "" {
				l.r.want(why)
			}
			seen = make(map[string]FileInfo, len(files))
			for _, f := range files {
				seen[f.Name] = f
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-l.clock.After(every):
		}
	}
}

// watchFailed logs a failed listing: a warning, unless the one before
// failed too.
func (l *loop) watchFailed(ctx context.Context, err error, again bool) {
	const msg = "usersync: watch: cannot list the source; trying again"
	if again {
		l.log.DebugContext(ctx, msg, "err", err)
		return
	}
	l.log.WarnContext(ctx, msg, "err", err, "every", cmp.Or(l.r.WatchEvery, DefaultWatchEvery))
}

// arrived says which files of the listing are new or changed since seen, as
// the reason for a run: "new file users.csv", "changed file users.csv and 2
// more"; "" if none is.
func arrived(seen map[string]FileInfo, files []FileInfo) string {
	why, n := "", 0
	for _, f := range files {
		old, ok := seen[f.Name]
		if ok && old.Size == f.Size && old.ModTime.Equal(f.ModTime) {
			continue
		}
		if n++; n == 1 {
			why = "new file " + f.Name
			if ok {
				why = "changed file " + f.Name
			}
		}
	}
	if n > 1 {
		why += fmt.Sprintf(" and %d more", n-1)
	}
	return why
}
