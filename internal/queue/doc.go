// Package queue carries prewarm's work on River: planning a job, fetching a
// batch, and ending a job at its deadline are River jobs, inserted in the
// same transaction as the state that calls for them. The same code runs over
// SQLite (riversqlite, the embedded default) and PostgreSQL (riverpgxv5, for
// a fleet); the node hands it the database it opened.
//
// Two kinds of River client run in a process: one control client (planning,
// timeouts) in each serve process, and, for each active agent, a client
// working the warm queue with the agent's worker (see package agent), started
// when the agent becomes active and stopped when it stands by.
package queue
