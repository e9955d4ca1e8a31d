package fleet

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/usersync/usersync/source/sftpserver"
)

// TenantStatus is what a fleet knows of one tenant, for a host's admin page.
type TenantStatus struct {
	ID string
	// Last is the tenant's last run; its Status is "" if it never ran.
	Last LastRun
	// Next is when the tenant's next run is due, and NextReason why it
	// runs ("scheduled", "retry", "triggered", "upload", ...); Next is
	// zero if none is (no schedule, or a run in progress).
	Next       time.Time
	NextReason string
	// Running is set while a worker runs the tenant; Worker names it.
	Running bool
	Worker  string
	// Triggered counts the triggers that came during the run in
	// progress: one more run follows it.
	Triggered int
	// Listed is false for a tenant that Tenants no longer lists but that
	// still has a status or a job.
	Listed bool
}

// LastRun is how a tenant's last run ended.
type LastRun struct {
	// Status is the run's usersync.Status as words ("succeeded", "held",
	// "failed", ...), or "paused" for a run a pause skipped.
	Status string
	// Class says, for a failed run, whether it is retried ("transient")
	// or waits ("permanent"); Err is the error's message.
	Class, Err string
	// Reason says why it ran; Retry counts the transient failures just
	// before it.
	Reason string
	Retry  int
	// Started and Finished are when it ran, Worker where.
	Started, Finished time.Time
	Worker            string
	// Applied, Failed and Rejected count the changes applied (and users
	// found in sync), the changes the Sink refused, and the rows rejected.
	Applied, Failed, Rejected int
	// Runs counts the runs recorded for the tenant.
	Runs int64
}

// Status returns the status of every tenant, sorted by ID: those Tenants
// lists, and those that still have a status or a job.
func (f *Fleet) Status(ctx context.Context) ([]TenantStatus, error) {
	byID := map[string]*TenantStatus{}
	get := func(id string) *TenantStatus {
		s := byID[id]
		if s == nil {
			s = &TenantStatus{ID: id}
			byID[id] = s
		}
		return s
	}
	ts, err := f.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("fleet: listing the tenants: %w", err)
	}
	for _, t := range ts {
		get(t.ID).Listed = true
	}
	rows, err := f.eng.sqlDB().QueryContext(ctx, sqlStatuses)
	if err != nil {
		return nil, fmt.Errorf("fleet: reading the status: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id                string
			l                 LastRun
			started, finished int64
			triggered         int
		)
		if err := rows.Scan(&id, &l.Status, &l.Class, &l.Reason, &l.Err, &started, &finished,
			&l.Applied, &l.Failed, &l.Rejected, &l.Retry, &l.Runs, &l.Worker, &triggered); err != nil {
			return nil, fmt.Errorf("fleet: reading the status: %w", err)
		}
		l.Started, l.Finished = fromMicros(started), fromMicros(finished)
		s := get(id)
		s.Last, s.Triggered = l, triggered
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fleet: reading the status: %w", err)
	}
	params := river.NewJobListParams().Kinds(JobKind).Queues(f.opts.Queue).States(uniqueStates...).First(10_000)
	for {
		res, err := f.eng.jobList(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("fleet: listing the jobs: %w", err)
		}
		for _, j := range res.Jobs {
			if err := addJob(get, j); err != nil {
				return nil, err
			}
		}
		if len(res.Jobs) < 10_000 {
			break
		}
		params = params.After(res.LastCursor)
	}
	out := make([]TenantStatus, 0, len(byID))
	for _, s := range byID {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b TenantStatus) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// addJob adds what a tenant's unfinished job says to its status.
func addJob(get func(string) *TenantStatus, j *rivertype.JobRow) error {
	var args SyncArgs
	if err := unmarshalArgs(j.EncodedArgs, &args); err != nil {
		return fmt.Errorf("fleet: job %d: %w", j.ID, err)
	}
	s := get(args.Tenant)
	if j.State == rivertype.JobStateRunning {
		s.Running = true
		if n := len(j.AttemptedBy); n > 0 {
			s.Worker = j.AttemptedBy[n-1]
		}
		return nil
	}
	s.Next, s.NextReason = j.ScheduledAt, args.Reason
	return nil
}

// OnUpload returns a function for sftpserver.Options.OnUpload that
// triggers a run of the upload's tenant (Upload.TenantID must be the
// fleet's tenant ID) with ReasonUpload. It does not hold up the client:
// the job is inserted from another goroutine, under ctx, and a failure is
// logged. With a drop box in the host's own process and database, a host
// that wants the upload and the job in one transaction calls TriggerTx
// from its own OnUpload instead.
func (f *Fleet) OnUpload(ctx context.Context) func(sftpserver.Upload) {
	return func(u sftpserver.Upload) {
		go func() {
			if err := f.Trigger(ctx, u.TenantID, ReasonUpload); err != nil {
				f.log.ErrorContext(ctx, "fleet: triggering a run for an upload", "tenant", u.TenantID, "file", u.Name, "err", err)
			}
		}()
	}
}
