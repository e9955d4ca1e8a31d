package usersync

import "context"

// A Sink is the host application's user directory: the Pipeline applies each
// change of a plan to it.
//
// Apply must be idempotent: a change already in effect succeeds and does
// nothing (creating an existing user updates it, deleting or deactivating an
// absent user succeeds). Updating or restoring a user the Sink does not hold,
// or joining a group it does not hold, fails with an error wrapping
// [ErrNotFound]; a change that fails changes nothing. A user gets the
// memberships of Change.Join and loses those of Change.Leave (for CreateUser,
// Join lists all of User.Groups). A Sink records which users the sync
// created (CreateUser) or took over (AdoptUser, or a CreateUser over an
// existing user), and reports them as [Record.Managed]; it keeps the
// missing-from-the-feed marker that MarkMissing sets (Record.MissingRuns,
// Record.MissingSince) until a CreateUser or RestoreUser clears it; and it
// re-keys a user when Change.OldKey names the key it holds. sink/memsink is
// the reference for all of this, and sink/sinktest checks it.
//
// A Sink should also implement [Lister], or the Pipeline sees it as empty:
// every feed user is then created (as an upsert) and nobody is ever
// deactivated or deleted. It may implement [BatchApplier] to apply many
// changes per round trip.
type Sink interface {
	Apply(ctx context.Context, c Change) error
}

// A BatchApplier is a Sink that applies many changes at once. The result must
// be what applying them one by one in order would give.
type BatchApplier interface {
	// ApplyBatch applies cs in order. It returns nil if every change applied,
	// or a slice of len(cs) holding each change's error (nil for those that
	// applied).
	ApplyBatch(ctx context.Context, cs []Change) []error
}
