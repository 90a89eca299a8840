//! The local field catalogue of SPEC §4: every field, its type and its direction.

use super::file::EntitySection;
use super::types::ValueType;

/// Which way a local field travels.
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

pub use crate::model::Entity;

/// A mappable local field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalField {
    pub path: String,
    pub ty: ValueType,
    pub direction: Direction,
}

impl LocalField {
    fn new(path: &str, ty: ValueType, direction: Direction) -> Self {
        Self {
            path: path.to_owned(),
            ty,
            direction,
        }
    }
}

/// Identity platforms listed by `map show` even when not mapped. Any `identities.<name>` maps.
pub const KNOWN_PLATFORMS: &[&str] = &["github", "twitter", "linkedin", "discord"];

/// Built-in contact attributes (strings).
pub const BUILTIN_ATTRIBUTES: &[&str] = &["jobTitle", "bio", "location", "url"];

const CONTACT_NUMBERS: &[&str] = &[
    "score",
    "reach",
    "activityCount",
    "activeDaysCount",
    "averageSentiment",
    "numberOfOpenSourceContributions",
];
const CONTACT_DATETIMES: &[&str] = &["joinedAt", "lastActive", "createdAt"];

const ORG_BOTH_STRINGS: &[&str] = &[
    "description",
    "location",
    "logo",
    "headline",
    "size",
    "url",
    "industry",
    "type",
];
const ORG_BOTH_NUMBERS: &[&str] = &["employees", "founded"];
const ORG_OUT_STRINGS: &[&str] = &["github", "twitter", "linkedin", "crunchbase"];
const ORG_OUT_NUMBERS: &[&str] = &[
    "revenueRangeMin",
    "revenueRangeMax",
    "memberCount",
    "activityCount",
];
const ORG_OUT_DATETIMES: &[&str] = &["joinedAt", "lastActive"];
const ORG_OUT_LISTS: &[&str] = &["tags", "emails"];

/// Why a local field name cannot be mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmappable {
    /// Not a field of this entity at all.
    Unknown,
    /// A key or identity field that hubsync handles itself.
    Reserved(&'static str),
    /// `attributes.<name>` that is neither built-in nor declared.
    UndeclaredAttribute,
}

/// Every mappable field of the entity, in catalogue order, plus declared attributes.
#[must_use]
pub fn fields(entity: Entity, section: &EntitySection) -> Vec<LocalField> {
    use Direction::{Both, OutOnly};
    let mut out = Vec::new();
    match entity {
        Entity::Contact => {
            out.push(LocalField::new("displayName", ValueType::String, Both));
            for p in KNOWN_PLATFORMS {
                out.push(LocalField::new(
                    &format!("identities.{p}"),
                    ValueType::String,
                    Both,
                ));
            }
            for a in BUILTIN_ATTRIBUTES {
                out.push(LocalField::new(
                    &format!("attributes.{a}"),
                    ValueType::String,
                    Both,
                ));
            }
            for (name, ty) in &section.attributes {
                if !BUILTIN_ATTRIBUTES.contains(&name.as_str()) {
                    out.push(LocalField::new(&format!("attributes.{name}"), *ty, Both));
                }
            }
            for f in CONTACT_NUMBERS {
                out.push(LocalField::new(f, ValueType::Number, OutOnly));
            }
            for f in CONTACT_DATETIMES {
                out.push(LocalField::new(f, ValueType::Datetime, OutOnly));
            }
            out.push(LocalField::new("tags", ValueType::List, OutOnly));
        }
        Entity::Organization => {
            for f in ORG_BOTH_STRINGS {
                out.push(LocalField::new(f, ValueType::String, Both));
            }
            for f in ORG_BOTH_NUMBERS {
                out.push(LocalField::new(f, ValueType::Number, Both));
            }
            for f in ORG_OUT_STRINGS {
                out.push(LocalField::new(f, ValueType::String, OutOnly));
            }
            for f in ORG_OUT_NUMBERS {
                out.push(LocalField::new(f, ValueType::Number, OutOnly));
            }
            for f in ORG_OUT_DATETIMES {
                out.push(LocalField::new(f, ValueType::Datetime, OutOnly));
            }
            for f in ORG_OUT_LISTS {
                out.push(LocalField::new(f, ValueType::List, OutOnly));
            }
        }
    }
    out
}

/// Resolve a local field path named in the mapping file.
pub fn lookup(
    entity: Entity,
    section: &EntitySection,
    path: &str,
) -> Result<LocalField, Unmappable> {
    match (entity, path) {
        (_, "id") => return Err(Unmappable::Reserved("the local id is the key, not a field")),
        (Entity::Contact, "emails") => {
            return Err(Unmappable::Reserved(
                "e-mails are the contact's identity and are always sent as HubSpot `email`",
            ))
        }
        (Entity::Contact, "organizations") => {
            return Err(Unmappable::Reserved(
                "organizations are sent as associations to companies",
            ))
        }
        (Entity::Organization, "name") => {
            return Err(Unmappable::Reserved(
                "the name is always sent as HubSpot `name`",
            ))
        }
        (Entity::Organization, "website") => {
            return Err(Unmappable::Reserved(
                "the website is always sent as HubSpot `domain`",
            ))
        }
        _ => {}
    }
    if entity == Entity::Contact {
        if let Some(platform) = path.strip_prefix("identities.") {
            if is_name(platform) {
                return Ok(LocalField::new(path, ValueType::String, Direction::Both));
            }
            return Err(Unmappable::Unknown);
        }
        if let Some(attr) = path.strip_prefix("attributes.") {
            if BUILTIN_ATTRIBUTES.contains(&attr) {
                return Ok(LocalField::new(path, ValueType::String, Direction::Both));
            }
            return match section.attributes.get(attr) {
                Some(ty) => Ok(LocalField::new(path, *ty, Direction::Both)),
                None if is_name(attr) => Err(Unmappable::UndeclaredAttribute),
                None => Err(Unmappable::Unknown),
            };
        }
    }
    fields(entity, section)
        .into_iter()
        .find(|f| f.path == path)
        .ok_or(Unmappable::Unknown)
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_directions_follow_the_spec() {
        let s = EntitySection::default();
        let f = lookup(Entity::Contact, &s, "score").unwrap();
        assert_eq!((f.ty, f.direction), (ValueType::Number, Direction::OutOnly));
        let f = lookup(Entity::Contact, &s, "identities.mastodon").unwrap();
        assert_eq!(f.direction, Direction::Both);
        let f = lookup(Entity::Organization, &s, "employees").unwrap();
        assert_eq!((f.ty, f.direction), (ValueType::Number, Direction::Both));
        let f = lookup(Entity::Organization, &s, "tags").unwrap();
        assert_eq!((f.ty, f.direction), (ValueType::List, Direction::OutOnly));
        assert_eq!(
            lookup(Entity::Contact, &s, "attributes.level"),
            Err(Unmappable::UndeclaredAttribute)
        );
        assert!(matches!(
            lookup(Entity::Contact, &s, "emails"),
            Err(Unmappable::Reserved(_))
        ));
        assert_eq!(
            lookup(Entity::Contact, &s, "nickname"),
            Err(Unmappable::Unknown)
        );
        assert_eq!(
            lookup(Entity::Organization, &s, "identities.github"),
            Err(Unmappable::Unknown)
        );
    }

    #[test]
    fn declared_attributes_carry_their_type() {
        let mut s = EntitySection::default();
        s.attributes.insert("isHiring".into(), ValueType::Bool);
        let f = lookup(Entity::Contact, &s, "attributes.isHiring").unwrap();
        assert_eq!(f.ty, ValueType::Bool);
        assert!(fields(Entity::Contact, &s)
            .iter()
            .any(|f| f.path == "attributes.isHiring"));
    }
}
