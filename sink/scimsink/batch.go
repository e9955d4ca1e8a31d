package scimsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/usersync/usersync"
)

// ApplyBatch applies cs with the result of applying them one by one in
// order. With the Bulk endpoint (see [Sink.Bulk]) it sends the user
// changes in Bulk requests of at most maxOperations operations and
// maxPayloadSize bytes; otherwise it sends up to Options.Concurrency
// changes at a time, each after the earlier changes to the same user or
// group. Either way a change that fails does not stop the others.
func (s *Sink) ApplyBatch(ctx context.Context, cs []usersync.Change) []error {
	errs := make([]error, len(cs))
	if err := ctx.Err(); err != nil {
		for i := range errs {
			errs[i] = err // the Pipeline's ChangeError names the change
		}
		return errs
	}
	if s.cfg.bulk {
		s.applyBulk(ctx, cs, errs)
	} else {
		s.applyConcurrent(ctx, cs, errs)
	}
	if !slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
		return nil
	}
	return errs
}

// touches returns the names of what a change writes (a user's keys, a
// group's ID) and reads (the groups it joins or leaves).
func touches(c *usersync.Change) (writes, reads []string) {
	if c.Kind.IsGroup() {
		return []string{"g:" + c.Group.ID}, nil
	}
	writes = []string{"u:" + c.User.Key}
	if c.OldKey != "" {
		writes = append(writes, "u:"+c.OldKey)
	}
	for _, g := range c.Join {
		reads = append(reads, "g:"+g)
	}
	for _, g := range c.Leave {
		reads = append(reads, "g:"+g)
	}
	return writes, reads
}

// applyConcurrent applies cs with bounded concurrency: a change waits for
// the earlier changes that write what it writes or reads, and a change
// writing a group waits for the earlier changes reading it, so the result
// is that of the order given.
func (s *Sink) applyConcurrent(ctx context.Context, cs []usersync.Change, errs []error) {
	done := make([]chan struct{}, len(cs))
	lastWrite := map[string]int{}
	readers := map[string][]int{}
	sem := make(chan struct{}, or(s.opts.Concurrency, 8))
	var wg sync.WaitGroup
	for i := range cs {
		done[i] = make(chan struct{})
		writes, reads := touches(&cs[i])
		var deps []int
		for _, k := range append(slices.Clone(writes), reads...) {
			if j, ok := lastWrite[k]; ok {
				deps = append(deps, j)
			}
		}
		for _, k := range writes {
			deps = append(deps, readers[k]...)
			delete(readers, k)
			lastWrite[k] = i
		}
		for _, k := range reads {
			readers[k] = append(readers[k], i)
		}
		wg.Go(func() {
			defer close(done[i])
			for _, d := range deps {
				<-done[d]
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = s.Apply(ctx, cs[i])
		})
	}
	wg.Wait()
}

// bulkOp is one operation of a Bulk request.
type bulkOp struct {
	Method  string   `json:"method"`
	BulkID  string   `json:"bulkId,omitempty"`
	Version string   `json:"version,omitempty"`
	Path    string   `json:"path"`
	Data    resource `json:"data,omitempty"`
}

// bulkChange is a change planned for Bulk: its operations, and the state
// of its user once applied.
type bulkChange struct {
	i      int // index in the batch
	ops    []bulkOp
	plan   *userPlan
	keys   []string // user keys it writes
	bulkID string   // of the user it creates, if any
	redo   bool     // apply it again alone: its outcome is unknown or an operation failed
}

// applyBulk applies cs through the Bulk endpoint. Group changes are
// applied alone, in their place; the user changes between them are
// planned against the users as the server holds them (looked up in
// chunks), and sent in Bulk requests. A change whose operations do not all
// succeed, or whose request broke, is applied again alone, in order, with
// the later changes to the same user: every change is idempotent, so that
// duplicates nothing, and gives each change its own error.
func (s *Sink) applyBulk(ctx context.Context, cs []usersync.Change, errs []error) {
	for start := 0; start < len(cs); {
		if cs[start].Kind.IsGroup() {
			errs[start] = s.Apply(ctx, cs[start])
			start++
			continue
		}
		end := start
		for end < len(cs) && !cs[end].Kind.IsGroup() {
			end++
		}
		s.bulkUsers(ctx, cs[start:end], errs[start:end])
		start = end
	}
}

// lookupChunk is how many keys one filter looks up.
const lookupChunk = 50

// lookup returns the users held under keys, by externalId and, for keys
// without one, by userName.
func (s *Sink) lookup(ctx context.Context, keys []string) (map[string]*userState, error) {
	found := map[string]*userState{}
	byFilter := func(attr string, keys []string) error {
		for chunk := range slices.Chunk(keys, max(1, min(lookupChunk, s.cfg.pageSize))) {
			var f []string
			for _, k := range chunk {
				f = append(f, attr+" eq "+escape(k))
			}
			var rs []resource
			for page, err := range s.pages(ctx, "/Users", url.Values{"filter": {strings.Join(f, " or ")}}) {
				if err != nil {
					return err
				}
				rs = append(rs, page...)
			}
			for _, r := range rs {
				ext, _ := r["externalId"].(string)
				un, _ := r["userName"].(string)
				switch {
				case attr == "externalId" && slices.Contains(chunk, ext):
					found[ext] = newUserState(r)
				case attr == "userName" && ext == "":
					for _, k := range chunk {
						if strings.EqualFold(k, un) {
							found[k] = newUserState(r)
						}
					}
				}
			}
		}
		return nil
	}
	if err := byFilter("externalId", keys); err != nil {
		return nil, err
	}
	var rest []string
	for _, k := range keys {
		if found[k] == nil {
			rest = append(rest, k)
		}
	}
	if err := byFilter("userName", rest); err != nil {
		return nil, err
	}
	return found, nil
}

func (s *Sink) bulkUsers(ctx context.Context, cs []usersync.Change, errs []error) {
	var keys []string
	for i := range cs {
		keys = append(keys, cs[i].User.Key)
		if cs[i].OldKey != "" {
			keys = append(keys, cs[i].OldKey)
		}
	}
	slices.Sort(keys)
	state, err := s.lookup(ctx, slices.Compact(keys))
	if err != nil {
		for i := range errs {
			errs[i] = err // the Pipeline's ChangeError names the change
		}
		return
	}
	// Plan every change against the state the earlier ones leave.
	var planned []*bulkChange
	for i := range cs {
		c := &cs[i]
		bc, err := s.planBulk(ctx, i, c, state)
		if err != nil {
			errs[i] = err
			continue
		}
		planned = append(planned, bc)
	}
	s.sendBulk(ctx, planned)
	// Apply again alone what did not apply, and what follows it for the
	// same user.
	dirty := map[string]bool{}
	for _, bc := range planned {
		if !bc.redo && !slices.ContainsFunc(bc.keys, func(k string) bool { return dirty[k] }) {
			continue
		}
		for _, k := range bc.keys {
			dirty[k] = true
		}
		errs[bc.i] = s.Apply(ctx, cs[bc.i])
	}
}

// planBulk plans c against state and updates state to what it leaves.
func (s *Sink) planBulk(ctx context.Context, i int, c *usersync.Change, state map[string]*userState) (*bulkChange, error) {
	if c.User.Key == "" {
		return nil, errors.New("empty key")
	}
	ms, err := s.memberships(ctx, c)
	if err != nil {
		return nil, err
	}
	target := state[c.User.Key]
	if c.OldKey != "" && c.OldKey != c.User.Key && c.Kind != usersync.CreateUser {
		switch old := state[c.OldKey]; {
		case old != nil && target != nil:
			return nil, fmt.Errorf("cannot re-key user %q to %q: the key is taken", c.OldKey, c.User.Key)
		case old != nil:
			target = old
		}
	}
	if target == nil && c.Kind == usersync.CreateUser && s.codec.userName != "" {
		return &bulkChange{i: i, keys: []string{c.User.Key}, redo: true}, nil // needs a look-up by userName
	}
	p, err := s.plan(c, target, ms)
	if err != nil {
		return nil, err
	}
	bc := &bulkChange{i: i, plan: p, keys: []string{c.User.Key}}
	if c.OldKey != "" {
		bc.keys = append(bc.keys, c.OldKey)
	}
	id := ""
	if target != nil {
		id = target.id
		delete(state, key(target.res))
	}
	switch p.method {
	case http.MethodPost:
		bc.bulkID = "u" + strconv.Itoa(i)
		id = "bulkId:" + bc.bulkID
		bc.ops = append(bc.ops, bulkOp{Method: http.MethodPost, BulkID: bc.bulkID, Path: "/Users", Data: p.body})
	case http.MethodDelete:
		bc.ops = append(bc.ops, bulkOp{Method: http.MethodDelete, Path: "/Users/" + id, Version: p.version})
	case http.MethodPatch, http.MethodPut:
		bc.ops = append(bc.ops, bulkOp{Method: p.method, Path: "/Users/" + id, Version: p.version, Data: p.body})
	}
	for _, m := range p.members {
		if target != nil && target.groups != nil && target.groups[m.gid] == m.add {
			continue
		}
		bc.ops = append(bc.ops, bulkOp{Method: http.MethodPatch, Path: "/Groups/" + m.gid,
			Data: patchBody([]any{s.memberOp(id, m.add)})})
	}
	if p.after != nil {
		after := *p.after
		after.id = id
		after.version = "" // a version the Bulk request changes
		if after.groups != nil || p.method == http.MethodPost {
			after.groups = map[string]bool{}
			if target != nil {
				for g, in := range target.groups {
					after.groups[g] = in
				}
			}
			for _, m := range p.members {
				after.groups[m.gid] = m.add
			}
		}
		state[c.User.Key] = &after
	}
	if s.marks != nil && p.marker != nil {
		bc.redo = true // the marker is kept outside the server: apply alone
	}
	return bc, nil
}

// bulkOverhead is a Bulk request's size besides its operations, and a
// margin for each operation's separator.
const bulkOverhead = 256

// sendBulk sends the planned changes in Bulk requests, each change's
// operations in one request, marking for redo the changes that did not
// fully apply.
func (s *Sink) sendBulk(ctx context.Context, planned []*bulkChange) {
	ids := map[string]string{}  // bulkId → id, of users created
	failed := map[string]bool{} // bulkIds whose create failed
	var batch []*bulkChange
	nops, size := 0, bulkOverhead
	flush := func() {
		if len(batch) > 0 {
			s.sendOne(ctx, batch, ids, failed)
		}
		batch, nops, size = nil, 0, bulkOverhead
	}
	for _, bc := range planned {
		if bc.redo || len(bc.ops) == 0 {
			continue
		}
		// Resolve references to users created by earlier requests.
		b, _ := marshal(bc.ops)
		if bulkRef.Match(b) {
			b = bulkRef.ReplaceAllFunc(b, func(m []byte) []byte {
				if id, ok := ids[string(m[len("bulkId:"):])]; ok {
					return []byte(id)
				}
				return m
			})
			var ops []bulkOp
			if json.Unmarshal(b, &ops) == nil {
				bc.ops = ops
			}
		}
		if refersTo(string(b), failed) {
			bc.redo = true
			continue
		}
		if nops+len(bc.ops) > s.cfg.maxOps || size+len(b) > s.cfg.maxPayload {
			flush()
		}
		batch = append(batch, bc)
		nops += len(bc.ops)
		size += len(b) + len(bc.ops)
	}
	flush()
}

var bulkRef = regexp.MustCompile(`bulkId:u[0-9]+`)

// refersTo reports whether s refers to one of the failed bulkIds.
func refersTo(s string, failed map[string]bool) bool {
	for ref := range failed {
		if strings.Contains(s, "bulkId:"+ref) {
			return true
		}
	}
	return false
}

// sendOne sends one Bulk request.
func (s *Sink) sendOne(ctx context.Context, batch []*bulkChange, ids map[string]string, failed map[string]bool) {
	var ops []bulkOp
	owner := []*bulkChange{}
	for _, bc := range batch {
		ops = append(ops, bc.ops...)
		for range bc.ops {
			owner = append(owner, bc)
		}
	}
	fail := func() {
		for _, bc := range batch {
			bc.redo = true
			if bc.bulkID != "" {
				failed[bc.bulkID] = true
			}
		}
	}
	// A Bulk request is not sent twice: its outcome is unknown if the
	// connection broke, and its changes are applied again alone instead.
	resp, err := s.c.do(ctx, http.MethodPost, "/Bulk", nil, resource{
		"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "Operations": ops}, "")
	if err != nil {
		s.c.log.Warn("scimsink: a Bulk request failed; applying its changes one by one", "error", err, "operations", len(ops))
		fail()
		return
	}
	var br struct {
		Operations []struct {
			Method   string `json:"method"`
			BulkID   string `json:"bulkId"`
			Location string `json:"location"`
			Status   any    `json:"status"`
		} `json:"Operations"`
	}
	if err := json.Unmarshal(resp.body, &br); err != nil || len(br.Operations) > len(ops) {
		fail()
		return
	}
	for j := range ops {
		bc := owner[j]
		if j >= len(br.Operations) {
			bc.redo = true // not processed
			continue
		}
		r := br.Operations[j]
		status, _ := str(r.Status)
		code, _ := strconv.Atoi(strings.Fields(status + " 0")[0])
		if code < 200 || code >= 300 {
			bc.redo = true
			continue
		}
		if ops[j].Method == http.MethodPost && ops[j].BulkID != "" {
			u, err := url.Parse(r.Location)
			id := ""
			if err == nil {
				id = u.Path[strings.LastIndex(u.Path, "/")+1:]
			}
			if id == "" {
				bc.redo = true
				continue
			}
			ids[ops[j].BulkID] = id
		}
	}
	for _, bc := range batch {
		if bc.redo && bc.bulkID != "" && ids[bc.bulkID] == "" {
			failed[bc.bulkID] = true
		}
	}
}
