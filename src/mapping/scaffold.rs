//! `map scaffold`: a custom HubSpot property per unmapped local field, and the mapping lines
//! that use them. HubSpot advises custom properties so nothing overwrites fields already in use.

use anyhow::{bail, Result};

use super::catalogue::{self, Entity, LocalField};
use super::check::Properties;
use super::compat;
use super::file::Mapping;
use super::types::ValueType;

/// The property group scaffolded properties go to.
pub const GROUP: &str = "hubsync";

/// One property to create (or reuse) and map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub entity: Entity,
    pub field: String,
    pub property: String,
    pub label: String,
    pub kind: &'static str,
    pub field_type: &'static str,
    /// The property exists already with a compatible type: only the mapping is written.
    pub exists: bool,
}

/// `hubsync_` + the field path in snake case: `attributes.seniorityLevel` → `hubsync_attributes_seniority_level`.
#[must_use]
pub fn property_name(path: &str) -> String {
    let mut out = String::from("hubsync_");
    let mut prev_lower = false;
    for c in path.chars() {
        if c == '.' || c == '-' || c == ' ' {
            out.push('_');
            prev_lower = false;
        } else if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c.to_ascii_lowercase());
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

/// A label people recognise in HubSpot: `Community: seniority level`.
#[must_use]
pub fn label(path: &str) -> String {
    let last = path.rsplit('.').next().unwrap_or(path);
    let mut words = String::new();
    for (i, c) in last.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    match path.split_once('.') {
        Some(("identities", _)) => format!("Community: {words} handle"),
        _ => format!("Community: {words}"),
    }
}

/// The HubSpot type and field type for a local type.
#[must_use]
pub fn hubspot_type(ty: ValueType) -> (&'static str, &'static str) {
    match ty {
        ValueType::String => ("string", "text"),
        ValueType::Number => ("number", "number"),
        ValueType::Bool => ("bool", "booleancheckbox"),
        ValueType::Date => ("date", "date"),
        ValueType::Datetime => ("datetime", "date"),
        ValueType::List => ("string", "textarea"),
    }
}

/// What to scaffold: the named fields (`FIELD`, `contacts.FIELD` or `organizations.FIELD`), or
/// every unmapped field of the enabled entities.
pub fn plan(mapping: &Mapping, props: &Properties, requested: &[String]) -> Result<Vec<Planned>> {
    let mut wanted: Vec<(Entity, LocalField)> = Vec::new();
    let entities = [Entity::Contact, Entity::Organization];
    if requested.is_empty() {
        for entity in entities {
            let section = mapping.section(entity == Entity::Contact);
            if !section.enabled {
                continue;
            }
            for f in catalogue::fields(entity, section) {
                if !section.fields.iter().any(|(k, _)| *k == f.path) {
                    wanted.push((entity, f));
                }
            }
        }
    } else {
        for name in requested {
            let (only, field) = match name.split_once('.') {
                Some(("contacts", f)) => (Some(Entity::Contact), f),
                Some(("organizations", f)) => (Some(Entity::Organization), f),
                _ => (None, name.as_str()),
            };
            let mut found = false;
            for entity in entities {
                if only.is_some_and(|o| o != entity) {
                    continue;
                }
                let section = mapping.section(entity == Entity::Contact);
                if let Ok(f) = catalogue::lookup(entity, section, field) {
                    if section.fields.iter().any(|(k, _)| *k == f.path) {
                        bail!("`{}.{field}` is mapped already; remove its line from the mapping file to scaffold it", entity.section());
                    }
                    wanted.push((entity, f));
                    found = true;
                }
            }
            if !found {
                bail!("`{name}` is not a mappable local field; `hubsync map show` lists them");
            }
        }
    }
    let mut out = Vec::new();
    for (entity, f) in wanted {
        let property = property_name(&f.path);
        let (kind, field_type) = hubspot_type(f.ty);
        let exists = match props.of(entity).get(&property) {
            Some(p) if compat::compatible(f.ty, p) => true,
            Some(p) => bail!(
                "HubSpot already has a {} property `{property}` of type {}, which can't hold the local {} `{}`; rename or delete it in HubSpot",
                entity.hubspot_object(),
                p.type_,
                f.ty,
                f.path
            ),
            None => false,
        };
        out.push(Planned {
            entity,
            label: label(&f.path),
            field: f.path,
            property,
            kind,
            field_type,
            exists,
        });
    }
    Ok(out)
}

/// The mapping file's text with `field: property` lines added under each entity's `fields:`,
/// keeping everything else (order, comments) as it was.
#[must_use]
pub fn add_mappings(source: &str, planned: &[Planned]) -> String {
    let mut text = source.to_owned();
    for entity in [Entity::Contact, Entity::Organization] {
        let lines: Vec<String> = planned
            .iter()
            .filter(|p| p.entity == entity)
            .map(|p| format!("{}: {}", p.field, p.property))
            .collect();
        if !lines.is_empty() {
            text = insert_fields(&text, entity.section(), &lines);
        }
    }
    text
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_key(line: &str, key: &str) -> bool {
    let t = line.trim_start();
    t.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with(':'))
}

fn insert_fields(source: &str, section: &str, entries: &[String]) -> String {
    let mut lines: Vec<String> = source.lines().map(str::to_owned).collect();
    let significant = |l: &str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let Some(sec) = lines
        .iter()
        .position(|l| indent_of(l) == 0 && is_key(l, section))
    else {
        let mut out = source.trim_end().to_owned();
        out.push_str(&format!("\n{section}:\n  enabled: true\n  fields:\n"));
        for e in entries {
            out.push_str(&format!("    {e}\n"));
        }
        return out;
    };
    let sec_end = (sec + 1..lines.len())
        .find(|&i| significant(&lines[i]) && indent_of(&lines[i]) == 0)
        .unwrap_or(lines.len());
    let fields =
        (sec + 1..sec_end).find(|&i| significant(&lines[i]) && is_key(&lines[i], "fields"));
    match fields {
        Some(fi) => {
            let base = indent_of(&lines[fi]);
            // `fields: {}` or `fields:` with nothing under it.
            let inline_empty = lines[fi].contains("{}");
            if inline_empty {
                lines[fi] = format!("{}fields:", " ".repeat(base));
            }
            let mut end = fi + 1;
            let mut child = None;
            for (i, line) in lines.iter().enumerate().take(sec_end).skip(fi + 1) {
                if significant(line) {
                    if indent_of(line) <= base {
                        break;
                    }
                    child.get_or_insert(indent_of(line));
                    end = i + 1;
                }
            }
            let pad = " ".repeat(child.unwrap_or(base + 2));
            for (k, e) in entries.iter().enumerate() {
                lines.insert(end + k, format!("{pad}{e}"));
            }
        }
        None => {
            let pad = (sec + 1..sec_end)
                .find(|&i| significant(&lines[i]))
                .map_or(2, |i| indent_of(&lines[i]));
            let mut at = sec_end;
            while at > sec + 1 && !significant(&lines[at - 1]) {
                at -= 1;
            }
            lines.insert(at, format!("{}fields:", " ".repeat(pad)));
            for (k, e) in entries.iter().enumerate() {
                lines.insert(at + 1 + k, format!("{}{e}", " ".repeat(pad + 2)));
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels() {
        assert_eq!(
            property_name("attributes.seniorityLevel"),
            "hubsync_attributes_seniority_level"
        );
        assert_eq!(property_name("displayName"), "hubsync_display_name");
        assert_eq!(
            property_name("identities.github"),
            "hubsync_identities_github"
        );
        assert_eq!(
            property_name("revenueRangeMin"),
            "hubsync_revenue_range_min"
        );
        assert_eq!(
            label("attributes.seniorityLevel"),
            "Community: seniority level"
        );
        assert_eq!(label("identities.github"), "Community: github handle");
    }

    fn planned(entity: Entity, field: &str) -> Planned {
        Planned {
            entity,
            field: field.into(),
            property: property_name(field),
            label: label(field),
            kind: "string",
            field_type: "text",
            exists: false,
        }
    }

    #[test]
    fn mappings_are_added_under_fields_keeping_comments() {
        let src = "version: 1\n# people\ncontacts:\n  enabled: true\n  fields:\n    displayName: x   # shown name\n\n# companies\norganizations:\n  enabled: true\n";
        let out = add_mappings(
            src,
            &[
                planned(Entity::Contact, "score"),
                planned(Entity::Organization, "employees"),
            ],
        );
        assert_eq!(
            out,
            "version: 1\n# people\ncontacts:\n  enabled: true\n  fields:\n    displayName: x   # shown name\n    score: hubsync_score\n\n# companies\norganizations:\n  enabled: true\n  fields:\n    employees: hubsync_employees\n"
        );
        let parsed = Mapping::parse(&out, "t").unwrap();
        assert_eq!(parsed.file.contacts.fields.len(), 2);
        assert_eq!(parsed.file.organizations.fields.len(), 1);
    }

    #[test]
    fn a_missing_section_is_appended() {
        let out = add_mappings("version: 1\n", &[planned(Entity::Contact, "score")]);
        let parsed = Mapping::parse(&out, "t").unwrap();
        assert!(parsed.file.contacts.enabled);
        assert_eq!(parsed.file.contacts.fields[0].1.property(), "hubsync_score");
    }
}
