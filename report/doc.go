// Package report tells people what a usersync run did.
//
// It holds the stock [usersync.Reporter] implementations and the plain-text
// summary that other reporters (email, chat, a history page) build on:
//
//   - [WriteText] renders a [usersync.Result] as a summary an administrator
//     can act on, and [Text] writes one when each run finishes;
//   - [Headline] is the summary's first line, for an email subject;
//   - [Slog] logs every event to a [log/slog.Logger] with stable keys;
//   - [Multi] fans events out to several reporters, like
//     [log/slog.NewMultiHandler].
//
// # Personal data
//
// Feeds are full of personal data. Nothing here prints or logs a user's
// attributes: a change is named by its kind and the user's key. The only
// value ever shown is the one that got a row rejected, in the text summary
// (as [usersync.RowError] formats it), because an administrator cannot fix
// the file without seeing it; the log names the row's file, line and column
// but not the value.
//
// Text that comes from outside (file names, column headers, error messages
// of servers and sinks) is shown with control characters escaped, so that a
// hostile file name cannot forge lines of a report or send escape sequences
// to a terminal.
package report
