// Package sftpserver is an SFTP drop box to embed in a product: an SSH
// server that gives each customer (a tenant) its own folder, and tells the
// product the moment a file has been uploaded, so that it can sync the
// customer's users from it. It replaces the OpenSSH server with chroot
// jails, or the rented transfer service, and the folder watcher that
// products otherwise run for this.
//
// # Serving
//
// The host gives New its host keys and its Tenants, and calls Serve or
// ListenAndServe; Shutdown stops it gracefully. Tenants looks a user name
// up at each login and returns its Tenant: an ID, the local folder the
// tenant sees as "/", password hashes (argon2id from HashPassword, or
// bcrypt) and authorized public keys. MemTenants is a ready implementation
// whose users' passwords and keys can be added and revoked while the
// server runs; Server.Disconnect ends the sessions of a user whose
// credentials were revoked.
//
// # What a tenant can do
//
// A tenant can upload, list, rename and delete files in its folder, make
// and remove subfolders, and set files' times; downloading is off unless
// Options.AllowDownload is set. It cannot reach outside its folder: every
// path goes through an os.Root, so neither ".." nor an absolute path nor a
// symbolic link leaves the folder, and links cannot be made or read. Names
// that a usersync.Source would refuse (control characters, backslashes)
// cannot be created. Shells, commands, port forwarding, agent and X11
// forwarding are refused, and logged.
//
// # Uploads
//
// An upload is written to a temporary file in a hidden staging folder
// inside the tenant's folder, and moved to its name, in one rename, only
// when the client closes it after every write succeeded: no one, neither
// the tenant nor the host's sync, ever sees a partial file. An upload over
// quota, one whose client was killed or whose connection broke, and one in
// progress when the server is closed are removed. Before the rename the
// file is synced to disk (unless Options.NoSync) and its SHA-256 computed
// as it arrives.
//
// Each complete file is then announced to Options.OnUpload as an Upload:
// tenant, user, name, size, SHA-256. A file a client renames (some upload
// to "name.filepart" and rename) is announced under its new name too.
// NewSource returns a usersync.Source over a tenant's folder, which
// source.Pickup wraps like any other, so OnUpload can run the tenant's
// sync at once.
//
// # Hardening
//
// The server faces the internet and is hardened for it:
//
//   - Quotas per tenant, enforced while writing: the size of one file, the
//     bytes and the number of files and folders in the folder.
//   - Connection limits: in all, per client address (logged in or not),
//     and sessions per tenant. A refused connection is told why in an SSH
//     disconnect message ("too many connections from this address, try
//     again later"), which OpenSSH's client prints.
//   - Password guessing is slowed (a delay that doubles with each failure)
//     and then locked out for a while, per user name and address; an
//     address that guesses user names is locked out for unknown names and
//     for users that failed from it, never for a tenant that did not (see
//     Lockout). Unknown user names take as long to refuse as known ones. At
//     most a few password hashes are checked at once.
//   - Per-tenant address allow-lists (Tenant.AllowedNetworks), checked
//     before any credential, changeable while the server runs; a refusal
//     is audited and counts toward the lockout.
//   - Timeouts: to log in, and for a logged-in connection that goes idle.
//   - Modern algorithms only (see DefaultAlgorithms): no SHA-1, no CBC, no
//     finite-field Diffie-Hellman, no DSA, RSA keys of 2048 bits or more.
//   - The server announces no software version, and sends clients no
//     detail of its errors beyond what they need.
//
// # Audit log
//
// Every login, failed login, lockout, refused connection, refused request,
// upload, failed upload, download, rename, removal, folder change, idle
// timeout and logout is logged to Options.Logger with these attributes,
// which stay stable: event (login, login_failed, lockout, refused, denied,
// upload, upload_failed, download, rename, remove, mkdir, rmdir,
// idle_timeout, logout, handshake_failed, sync_failed, on_upload_panic),
// tenant, user, remote (the client's address), and as they apply method
// (password or publickey), key (the SHA256 fingerprint of the key used),
// file, from (a rename's old name), bytes, sha256, duration, reason, request
// (what was denied), detail (the command or subsystem asked for), until (when
// a lockout ends) and error. Passwords are never logged.
package sftpserver
