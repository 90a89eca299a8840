//! The local SQLite store.
