//! Answer shapes shared by several route modules.
