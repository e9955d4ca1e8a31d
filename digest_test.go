package usersync_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/usersync/usersync"
)

func TestDigestUser(t *testing.T) {
	base := usersync.Record{Key: "E1", Attrs: usersync.NewAttrs("email", "a@x", "name", "Ann"), Groups: []string{"g1"}, Managed: true}
	d := usersync.DigestUser(&base)
	assert.True(t, d.Known)
	assert.Equal(t, "E1", d.Key)

	other := base
	other.Attrs = usersync.NewAttrs("name", "Ann", "email", "a@x") // another layout order
	other.Origin = usersync.Position{File: "users.csv", Line: 7}   // not part of the user
	assert.Equal(t, d, usersync.DigestUser(&other), "names in another order, same user")

	for name, change := range map[string]func(r *usersync.Record){
		"value":         func(r *usersync.Record) { r.Attrs = usersync.NewAttrs("email", "a@x", "name", "Anne") },
		"value moved":   func(r *usersync.Record) { r.Attrs = usersync.NewAttrs("email", "a@xA", "name", "nn") },
		"attr added":    func(r *usersync.Record) { r.Attrs = usersync.NewAttrs("email", "a@x", "name", "Ann", "title", "") },
		"name swapped":  func(r *usersync.Record) { r.Attrs = usersync.NewAttrs("email", "Ann", "name", "a@x") },
		"inactive":      func(r *usersync.Record) { r.Inactive = true },
		"not managed":   func(r *usersync.Record) { r.Managed = false },
		"missing runs":  func(r *usersync.Record) { r.MissingRuns = 1 },
		"missing since": func(r *usersync.Record) { r.MissingSince = 1 },
	} {
		r := base
		change(&r)
		got := usersync.DigestUser(&r)
		assert.NotEqual(t, d.Attrs, got.Attrs, name)
		assert.Equal(t, d.Groups, got.Groups, name)
	}
	for name, groups := range map[string][]string{
		"nil": nil, "empty": {}, "other": {"g2"}, "more": {"g1", "g2"}, "split": {"g", "1"},
	} {
		r := base
		r.Groups = groups
		got := usersync.DigestUser(&r)
		assert.Equal(t, d.Attrs, got.Attrs, name)
		assert.NotEqual(t, d.Groups, got.Groups, name)
	}
	empty, none := base, base
	empty.Groups, none.Groups = []string{}, nil
	assert.NotEqual(t, usersync.DigestUser(&empty).Groups, usersync.DigestUser(&none).Groups, "nil says nothing; empty says no group")
}

func BenchmarkDigestUser(b *testing.B) {
	l := usersync.NewLayout("name", "email", "title", "department", "phone", "mobile", "manager", "language")
	r := usersync.Record{Key: "EMP-0001234", Attrs: l.Make([]string{"Ann Andersson", "ann.andersson@example.com", "Nurse",
		"Cardiology", "+46 8 123 456", "+46 70 123 4567", "EMP-0000001", "sv"}), Groups: []string{"g1", "g7"}, Managed: true}
	b.ReportAllocs()
	for b.Loop() {
		usersync.DigestUser(&r)
	}
}

func BenchmarkDigester(b *testing.B) {
	l := usersync.NewLayout("name", "email", "title", "department", "phone", "mobile", "manager", "language")
	r := usersync.Record{Key: "EMP-0001234", Attrs: l.Make([]string{"Ann Andersson", "ann.andersson@example.com", "Nurse",
		"Cardiology", "+46 8 123 456", "+46 70 123 4567", "EMP-0000001", "sv"}), Groups: []string{"g1", "g7"}, Managed: true}
	var d usersync.Digester
	b.ReportAllocs()
	for b.Loop() {
		d.Digest(&r)
	}
}
