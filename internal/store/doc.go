// Package store keeps prewarm's state in SQL: jobs, their URLs, POPs,
// batches, per-task results and counters, and the fleet. One implementation
// serves both engines; the sqlite and postgres packages open a database,
// adapt their driver to the small DB interface below, and bring their
// schema. storetest holds the one conformance suite both must pass.
//
// Queries use $1-style placeholders, integers for times (Unix microseconds)
// and plain types, which both engines read the same way.
package store
