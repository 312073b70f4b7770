package warm

import (
	"errors"
	"fmt"
)

// ErrNotFound means the thing asked for does not exist. Stores translate their
// drivers' "no rows" into it.
var ErrNotFound = errors.New("not found")

// ErrConflict means the request cannot apply to the current state (stopping a
// job that already ended, for instance).
var ErrConflict = errors.New("conflict")

// ErrStorageFull means the database could not write: its disk (or its
// size limit) is full. Stores translate their drivers' errors into it.
// Nothing written is lost; writes go through again once there is room.
var ErrStorageFull = errors.New("the database's disk is full")

// ErrInterrupted says a step (a batch, a job's planning) stopped early on
// purpose — its time budget ran out, or its agent stands by — and must be
// continued: the queue makes it available again at once.
var ErrInterrupted = errors.New("interrupted; continue later")

// InputError is bad input from a user: the API answers it with a 4xx naming
// the field.
type InputError struct {
	Field string
	Msg   string
	// TooLarge marks input refused for its size rather than its form
	// (HTTP 413).
	TooLarge bool
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Invalid builds an InputError for field.
func Invalid(field, format string, args ...any) *InputError {
	return &InputError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// InvalidURLsError rejects a whole request because some URLs are not
// absolute http(s) URLs. The original API answers it in its own shape, with
// the list of offending URLs.
type InvalidURLsError struct {
	URLs []string
}

func (e *InvalidURLsError) Error() string {
	return fmt.Sprintf("url_list: %d invalid URL(s)", len(e.URLs))
}
