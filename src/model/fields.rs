//! The local fields of SPEC §4, declared once: each field's path, type and role. The records'
//! get/set ([`super::Contact::field`], [`super::Contact::set_field`]), the mapping catalogue
//! (`mapping::catalogue`), export's columns and the store's columns all follow these tables;
//! tests tie each of them to it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which way a mapped local field travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Pushed to HubSpot and pulled back (data-in writes it).
    Both,
    /// Read-only locally (calculated): pushed, never pulled. Shown as `→`.
    OutOnly,
}

impl Direction {
    #[must_use]
    pub fn arrow(self) -> &'static str {
        match self {
            Direction::Both => "↔",
            Direction::OutOnly => "→",
        }
    }
}

/// What the mapping file may do with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Mappable to a HubSpot property, travelling this way.
    Mapped(Direction),
    /// hubsync sends it itself (identity, associations); the reason is what `map check` says.
    Reserved(&'static str),
}

/// One scalar field of a record (`identities.*` and `attributes.*` come on top).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The SPEC §4 path (`displayName`), also the import/export column.
    pub path: &'static str,
    pub ty: ValueType,
    pub role: Role,
}

const fn both(path: &'static str, ty: ValueType) -> Field {
    Field {
        path,
        ty,
        role: Role::Mapped(Direction::Both),
    }
}

const fn out(path: &'static str, ty: ValueType) -> Field {
    Field {
        path,
        ty,
        role: Role::Mapped(Direction::OutOnly),
    }
}

const fn reserved(path: &'static str, ty: ValueType, why: &'static str) -> Field {
    Field {
        path,
        ty,
        role: Role::Reserved(why),
    }
}

use ValueType::{Datetime, List, Number, String as Text};

/// The contact's scalar fields, in SPEC order.
pub const CONTACT_FIELDS: &[Field] = &[
    reserved(
        "emails",
        List,
        "e-mails are the contact's identity and are always sent as HubSpot `email`",
    ),
    both("displayName", Text),
    reserved(
        "organizations",
        List,
        "organizations are sent as associations to companies",
    ),
    out("score", Number),
    out("reach", Number),
    out("activityCount", Number),
    out("activeDaysCount", Number),
    out("averageSentiment", Number),
    out("numberOfOpenSourceContributions", Number),
    out("joinedAt", Datetime),
    out("lastActive", Datetime),
    out("createdAt", Datetime),
    out("tags", List),
];

/// Every organization field except `id`, in SPEC order.
pub const ORGANIZATION_FIELDS: &[Field] = &[
    reserved("name", Text, "the name is always sent as HubSpot `name`"),
    reserved(
        "website",
        Text,
        "the website is always sent as HubSpot `domain`",
    ),
    both("description", Text),
    both("location", Text),
    both("logo", Text),
    both("headline", Text),
    both("size", Text),
    both("url", Text),
    both("industry", Text),
    both("type", Text),
    both("employees", Number),
    both("founded", Number),
    out("github", Text),
    out("twitter", Text),
    out("linkedin", Text),
    out("crunchbase", Text),
    out("revenueRangeMin", Number),
    out("revenueRangeMax", Number),
    out("memberCount", Number),
    out("activityCount", Number),
    out("joinedAt", Datetime),
    out("lastActive", Datetime),
    out("tags", List),
    out("emails", List),
];

/// Contact attributes every community has (`attributes.jobTitle`, …): strings, mappable both ways.
pub const BUILTIN_ATTRIBUTES: &[&str] = &["jobTitle", "bio", "location", "url"];

/// Identity platforms listed by `map show` even when not mapped. Any `identities.<name>` maps.
pub const KNOWN_PLATFORMS: &[&str] = &["github", "twitter", "linkedin", "discord"];

/// The table of `entity`'s fields.
#[must_use]
pub fn of(entity: super::Entity) -> &'static [Field] {
    match entity {
        super::Entity::Contact => CONTACT_FIELDS,
        super::Entity::Organization => ORGANIZATION_FIELDS,
    }
}

/// A field of the table by path.
#[must_use]
pub fn find(table: &[Field], path: &str) -> Option<Field> {
    table.iter().find(|f| f.path == path).copied()
}

/// The paths of a table, comma-separated (for messages).
#[must_use]
pub fn paths(table: &[Field]) -> String {
    table.iter().map(|f| f.path).collect::<Vec<_>>().join(", ")
}

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

#[cfg(test)]
#[path = "fields_tests.rs"]
mod tests;
