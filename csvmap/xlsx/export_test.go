package xlsx

// SetInlineAbove sets the size of a shared string table above which the
// sheet is rewritten with its strings inline, and returns the old one.
func SetInlineAbove(n uint64) uint64 {
	old := inlineAbove
	inlineAbove = n
	return old
}
