//! The mapping file, the local field catalogue, type compatibility and value formatting.

pub mod file;
pub mod types;

pub use file::{ApiVersion, EntitySection, FieldSpec, Mapping, MappingFile, PullPolicy};
pub use types::ValueType;
