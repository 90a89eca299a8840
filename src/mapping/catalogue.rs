//! The local field catalogue of SPEC §4: every field, its type and its direction.

use super::file::EntitySection;
use super::types::ValueType;

pub use crate::model::fields::{Direction, Field, Role, BUILTIN_ATTRIBUTES, KNOWN_PLATFORMS};
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

/// Every mappable field of the entity, in catalogue order: the fields that travel both ways,
/// then (contacts) identities and attributes, built-in and declared, then the push-only ones.
#[must_use]
pub fn fields(entity: Entity, section: &EntitySection) -> Vec<LocalField> {
    let table = crate::model::fields::of(entity);
    let mapped = |dir: Direction| {
        table.iter().filter_map(move |f| match f.role {
            Role::Mapped(d) if d == dir => Some(LocalField::new(f.path, f.ty, d)),
            _ => None,
        })
    };
    let mut out: Vec<LocalField> = mapped(Direction::Both).collect();
    if entity == Entity::Contact {
        for p in KNOWN_PLATFORMS {
            out.push(LocalField::new(
                &format!("identities.{p}"),
                ValueType::String,
                Direction::Both,
            ));
        }
        for a in BUILTIN_ATTRIBUTES {
            out.push(LocalField::new(
                &format!("attributes.{a}"),
                ValueType::String,
                Direction::Both,
            ));
        }
        for (name, ty) in &section.attributes {
            if !BUILTIN_ATTRIBUTES.contains(&name.as_str()) {
                out.push(LocalField::new(
                    &format!("attributes.{name}"),
                    *ty,
                    Direction::Both,
                ));
            }
        }
    }
    out.extend(mapped(Direction::OutOnly));
    out
}

/// Resolve a local field path named in the mapping file.
pub fn lookup(
    entity: Entity,
    section: &EntitySection,
    path: &str,
) -> Result<LocalField, Unmappable> {
    if path == "id" {
        return Err(Unmappable::Reserved("the local id is the key, not a field"));
    }
    if let Some(Field {
        role: Role::Reserved(why),
        ..
    }) = crate::model::fields::find(crate::model::fields::of(entity), path)
    {
        return Err(Unmappable::Reserved(why));
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
