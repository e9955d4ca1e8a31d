// Package report tells people what a usersync run did, in a form an
// administrator can act on: whether it worked, what changed (who was
// created, updated, deactivated, deleted), which rows were rejected and why,
// whether a guard held the plan for approval, and what to do next.
//
// # One model, many renderers
//
// A [Summary] is the one model behind every report: [NewSummary] makes it
// from a run's Result, and [Summarize] from a run's events, which adds the
// time each phase took. It holds the status and its meaning, the files with
// their size, encoding, delimiter, hash and decryption key, the counts of
// each kind of change, the changes themselves (capped, with "and N more"),
// the failed changes, the rejected rows, warnings, the guards that held the
// plan, and timings. It renders as
//
//   - plain text, [WriteText], for a terminal or an email's text part;
//   - HTML, [WriteHTML], escaped, with inline styles and no external
//     asset, for an email or an admin page;
//   - JSON, [WriteJSON], with stable, documented field names, for a host's
//     API; it reads back with json.Unmarshal;
//   - CSV, [WriteChangesCSV] and [WriteRejectedCSV], every change and
//     rejected row, safe to open in a spreadsheet ([Neutralize]).
//
// Package mailreport sends the summary by email and package history keeps
// it; both, like [Text], are Reporters made with Summarize, so every report
// of a run says the same thing.
//
// # Reporters
//
//   - [Text] writes the summary of each run;
//   - [Slog] logs every event to a [log/slog.Logger] with stable keys, and
//     [RedactSecrets] keeps the host's secrets out of any log;
//   - [ProgressFunc] turns the events of a long run into progress a CLI
//     can draw;
//   - [Watch] raises alerts: a feed that stopped arriving, a plan held for
//     approval; reporters that are an [Alerter] deliver them;
//   - [Multi] fans events and alerts out to several reporters, like
//     [log/slog.NewMultiHandler].
//
// Reporters never fail a run: the Pipeline keeps their errors in
// Result.ReportErrors. Package reporttest checks that a Reporter keeps the
// rules.
//
// # Personal data and secrets
//
// Feeds are full of personal data. A summary is written for the
// customer's administrator, who owns that data and must act on it: it names
// people by name and key ("Ann Andersson (E1001)", from the attributes
// Options.Names lists) and shows an update as old → new values, and a
// rejected row with the value at fault. It never shows the value of a
// private attribute (Options.Private, and any whose name says it holds a
// credential, see IsPrivate) nor a value holding one of Options.Secrets:
// such an update says only "changed". Options.KeysOnly names users by key
// alone and shows no value but a rejected row's, for summaries that go
// where personal data must not. Logs (Slog) never hold attribute values.
//
// Error messages are redacted: the passwords of URLs always, and the
// host's own secrets (Options.Secrets, RedactSecrets) wherever they appear.
//
// Text that comes from outside (file names, column headers, error messages
// of servers and sinks) is shown with control characters escaped, so that a
// hostile file name cannot forge lines of a report or an email header, or
// send escape sequences to a terminal; HTML escapes it besides.
package report
