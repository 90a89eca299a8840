//! Tests: map.
