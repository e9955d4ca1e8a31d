package usersync

// A BundleMapper is a Mapper whose files make sense only together, such as
// the files of a OneRoster bundle: its manifest.csv says which of the other
// files the bundle holds and in which mode, and a class must name a school
// that orgs.csv lists.
//
// The Pipeline calls Begin once at the start of each run, with the files the
// Source listed, before it reads any of them. Begin returns the same files
// in the order the Pipeline is to read them (a manifest first, then the
// files the others refer to), and the Mapper that reads this run's files:
// it may keep what one file said for the ones after it, since it serves one
// run only. An error from Begin fails the run before any file is read.
//
// A Mapper that is not a BundleMapper reads the files in the Source's
// order, each on its own.
type BundleMapper interface {
	Mapper
	Begin(files []FileInfo) ([]FileInfo, Mapper, error)
}

// A PartReader is a RecordReader of a file that is part of a bundle but
// holds no users, such as a OneRoster manifest.csv or orgs.csv. Part
// reports whether that is so for the file being read; the Pipeline then
// accepts the file without a record, where any other file without one
// fails with [ErrNoRecords].
type PartReader interface {
	RecordReader
	Part() bool
}
