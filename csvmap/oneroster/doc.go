// Package oneroster reads OneRoster CSV bundles (1.0, 1.1 and 1.2), the
// exports of school information systems that Clever, ClassLink and most
// learning products read: manifest.csv, orgs.csv, classes.csv, users.csv,
// enrollments.csv, roles.csv in 1.2, and more.
//
// [New] returns a [Mapper], a usersync.BundleMapper: at the start of each
// run the Pipeline gives it the files the Source listed, and it returns
// them in the order it reads them, with a Mapper for that run alone:
//
//	m, err := oneroster.New(&oneroster.Options{Roles: oneroster.StaffRoles()})
//	p := usersync.Pipeline{Source: src, Mapper: m, Reconciler: reconcile.New(nil), Sink: sink}
//
// # What a bundle becomes
//
//   - manifest.csv is read first. Every file it marks bulk or delta must be
//     in the run, and every file of the run must be one it marks so: an
//     incomplete bundle fails with [ErrManifest] and applies nothing, like
//     any failed file. Its oneroster.version says which columns to read.
//   - orgs.csv: each org is a group, named after it, whose parent is the
//     group of its parent org (a school's district). Orgs are groups rather
//     than reconcile's accounts, since Policy.Accounts ties accounts to
//     files, and one users.csv holds the users of every school.
//   - classes.csv: each class is a group named after its title, whose
//     parent is the group of its school.
//   - users.csv: each user is a record keyed by sourcedId (or Options.Key),
//     with the attributes of [AttrNames], role among them. enabledUser
//     false makes an inactive user. A user is a member of the groups of
//     its orgs (1.1: orgSourcedIds; 1.2: its roles' orgs and its
//     primaryOrgSourcedId) and of its classes. Options.Roles keeps the
//     users of some roles only: the others are out of scope, counted as
//     skipped rather than rejected; Options.RoleAttrs gives a role's users
//     attributes of their own (students need not hold what staff do).
//   - roles.csv (1.2): each user's role (that of its primary role) and
//     orgs, read before users.csv. In a 1.2 delta whose roles.csv does not
//     give a user's role, the record has no role attribute, and with
//     Options.Roles set the user is out of scope: left as it is.
//   - enrollments.csv: each enrollment is a membership of the user in the
//     class's group: a fragment record (usersync.Record.Fragment) that the
//     Pipeline merges into the user's record.
//   - the other files (courses, academic sessions, demographics, ...) are
//     read to their end, so that the bundle is verified as a whole, and
//     feed nothing.
//
// # References
//
// The specification's required values and references are checked as the
// files are read, in that order: a class whose school orgs.csv lacks, a
// user whose org or role is unknown, an enrollment whose class, school or
// user is missing. Each rejects its row with a *usersync.RowError naming
// the file, line and column, and the file the reference should be in; the
// other rows still count. A reference into a file the manifest marks delta
// or absent cannot be checked (the record may come from an earlier bundle)
// and is taken as it is.
//
// What one file says for the next is kept in compact indexes: the org IDs,
// a 64-bit hash of each class's sourcedId, and 16 to 24 bytes per user (a
// 64-bit hash of its sourcedId), so that a bundle of a million users costs
// tens of MB beside the Pipeline's spool, not a map of a million strings;
// they are dropped once enrollments.csv is read, before the plan is made.
// A class's group holds its ID and title in one string of their own, and
// the ID of its school's group is one string for all the school's classes.
//
// # Bulk and delta
//
// A bulk bundle is a snapshot: users it leaves out, or marks tobedeleted,
// are absent, and the Reconciler's absent-user policy applies. A delta
// bundle lists the users that changed, with status and dateLastModified:
// the Reconciler must run in delta mode (reconcile.Policy.Mode = Delta),
// and [Options].Delta says so to the Mapper, which fails a bundle whose
// manifest disagrees ([ErrMode]) rather than let a delta deactivate
// everyone it leaves out. A tobedeleted user is an inactive record: a
// leaver, deactivated or deleted as the policy says. Delta records say
// nothing of memberships (their Groups are nil), and a delta run refuses
// enrollments.csv: usersync lists a user's groups in full, so a delta's
// few enrollments would take the user out of every other class. Class
// memberships come from bulk bundles; a tobedeleted org or class is left
// out of the groups the bundle lists, and the Sink's group stays.
//
// # Containers
//
// The Mapper knows a bundle's files by their base names, in any case, with
// the suffixes an encrypted or compressed file has (users.csv.pgp,
// users.csv.gz: a Decryptor or Unpacker passes the plaintext on under the
// delivered name), all in one folder. A bundle delivered as a folder of
// files, over SFTP or on disk, is read as it is. A bundle delivered as a
// zip (bundle.zip, or bundle.zip.pgp) needs the Pipeline's Unpacker
// (decrypt/unpack): Begin given the zip alone leaves the Mapper to begin
// there, and the Pipeline begins it again with the zip's files, named
// "bundle.zip/users.csv" and so on, which it reads in the Mapper's order.
package oneroster
