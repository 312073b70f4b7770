package postgres

// MaxReadConns is the read pool's size, for the tests that fill it.
const MaxReadConns = maxReadConns
