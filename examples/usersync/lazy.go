package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/usersync/usersync"
	"github.com/usersync/usersync/source"
)

// lazySource is a Source that connects when it is first used, and again
// after a failed connection: a server that is down fails the run that needs
// it (which reports the failure like any other) instead of the command, and
// watch tries again at the next run.
type lazySource struct {
	name string
	dial func(ctx context.Context) (usersync.Source, error)

	mu     sync.Mutex
	src    usersync.Source
	closed bool
}

var (
	_ usersync.Source  = (*lazySource)(nil)
	_ usersync.Remover = (*lazySource)(nil)
	_ usersync.Renamer = (*lazySource)(nil)
)

func newLazySource(name string, dial func(ctx context.Context) (usersync.Source, error)) *lazySource {
	return &lazySource{name: name, dial: dial}
}

// get returns the connected Source, connecting first if needed. Holding
// the lock while dialing makes concurrent callers share one connection.
func (l *lazySource) get(ctx context.Context) (usersync.Source, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, source.ErrClosed
	}
	if l.src == nil {
		src, err := l.dial(ctx)
		if err != nil {
			return nil, err // it names the server already
		}
		l.src = src
	}
	return l.src, nil
}

// List lists the folder, connecting first if need be.
func (l *lazySource) List(ctx context.Context) ([]usersync.FileInfo, error) {
	src, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return src.List(ctx)
}

// Open opens a file, connecting first if need be.
func (l *lazySource) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	src, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return src.Open(ctx, name)
}

// Remove removes a file, if the Source can.
func (l *lazySource) Remove(ctx context.Context, name string) error {
	src, err := l.get(ctx)
	if err != nil {
		return err
	}
	r, ok := src.(usersync.Remover)
	if !ok {
		return fmt.Errorf("%s cannot remove files: %w", l.name, errors.ErrUnsupported)
	}
	return r.Remove(ctx, name)
}

// Rename moves a file, if the Source can.
func (l *lazySource) Rename(ctx context.Context, oldname, newname string) error {
	src, err := l.get(ctx)
	if err != nil {
		return err
	}
	r, ok := src.(usersync.Renamer)
	if !ok {
		return fmt.Errorf("%s cannot move files: %w", l.name, errors.ErrUnsupported)
	}
	return r.Rename(ctx, oldname, newname)
}

// Close closes the connection, if there is one.
func (l *lazySource) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.src == nil {
		return nil
	}
	return l.src.Close()
}
