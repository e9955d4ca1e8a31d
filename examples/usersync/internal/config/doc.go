// Package config reads the YAML config file of the usersync command: where
// the files come from, how they are decrypted and mapped, what the sync may
// do, where the directory is, who hears about each run, and when watch
// runs.
//
// Load checks the whole file before anything connects anywhere, and reports
// every problem at once, each naming the file, the line and the key:
//
//	usersync.yaml:12: source.sftp.prot: unknown key; did you mean "port"?
//	usersync.yaml:15: source.sftp.password: secrets are never read from the config file: ...
//
// Secrets (passwords, passphrases, a PostgreSQL DSN with a password) come
// from environment variables (password_env: NAME) or files (password_file:
// /run/secrets/sftp), never from the config file itself, so that the file
// can be kept in version control and shown to a colleague. Config.Secrets
// lists them for redaction.
//
// Relative file names start in the config file's folder. Durations are
// written as 30s, 5m, 2h or 7d, sizes as 100MB or 4GiB, time zones by
// their IANA names, such as America/Chicago.
package config
