//! A HubSpot property definition, as far as mapping, checking and formatting need it (decoded
//! from the property cache the store keeps).

use serde::{Deserialize, Serialize};

/// An option of an enumeration property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyOption {
    pub value: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub hidden: bool,
}

/// The parts of a HubSpot property definition that mapping and formatting need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedProperty {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub field_type: String,
    #[serde(default)]
    pub options: Vec<PropertyOption>,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub hubspot_defined: bool,
    #[serde(default)]
    pub modification_metadata: ModificationMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationMetadata {
    #[serde(default)]
    pub read_only_value: bool,
}

impl CachedProperty {
    /// HubSpot refuses writes to this property.
    #[must_use]
    pub fn read_only(&self) -> bool {
        self.modification_metadata.read_only_value || self.calculated
    }

    /// Whether `value` is one of the property's option values.
    #[must_use]
    pub fn has_option(&self, value: &str) -> bool {
        self.options.iter().any(|o| o.value == value)
    }
}
