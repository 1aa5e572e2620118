package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/background"
)

var _ background.Store = (*Store)(nil)

type jobRow struct {
	bun.BaseModel `bun:"table:jobs"`
	OrgID         string          `bun:"org_id,pk"`
	ID            string          `bun:"id,pk"`
	Kind          string          `bun:"kind"`
	SubjectID     string          `bun:"subject_id"`
	CreatedBy     string          `bun:"created_by"`
	State         string          `bun:"state"`
	Progress      sql.NullFloat64 `bun:"progress"`
	Message       string          `bun:"message"`
	Result        string          `bun:"result"`
	Error         string          `bun:"error"`
	ErrorCode     string          `bun:"error_code"`
	CreatedAt     time.Time       `bun:"created_at"`
	StartedAt     *time.Time      `bun:"started_at"`
	FinishedAt    *time.Time      `bun:"finished_at"`
	HeartbeatAt   time.Time       `bun:"heartbeat_at"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func newJobRow(j background.Job) (jobRow, error) {
	r := jobRow{OrgID: j.OrgID, ID: j.ID, Kind: string(j.Kind), SubjectID: j.SubjectID, CreatedBy: j.CreatedBy,
		State: string(j.State), Progress: sql.NullFloat64{Float64: j.Progress, Valid: j.HasProgress}, Message: j.Message,
		Error: j.Error, ErrorCode: string(j.ErrorCode), CreatedAt: j.CreatedAt.UTC(), StartedAt: optTime(j.StartedAt),
		FinishedAt: optTime(j.FinishedAt), HeartbeatAt: j.HeartbeatAt.UTC()}
	if j.Result != (background.Result{}) {
		b, err := json.Marshal(j.Result)
		if err != nil {
			return jobRow{}, fmt.Errorf("encode job result: %w", err)
		}
		r.Result = string(b)
	}
	return r, nil
}

func (r jobRow) domain() (background.Job, error) {
	j := background.Job{OrgID: r.OrgID, ID: r.ID, Kind: background.Kind(r.Kind), SubjectID: r.SubjectID, CreatedBy: r.CreatedBy,
		State: background.State(r.State), Progress: r.Progress.Float64, HasProgress: r.Progress.Valid, Message: r.Message,
		Error: r.Error, ErrorCode: domain.Code(r.ErrorCode), CreatedAt: r.CreatedAt.UTC(), HeartbeatAt: r.HeartbeatAt.UTC()}
	if r.StartedAt != nil {
		j.StartedAt = r.StartedAt.UTC()
	}
	if r.FinishedAt != nil {
		j.FinishedAt = r.FinishedAt.UTC()
	}
	if r.Result != "" {
		if err := json.Unmarshal([]byte(r.Result), &j.Result); err != nil {
			return j, fmt.Errorf("decode result of job %s: %w", r.ID, err)
		}
	}
	return j, nil
}

// CreateJob stores a new job.
func (s *Store) CreateJob(ctx context.Context, j background.Job) error {
	row, err := newJobRow(j)
	if err != nil {
		return err
	}
	_, err = s.db.NewInsert().Model(&row).Exec(ctx)
	return mapErr(err, "job")
}

// SaveJob stores a job's state, progress, outcome and times.
func (s *Store) SaveJob(ctx context.Context, j background.Job) error {
	row, err := newJobRow(j)
	if err != nil {
		return err
	}
	_, err = s.db.NewUpdate().Model(&row).
		Column("state", "progress", "message", "result", "error", "error_code", "started_at", "finished_at", "heartbeat_at").
		WherePK().Exec(ctx)
	return mapErr(err, "job")
}

// Job returns the job id of one of orgIDs, or NotFound.
func (s *Store) Job(ctx context.Context, orgIDs []string, id string) (background.Job, error) {
	if len(orgIDs) == 0 {
		return background.Job{}, domain.Errorf(domain.NotFound, "job not found")
	}
	var row jobRow
	err := s.db.NewSelect().Model(&row).Where("org_id IN (?) AND id = ?", bun.In(orgIDs), id).Scan(ctx)
	if err != nil {
		if domain.IsNotFound(mapErr(err, "")) {
			return background.Job{}, domain.Errorf(domain.NotFound, "job not found")
		}
		return background.Job{}, mapErr(err, "job")
	}
	return row.domain()
}

var unfinished = []string{string(background.Queued), string(background.Running)}

// TouchJobs moves the heartbeat of the unfinished jobs among ids to at.
func (s *Store) TouchJobs(ctx context.Context, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.db.NewUpdate().Model((*jobRow)(nil)).Set("heartbeat_at = ?", at.UTC()).
		Where("id IN (?) AND state IN (?)", bun.In(ids), bun.In(unfinished)).Exec(ctx)
	return mapErr(err, "jobs")
}

// AbandonJobs fails every unfinished job silent since staleBefore.
func (s *Store) AbandonJobs(ctx context.Context, staleBefore time.Time, message string, at time.Time) (int, error) {
	res, err := s.db.NewUpdate().Model((*jobRow)(nil)).
		Set("state = ?", string(background.Failed)).Set("error = ?", message).Set("error_code = ?", string(domain.Unavailable)).
		Set("message = ''").Set("finished_at = ?", at.UTC()).Set("heartbeat_at = ?", at.UTC()).
		Where("state IN (?) AND heartbeat_at < ?", bun.In(unfinished), staleBefore.UTC()).Exec(ctx)
	if err != nil {
		return 0, mapErr(err, "jobs")
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
