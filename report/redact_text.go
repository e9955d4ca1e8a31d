package report

// Redact returns s with every one of secrets, and the password of every URL,
// replaced by Redacted, as RedactSecrets does for log records: for the text a
// host prints itself, such as a command's error messages. Secrets are
// replaced as whole tokens, as RedactSecrets says.
func Redact(s string, secrets ...string) string { return newRedactor(secrets).redact(s) }
