package main

// The host application's own user directory, as its web handlers and APIs
// use it. In a real product it sits in front of the product's database;
// this stand-in keeps users in maps. Nothing here knows about usersync:
// sink.go adapts it.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Errors of the UserService.
var (
	ErrNoSuchUser = errors.New("no such user")
	ErrNoSuchTeam = errors.New("no such team")
	ErrTaken      = errors.New("external ID already taken")
)

// A User is a user of the product.
type User struct {
	ID int64 // assigned by the service
	// ExternalID is unique: the HR system's employee ID for synced users,
	// one the app makes up for users created in it.
	ExternalID string
	Profile    map[string]string // name, email, title, ...
	Teams      []string          // the IDs of the user's teams, sorted
	Active     bool

	// What the directory sync keeps about a user, stored with it: whether
	// the sync created it or took it over (users created in the app are
	// never touched), and since when the HR system's files leave it out.
	Synced       bool
	MissingRuns  int
	MissingSince int64 // Unix seconds
}

// A Team is a group of users, with the HR system's ID.
type Team struct {
	ID, Name string
}

// UserService is the product's user directory. It is safe for concurrent
// use, and hands out copies: changing a User changes nothing until it is
// passed to UpdateUser.
type UserService struct {
	mu      sync.Mutex
	users   map[int64]*User
	byExt   map[string]int64
	teams   map[string]Team
	lastID  int64
	invited []int64
}

// NewUserService returns an empty directory.
func NewUserService() *UserService {
	return &UserService{users: map[int64]*User{}, byExt: map[string]int64{}, teams: map[string]Team{}}
}

// CreateUser adds u, giving it an ID, and returns it.
func (s *UserService) CreateUser(ctx context.Context, u User) (User, error) {
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.byExt[u.ExternalID]; taken || u.ExternalID == "" {
		return User{}, fmt.Errorf("create user %q: %w", u.ExternalID, ErrTaken)
	}
	s.lastID++
	u.ID = s.lastID
	s.put(u)
	return clone(u), nil
}

// UpdateUser replaces the user with u's ID by u, its external ID included.
func (s *UserService) UpdateUser(ctx context.Context, u User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[u.ID]
	if !ok {
		return fmt.Errorf("update user %d: %w", u.ID, ErrNoSuchUser)
	}
	if id, taken := s.byExt[u.ExternalID]; (taken && id != u.ID) || u.ExternalID == "" {
		return fmt.Errorf("update user %d to %q: %w", u.ID, u.ExternalID, ErrTaken)
	}
	delete(s.byExt, old.ExternalID)
	s.put(u)
	return nil
}

// DeleteUser deletes the user with the given ID.
func (s *UserService) DeleteUser(ctx context.Context, id int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return fmt.Errorf("delete user %d: %w", id, ErrNoSuchUser)
	}
	delete(s.byExt, u.ExternalID)
	delete(s.users, id)
	return nil
}

// UserByExternalID returns the user with the given external ID.
func (s *UserService) UserByExternalID(ctx context.Context, ext string) (User, error) {
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byExt[ext]
	if !ok {
		return User{}, fmt.Errorf("user %q: %w", ext, ErrNoSuchUser)
	}
	return clone(*s.users[id]), nil
}

// ListUsers returns up to limit users whose IDs follow after, by ID: one
// page of the directory.
func (s *UserService) ListUsers(ctx context.Context, after int64, limit int) ([]User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var page []User
	for _, id := range slices.Sorted(maps.Keys(s.users)) {
		if id > after && len(page) < limit {
			page = append(page, clone(*s.users[id]))
		}
	}
	return page, nil
}

// SaveTeam creates the team, or renames it if it exists.
func (s *UserService) SaveTeam(ctx context.Context, t Team) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.teams[t.ID] = t
	return nil
}

// Team returns the team with the given ID.
func (s *UserService) Team(ctx context.Context, id string) (Team, error) {
	if err := ctx.Err(); err != nil {
		return Team{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.teams[id]
	if !ok {
		return Team{}, fmt.Errorf("team %q: %w", id, ErrNoSuchTeam)
	}
	return t, nil
}

// ListTeams returns every team, by ID.
func (s *UserService) ListTeams(ctx context.Context) ([]Team, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.SortedFunc(maps.Values(s.teams), func(a, b Team) int { return cmp.Compare(a.ID, b.ID) }), nil
}

// Invite sends the user the product's welcome email.
func (s *UserService) Invite(ctx context.Context, id int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invited = append(s.invited, id)
	return nil
}

// put stores a copy of u; the caller holds s.mu.
func (s *UserService) put(u User) {
	u = clone(u)
	s.users[u.ID] = &u
	s.byExt[u.ExternalID] = u.ID
}

// clone copies u's map and slice, so that the copy shares nothing.
func clone(u User) User {
	u.Profile = maps.Clone(u.Profile)
	u.Teams = slices.Clone(u.Teams)
	return u
}
