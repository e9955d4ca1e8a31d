package scimsink

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/usersync/usersync"
)

// page is one page of a list response.
type page struct {
	TotalResults int        `json:"totalResults"`
	Resources    []resource `json:"Resources"`
	NextCursor   string     `json:"nextCursor"`
}

// pages yields the resources of endpoint page by page: with cursors when
// the server offers them (RFC 9865), else by startIndex and count. It
// checks ctx before each page.
func (s *Sink) pages(ctx context.Context, endpoint string, q url.Values) iter.Seq2[[]resource, error] {
	return func(yield func([]resource, error) bool) {
		start, cursor := 1, ""
		for {
			if err := ctx.Err(); err != nil {
				yield(nil, fmt.Errorf("scimsink: listing %s: %w", endpoint, err))
				return
			}
			pq := url.Values{"count": {strconv.Itoa(s.cfg.pageSize)}}
			for k, v := range q {
				pq[k] = v
			}
			if s.cfg.cursor {
				pq.Set("cursor", cursor)
			} else {
				pq.Set("startIndex", strconv.Itoa(start))
			}
			resp, err := s.c.do(ctx, http.MethodGet, endpoint, pq, nil, "")
			if err != nil {
				yield(nil, fmt.Errorf("scimsink: listing %s: %w", endpoint, err))
				return
			}
			var p page
			if err := json.Unmarshal(resp.body, &p); err != nil {
				yield(nil, fmt.Errorf("scimsink: listing %s: %w", endpoint, err))
				return
			}
			if len(p.Resources) > 0 && !yield(p.Resources, nil) {
				return
			}
			if s.cfg.cursor {
				if p.NextCursor == "" {
					return
				}
				cursor = p.NextCursor
				continue
			}
			start += len(p.Resources)
			if len(p.Resources) == 0 || start > p.TotalResults {
				return
			}
		}
	}
}

// Groups yields every group that has an externalId, as a usersync.Group:
// the externalId is its ID, the displayName its name.
func (s *Sink) Groups(ctx context.Context) iter.Seq2[usersync.Group, error] {
	return func(yield func(usersync.Group, error) bool) {
		for rs, err := range s.pages(ctx, "/Groups", url.Values{"excludedAttributes": {"members"}}) {
			if err != nil {
				yield(usersync.Group{}, err)
				return
			}
			for _, r := range rs {
				ext, _ := r["externalId"].(string)
				if ext == "" {
					continue
				}
				name, _ := r["displayName"].(string)
				id, _ := r["id"].(string)
				s.cacheGroup(ext, id)
				if !yield(usersync.Group{ID: ext, Name: name}, nil) {
					return
				}
			}
		}
	}
}

// Users yields every user, managed or not. It first reads the groups with
// their members, to give each user the external IDs of its groups, then
// streams the users page by page.
//
// Like any listing by pages, it is not a snapshot: a user created or
// deleted during the listing may shift the pages.
func (s *Sink) Users(ctx context.Context) iter.Seq2[usersync.Record, error] {
	return func(yield func(usersync.Record, error) bool) {
		memberOf := map[string][]string{} // user id → group external IDs
		for rs, err := range s.pages(ctx, "/Groups", nil) {
			if err != nil {
				yield(usersync.Record{}, err)
				return
			}
			for _, r := range rs {
				ext, _ := r["externalId"].(string)
				if ext == "" {
					continue
				}
				for _, m := range list(r["members"]) {
					if mm, ok := m.(map[string]any); ok {
						if id, ok := mm["value"].(string); ok {
							memberOf[id] = append(memberOf[id], ext)
						}
					}
				}
			}
		}
		if s.marks != nil {
			if err := s.marks.load(ctx); err != nil {
				yield(usersync.Record{}, err)
				return
			}
		}
		lay := layouts{}
		for rs, err := range s.pages(ctx, "/Users", nil) {
			if err != nil {
				yield(usersync.Record{}, err)
				return
			}
			for _, r := range rs {
				id, _ := r["id"].(string)
				groups := memberOf[id]
				if groups != nil {
					slices.Sort(groups)
					groups = slices.Compact(groups)
				}
				rec := s.codec.record(r, groups, lay)
				if s.marks != nil {
					m := s.marks.get(rec.Key)
					rec.MissingRuns, rec.MissingSince = m.runs, m.since
				}
				if !yield(rec, nil) {
					return
				}
			}
		}
	}
}
