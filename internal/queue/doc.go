// Package queue carries prewarm's work on River: planning a job, fetching a
// batch, and ending a job at its deadline are River jobs, inserted in the
// same transaction as the state that calls for them. The same code runs over
// SQLite (riversqlite, the embedded default) and PostgreSQL (riverpgxv5, for
// a fleet); which one is picked by the database the node opens.
//
// Two kinds of River client run in a process: one control client (planning,
// timeouts) in each serve process, and one client per agent that works the
// warm queue while the agent is active and leaves it while it stands by.
package queue
