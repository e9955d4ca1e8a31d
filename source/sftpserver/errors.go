package sftpserver

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/pkg/sftp"
)

// Sentinel errors, for errors.Is.
var (
	// ErrServerClosed is returned by Serve and ListenAndServe once
	// Shutdown or Close was called.
	ErrServerClosed = errors.New("sftpserver: server closed")
	// ErrUnknownUser is returned, possibly wrapped, by Tenants.Lookup for a
	// user name that may not log in, and by the methods of MemTenants that
	// name such a user.
	ErrUnknownUser = errors.New("unknown user")
	// ErrUnknownCredential is returned by MemTenants when asked to revoke a
	// password hash or key that the user does not have.
	ErrUnknownCredential = errors.New("no such credential")
	// ErrQuotaExceeded is wrapped by the error that ends an upload over
	// its tenant's Quota. The audit log records it; the client is told
	// "quota exceeded" and why.
	ErrQuotaExceeded = errors.New("quota exceeded")
)

// statusError is an error whose text is safe to send to the client: it
// names no host path and no internal detail. Its code is the SFTP status
// the client gets.
type statusError struct {
	code error // one of sftp's ErrSSHFx* values
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// Unwrap returns the SFTP status, which is how pkg/sftp's request server
// picks the status code it sends.
func (e *statusError) Unwrap() error { return e.code }

// The errors clients get for the common cases.
var (
	errNoSuchFile   = &statusError{sftp.ErrSSHFxNoSuchFile, "no such file"}
	errDenied       = &statusError{sftp.ErrSSHFxPermissionDenied, "permission denied"}
	errUnsupported  = &statusError{sftp.ErrSSHFxOpUnsupported, "operation not supported"}
	errFailure      = &statusError{sftp.ErrSSHFxFailure, "failure"}
	errShuttingDown = &statusError{sftp.ErrSSHFxFailure, "server is shutting down"}
)

func failure(format string, args ...any) *statusError {
	return &statusError{sftp.ErrSSHFxFailure, fmt.Sprintf(format, args...)}
}

// forClient turns err, from the file system or from this package, into the
// error the client sees. The os.Root errors it gets name the path the client
// asked for, but their text is not sent: a message from the operating
// system may name more than the client should know.
func forClient(err error) error {
	var se *statusError
	var errno syscall.Errno
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se
	case errors.Is(err, ErrQuotaExceeded):
		return failure("%v", err)
	case errors.Is(err, fs.ErrNotExist):
		return errNoSuchFile
	case errors.Is(err, fs.ErrPermission):
		return errDenied
	case errors.Is(err, fs.ErrExist):
		return failure("file exists")
	case errors.As(err, &errno):
		return errnoStatus(errno)
	}
	return errFailure
}

// errnoStatus describes the errors a client can cause or should know of.
func errnoStatus(errno syscall.Errno) error {
	switch errno {
	case syscall.ENOTEMPTY:
		return failure("folder not empty")
	case syscall.EISDIR:
		return failure("is a folder")
	case syscall.ENOTDIR:
		return failure("not a folder")
	case syscall.ENAMETOOLONG:
		return failure("name too long")
	case syscall.ENOSPC, syscall.EDQUOT:
		return failure("no space left on the server")
	case syscall.ELOOP:
		return errNoSuchFile
	}
	return errFailure
}
