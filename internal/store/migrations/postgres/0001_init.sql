-- PostgreSQL twin of sqlite/0001_init.sql. Every sqlite migration has a twin
-- here with the same version and the same tables, columns and constraints:
-- INTEGER ids become BIGINT identities (BY DEFAULT, so that `vitrine
-- migrate` can copy ids over), REAL becomes DOUBLE PRECISION, BLOB BYTEA.
CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
