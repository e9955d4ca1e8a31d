package reconcile

// WithRowLimit makes r's merges hold about n bytes of the rows that differ
// from their Sink user, and defer the rest.
func WithRowLimit(r *Reconciler, n int64) *Reconciler {
	r.rowLimit = n
	return r
}
