package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"prewarm/internal/warm"
)

// keptRun remembers, in a --data-dir, which job `prewarm run` started and
// for which request, so that the same command run again resumes that job
// rather than starting over.
type keptRun struct {
	dir  string
	spec string // specDigest of the request
}

// keptRunFile is the record's name inside the data directory.
const keptRunFile = "run.json"

type keptRunRecord struct {
	JobID string `json:"job_id"`
	Spec  string `json:"spec"`
}

// specDigest names a request: the same URLs, POPs and options give the same
// digest.
func specDigest(spec warm.JobSpec) string {
	b, _ := json.Marshal(spec) // plain data: no error
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// resumable returns the job to resume: the one the last run in the
// directory started for the same request, if it is still unfinished and
// within its timeout. A different request's unfinished job is stopped, or
// the agent would go on warming it beside the new one. k may be nil (no
// data directory). What it does is told on w.
func (k *keptRun) resumable(ctx context.Context, svc *warm.Service, w io.Writer) (string, error) {
	if k == nil {
		return "", nil
	}
	b, err := os.ReadFile(filepath.Join(k.dir, keptRunFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var rec keptRunRecord
	if err := json.Unmarshal(b, &rec); err != nil || rec.JobID == "" {
		return "", fmt.Errorf("%s: not a record of an earlier run; remove it or use another --data-dir", filepath.Join(k.dir, keptRunFile))
	}
	job, err := svc.Job(ctx, rec.JobID)
	if errors.Is(err, warm.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if job.Status.Terminal() || !time.Now().Before(job.Deadline()) {
		return "", nil
	}
	if rec.Spec == k.spec {
		fmt.Fprintf(w, "resuming job %s, left unfinished in %s\n", job.ID, k.dir)
		return job.ID, nil
	}
	if _, err := svc.Stop(ctx, job.ID); err != nil && !errors.Is(err, warm.ErrConflict) {
		return "", err
	}
	fmt.Fprintf(w, "stopped job %s, left unfinished in %s by a different request\n", job.ID, k.dir)
	return "", nil
}

// save records the job just started.
func (k *keptRun) save(id string) error {
	b, _ := json.Marshal(keptRunRecord{JobID: id, Spec: k.spec})
	return os.WriteFile(filepath.Join(k.dir, keptRunFile), b, 0o600)
}
