//! The mapping file, the local field catalogue, type compatibility and value formatting.

pub mod catalogue;
pub mod check;
pub mod compat;
pub mod edit;
pub mod file;
pub mod format;
pub mod property;
pub mod scaffold;
pub mod types;

pub use catalogue::{Direction, Entity, LocalField};
pub use file::{
    ApiVersion, ConflictPolicy, EntitySection, FieldSpec, Mapping, MappingFile, PullPolicy,
    PushPolicy,
};
pub use types::ValueType;
