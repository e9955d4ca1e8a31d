// Package usersync keeps a product's users in sync with a customer's
// directory, delivered as CSV files over SFTP, FTP(S) or a local folder,
// optionally PGP-encrypted.
//
// # The job
//
// Each night a customer's HR system, Active Directory script or school
// information system exports its users to a CSV file and drops it in a
// folder: on the product's SFTP server, on the customer's own server, or on
// disk. The product must turn that file into users, groups and memberships:
// create the new ones, update the changed ones, deactivate or delete the ones
// that left, never touch what an administrator created by hand, refuse to
// wipe the directory when a truncated or empty file arrives, and tell an
// administrator what happened.
//
// # The parts
//
// A [Pipeline] wires six small interfaces, each with stock implementations in
// the subpackages and an in-memory fake for tests:
//
//   - [Source] lists and streams files (source/dirsource, source/sftpsource,
//     source/ftpsource, source/memsource; source/sftpserver is a drop box
//     the product embeds, whose tenants' folders are Sources).
//   - [Decryptor] turns ciphertext into plaintext, optionally
//     (decrypt/pgpdecrypt).
//   - [Unpacker], optional too, opens gzip files and zip archives, whose
//     files are each a file of the run, in whatever order they were packed
//     and encrypted (decrypt/unpack).
//   - [Mapper] turns CSV rows into [Record] values (csvmap); a
//     [BundleMapper] reads files that refer to each other, such as a
//     OneRoster bundle, as one (csvmap/oneroster).
//   - [Reconciler] compares the records with the Sink and makes a [Plan]
//     (reconcile).
//   - [Sink] is the product's directory; it applies each [Change]
//     (sink/sqlsink, sink/memsink, sink/scimsink for any SCIM 2.0
//     application).
//   - [Reporter] is told what happened (report).
//
// A [Runner] runs a Pipeline unattended: on a [Schedule], when a file arrives,
// or when asked, one run at a time (and, with a [Locker], one process at a
// time), and shuts down without half-applied plans. Package fleet runs
// thousands of tenants' syncs as jobs that workers on several machines share.
//
// This package holds only the vocabulary, the interfaces and the Pipeline,
// and imports nothing but the standard library: a product that imports it and
// csvmap pulls in no SSH, FTP or PGP code.
//
// # Data flow: plan fully, then apply
//
// [Pipeline.Run] lists the files, streams each one through the Decryptor and
// the Mapper, and keeps the good records; bad rows become [RowError] values
// naming file, line and column, and every other row still counts. A file
// counts only when it was read to a clean end: no transport error, the size
// the Source announced, every integrity check passed, and at least one good
// record. If any file fails, nothing is applied.
//
// The Reconciler then compares the records with the Sink's current state,
// streamed through [Lister], and returns the complete Plan; the Pipeline
// fingerprints the state as it streams past. The Reconciler's safety guards
// may hold the plan (too many deletes, say); a held plan applies nothing and
// the error says why. Otherwise the Pipeline applies the changes in order.
// A change the Sink refuses is reported and the others still apply; every
// change is idempotent, so the next run repairs what failed.
//
// # How a sync uses memory
//
// A run costs memory in proportion to what changed, within
// [Pipeline.MemoryBudget] (256 MiB by default), not in proportion to the
// directory:
//
//   - Before parsing: when the Source is a [Deduplicator], each file is read
//     once to learn its SHA-256 before anything decrypts or maps it. A file
//     applied before then costs one read of its bytes and a few kilobytes.
//     A local file stays open and is read again from its start; a remote
//     one is copied to [Pipeline.TempDir] as it is hashed, so it crosses
//     the network once. A [SizeDeduplicator] (source.Pickup's Picker is
//     one) spares that read when the listing already shows the file is
//     new: no content was applied under its name, or of its size.
//   - While parsing: each good record is packed into a chunk of bytes (its
//     key, its attributes as the Mapper packed them, its groups, its file
//     and line). A full chunk, an eighth of the budget, is sorted by key and
//     written to a temporary file while the next chunk fills, so two chunks
//     are in memory at most. A file of ten million rows costs its size in
//     disk; a file that then fails costs nothing else, and the run removes
//     the temporary file whatever its outcome. A decompression bomb or a
//     row bomb fails on the Decryptor's or Mapper's limits with the same
//     bounded memory.
//   - The diff: [Feed.Sorted] merges the sorted runs back in key order,
//     through a small buffer a run; once one chunk was written, the last
//     is written too, so that the merge holds no chunk while the plan
//     grows. A Sink that is a [DigestLister] lists each user's key with
//     digests of its attributes, state and memberships, in key order too,
//     without decoding anything. The Pipeline lists them while it reads
//     the files, on a core of its own (for a Reconciler that is a
//     [DigestMerger], as the default one is), into a temporary file of
//     about 30 bytes a user, once it knows the files need reading; the
//     Reconciler reads them back from there. The default Reconciler walks
//     both lists side by side, counts the rows whose digests equal their
//     user's as unchanged and drops them, and reads in full (with
//     LookupUsers, in a goroutine beside the merge) only the users whose
//     rows differ, and those the feed lacks. So the planner holds
//     only the rows that changed, and not even those that are new: a row
//     whose key the Sink lacks is planned as a create the moment the merge
//     reads it. Nor all of those that changed: once the rows held reach
//     half of [Feed.MemoryLimit] (an eighth of the budget), the merge
//     notes only the keys of the next ones, and when it is done reads the
//     feed again to pair those rows with their users, a lookup batch at a
//     time (twice under a manager policy: once to learn which references
//     their users match, once to pair them). The users the feed lacks are
//     deferred alike past about as many bytes, and planned as absent as
//     they are read. A night that changes or removes every user holds a
//     share of the budget of rows and users, not all of them (a user
//     listed in several accounts' files is still held, as above).
//     Manager references are resolved once every row is seen:
//     they cost a string per manager, and the creates are read twice more
//     to list them level by level, managers first. Should a later match
//     key find a new row a user after all (the email of a user listed
//     under another key), the row is read from the spool again and
//     planned as a changed row is. So a first load holds no row. With
//     accounts, a row's digest of memberships counts its file's account;
//     a user listed in several accounts' files is held, its rows made one
//     user as before. A Sink that is only a
//     [Lister] works as before: the Reconciler then loads the feed with
//     [Feed.Load] and streams every user past it, which costs memory in
//     proportion to the directory.
//   - The plan: [Plan.Changes] is a [ChangeList], which holds changes in
//     memory up to an eighth of the budget and packs the rest into a
//     temporary file, read back in batches as they are applied or
//     reported. While it plans, the Reconciler hands the changes to users
//     the Sink holds (restores, updates, missing markers, deactivations,
//     deletions) to a [ChangeSorter] for each kind, which together hold
//     another eighth and pack the rest into sorted runs on disk, merged
//     into the list at the end: a sync that changes every user's title
//     holds that share of its updates, not all of them. A first load of a
//     million users plans a million creates
//     and holds about 32 MiB of them; measured with the bench command, its
//     peak RSS fell from about 1.4 GB to about 280 MiB. [Plan.WriteJSON]
//     writes a plan out a change at a time; its MarshalJSON holds the
//     whole encoding. [ReadPlan] reads one back within a [ChangeWriter]'s
//     limit ([Pipeline.ChangeWriter] gives the Pipeline's); UnmarshalJSON
//     holds all of its changes.
//   - Apply: changes go to a [BatchApplier] in batches of BatchSize.
//
// # Approval: plan, review, apply that plan
//
// A held plan, or one from a dry run, is data: it encodes to JSON, the
// reconcile package shows it as a diff a person reads, and once approved,
// [Pipeline.RunApproved] applies exactly its changes. It does so only while
// nothing the plan was computed from has changed: the same files with the
// same content, and a Sink whose [Fingerprint] is still the plan's.
// Otherwise it applies nothing and returns a [StalePlanError].
//
// # Errors
//
// Errors are values to inspect with errors.Is and errors.As: [RowError] for
// one row, [FileError] for a whole file, [GuardError] for a held plan,
// [ChangeError] for a change the Sink refused, [StalePlanError] for an
// approved plan that no longer applies, and the sentinels [ErrIntegrity],
// [ErrNoRecords], [ErrGuardTripped], [ErrDuplicateKey], [ErrNotFound],
// [ErrChangesFailed] and [ErrStalePlan].
//
// # Writing your own parts
//
// Any part can be the host's own: a Sink that calls the product's user
// service, a Source that reads from object storage. The conformance suites in
// source/sourcetest and sink/sinktest check an implementation against the
// contracts written here.
package usersync
