//! Local value types (SPEC §4), declared with the fields in [`crate::model::fields`].

pub use crate::model::ValueType;
