// Package queue carries prewarm's work on River: planning a job and
// fetching a batch are River jobs, inserted in the same transaction as the
// state that calls for them (a job queues its batches a window at a time).
// Ending a job at its deadline was one too; entries of that kind left by
// earlier builds still run. The same code runs over
// SQLite (riversqlite, the embedded default) and PostgreSQL (riverpgxv5, for
// a fleet); the node hands it the database it opened.
//
// Two kinds of River client run in a process: one control client (planning)
// in each serve process, and, for each active agent, a client
// working the warm queue with the agent's worker (see package agent), started
// when the agent becomes active and stopped when it stands by.
package queue
