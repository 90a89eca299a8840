//! Tests: sandbox.
