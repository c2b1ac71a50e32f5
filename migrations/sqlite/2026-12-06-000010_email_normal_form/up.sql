-- A marker: right after this migration is applied, `db::migrate` rewrites the stored e-mail
-- addresses that are not in their normal form (NFC, case-folded in Rust: domain::Email).
-- Addresses were lower-cased with Rust's to_lowercase before, never normalised: a decomposed
-- `é` or a final `ς` stored then would no longer be found. SQL cannot do it the same way on
-- both databases (SQLite has no NFC), hence Rust.
SELECT 1;
