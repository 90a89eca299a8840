//! Local value types (SPEC §4) and which HubSpot property types they may map to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The type of a local field or declared custom attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    String,
    Number,
    Bool,
    Date,
    Datetime,
    List,
}

impl ValueType {
    pub const ALL: [ValueType; 6] = [
        ValueType::String,
        ValueType::Number,
        ValueType::Bool,
        ValueType::Date,
        ValueType::Datetime,
        ValueType::List,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Number => "number",
            ValueType::Bool => "bool",
            ValueType::Date => "date",
            ValueType::Datetime => "datetime",
            ValueType::List => "list",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ValueType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ValueType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!("unknown type `{s}` (expected one of: string, number, bool, date, datetime, list)")
            })
    }
}
