package sftpserver

import (
	"github.com/usersync/usersync/source/dirsource"
)

// NewSource returns a usersync.Source over a tenant's folder (its
// Tenant.Root), for the host's sync to read what the tenant uploaded. It is
// a dirsource.Source: it offers the regular files of the folder itself,
// sorted by name, and never an upload in progress, which the server keeps
// in a hidden staging folder until it is complete. It is also a Remover,
// Renamer and Checker, so that source.Pickup can delete or archive files
// after a sync.
//
// Since every file the folder shows is complete, Pickup need not wait for
// files to age: give it a negative PickupOptions.MinAge and call the
// sync from Options.OnUpload. After success, source.Delete keeps the folder
// clean; source.Archive moves files to a subfolder the tenant sees, may
// delete, and whose files count against its Quota.
func NewSource(root string) (*dirsource.Source, error) {
	return dirsource.New(root, nil)
}
