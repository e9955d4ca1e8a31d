package oneroster

import (
	"cmp"
	"math"
	"slices"
)

// The indexes below hold what one file says about users for a later file
// of the bundle, in about 16 to 24 bytes a user: a hash of the user's
// sourcedId (64 bits of hash/maphash, so that two of a million users share
// one by chance about once in 10¹⁶ bundles) and a few small numbers, in a
// slice sorted once the file is read. A million users cost tens of MB, not
// a map of strings.

// A userIndex holds users.csv's users by sourcedId: whether each is in
// scope, and its key when the key is not the sourcedId.
type userIndex struct {
	ents   []userEnt
	keys   []byte // the keys userEnt points into
	sorted bool
}

type userEnt struct {
	h   uint64
	off uint32
	n   uint16
	in  bool // in scope: the user has a record
}

// add indexes a user; key is stored when it is not "".
func (x *userIndex) add(h uint64, key string, in bool) {
	e := userEnt{h: h, in: in}
	if key != "" && len(key) <= 0xFFFF && uint64(len(x.keys)+len(key)) <= math.MaxUint32 {
		e.off, e.n = uint32(len(x.keys)), uint16(len(key))
		x.keys = append(x.keys, key...)
	}
	x.ents = append(x.ents, e)
	x.sorted = false
}

// find returns the first user with the hash.
func (x *userIndex) find(h uint64) (userEnt, bool) {
	if !x.sorted {
		slices.SortStableFunc(x.ents, func(a, b userEnt) int { return cmp.Compare(a.h, b.h) })
		x.sorted = true
	}
	i, ok := slices.BinarySearchFunc(x.ents, h, func(e userEnt, h uint64) int { return cmp.Compare(e.h, h) })
	if !ok {
		return userEnt{}, false
	}
	return x.ents[i], true
}

// key returns the stored key of e, or "" if none was stored.
func (x *userIndex) key(e userEnt) string {
	if e.n == 0 {
		return ""
	}
	return string(x.keys[e.off : e.off+uint32(e.n)])
}

// A roleIndex holds roles.csv (1.2) by user: each row's role, org and line.
type roleIndex struct {
	ents    []roleEnt
	orgs    []string // org sourcedIds, by roleEnt.org
	orgIdx  map[string]uint32
	roles   []string // role names, by roleEnt.role
	roleIdx map[string]uint16
	sorted  bool
}

type roleEnt struct {
	h       uint64
	line    uint32
	org     uint32
	role    uint16
	primary bool
	used    bool // a user of users.csv has this role
}

func (x *roleIndex) add(h uint64, line int, org, role string, primary bool) {
	if x.orgIdx == nil {
		x.orgIdx = make(map[string]uint32)
		x.roleIdx = make(map[string]uint16)
	}
	o, ok := x.orgIdx[org]
	if !ok {
		o = uint32(len(x.orgs))
		x.orgs = append(x.orgs, org)
		x.orgIdx[org] = o
	}
	r, ok := x.roleIdx[role]
	if !ok {
		r = uint16(len(x.roles))
		x.roles = append(x.roles, role)
		x.roleIdx[role] = r
	}
	x.ents = append(x.ents, roleEnt{h: h, line: uint32(line), org: o, role: r, primary: primary})
	x.sorted = false
}

// lookup returns the roles of the user with the hash, in file order, and
// marks them used.
func (x *roleIndex) lookup(h uint64) []roleEnt {
	if !x.sorted {
		slices.SortStableFunc(x.ents, func(a, b roleEnt) int { return cmp.Compare(a.h, b.h) })
		x.sorted = true
	}
	i, _ := slices.BinarySearchFunc(x.ents, h, func(e roleEnt, h uint64) int { return cmp.Compare(e.h, h) })
	j := i
	for j < len(x.ents) && x.ents[j].h == h {
		x.ents[j].used = true
		j++
	}
	return x.ents[i:j]
}

// role returns the user's role: that of the first primary role, else of
// the first.
func (x *roleIndex) role(ents []roleEnt) string {
	for _, e := range ents {
		if e.primary {
			return x.roles[e.role]
		}
	}
	return x.roles[ents[0].role]
}

// unused returns the lines of the roles of no user, in file order.
func (x *roleIndex) unused() []int {
	var lines []int
	for _, e := range x.ents {
		if !e.used {
			lines = append(lines, int(e.line))
		}
	}
	slices.Sort(lines)
	return lines
}
