//! Tests: client.
