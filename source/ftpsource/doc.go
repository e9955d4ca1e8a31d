// Package ftpsource is a [usersync.Source] over a folder, or one file, on
// an FTP server, with TLS (FTPS) unless plain FTP is chosen. It is built
// on github.com/jlaffaye/ftp.
//
// # TLS by default
//
// A [Config] speaks explicit TLS (AUTH TLS, port 21) unless it says
// Implicit (TLS from the first byte, port 990) or Plain. A server that
// does not offer TLS is refused with [ErrNoTLS] before the password is
// sent; plain FTP, which sends the password and the files in clear, runs
// only when Config.TLS is Plain, and then logs a warning at each
// connection. Data connections are encrypted too (PROT P).
//
// The server's certificate is verified against the system's roots or
// Config.RootCAs, for Config.ServerName (the host by default), or pinned
// by its SHA-256 fingerprint (Config.CertificateSHA256), as a self-signed
// certificate must be. A certificate that is not trusted fails with a
// [*CertificateError] that shows what the server presented, fingerprint
// included, so that an administrator can confirm and pin it. There is no
// switch to skip verification.
//
// Each data connection resumes the TLS session of its control connection,
// as vsftpd (require_ssl_reuse), ProFTPD and FileZilla Server demand: the
// Source sets the ServerName and a session cache that
// github.com/jlaffaye/ftp leaves unset.
//
// # Passive mode, pinned to the server
//
// Data connections use EPSV, falling back to PASV, and always go to the
// address of the control connection, whatever address a PASV answer
// names: a server behind NAT often names an unusable private address, and
// a hostile one could name a third host. Transfers are binary.
//
// # One transfer per connection
//
// An FTP connection carries one transfer at a time. A Source keeps a
// small pool of connections (Options.MaxConnections): each List, Open,
// Remove or Rename takes one for its duration (a download until it is
// closed), and waits for one when all are busy. Its methods are safe for
// concurrent use.
//
// # A dead server cannot hang a run
//
// Connecting (TCP, TLS, login, changing to the folder) is bounded by
// Options.ConnectTimeout. Once connected, the server may stay silent at
// most Options.Timeout, on the control connection and on data
// connections alike: every read and write has a deadline. A canceled ctx
// closes the connection at once, which interrupts a blocked read.
// Connecting, and an operation whose connection broke, are retried with
// exponential backoff (Options.Retries); a refused login, an untrusted
// certificate or a timeout are not. A download that breaks is not
// resumed: the file fails, and the next run reads it again.
//
// # Verified downloads
//
// Open asks the file's size (SIZE) before the transfer. The stream ends
// with io.EOF only once exactly that many bytes arrived and the server
// confirmed the transfer on the control connection (226). A transfer that
// ends short or long, or that the server reports as failed after the
// bytes (426, 451), fails with an error wrapping usersync.ErrIntegrity;
// so does a missing final reply.
//
// # Names
//
// Names from the server are never trusted: List leaves out, and logs, any
// name that source.ValidName refuses (a "..", a slash, a backslash, a
// control character), and every method refuses such names before
// touching the server. Each refused name is logged once, at Warn level,
// while it stays in the folder (later listings log it at Debug level).
//
// Nor is a listing taken at its word. LIST (the only listing vsftpd
// offers) and MLSD both send a name as it is, so an upload whose name
// holds a line break makes lines of its own that read as entries, with
// the names, sizes and times the uploader chose. List therefore asks the
// server about each listed file by its name: its size from SIZE and, for
// LIST (whose times are to the minute at best) or a name listed twice,
// its time from MDTM. A listed name the server has no file of is left out
// and logged ("listed file left out"); a name listed twice is taken once,
// with what SIZE and MDTM say. This costs one or two round trips per file
// in the folder at each listing. A server that answers neither SIZE nor
// MDTM cannot be cross-checked, and its listing is taken as it is.
//
// Besides Source, a *Source implements [usersync.Remover],
// [usersync.Renamer] and [usersync.Checker]. Wrap it with source.Pickup
// for name patterns, readiness, archiving and skipping content already
// applied.
package ftpsource
