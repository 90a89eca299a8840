//! `map check` and `map show`: the mapping file against the cached HubSpot properties.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::catalogue::{self, Direction, Entity, Unmappable};
use super::compat;
use super::file::Mapping;
use super::property::CachedProperty;

/// HubSpot's properties per object type, as cached.
#[derive(Debug, Default, Clone)]
pub struct Properties {
    pub contacts: HashMap<String, CachedProperty>,
    pub companies: HashMap<String, CachedProperty>,
}

impl Properties {
    #[must_use]
    pub fn new(contacts: Vec<CachedProperty>, companies: Vec<CachedProperty>) -> Self {
        let index = |v: Vec<CachedProperty>| v.into_iter().map(|p| (p.name.clone(), p)).collect();
        Self {
            contacts: index(contacts),
            companies: index(companies),
        }
    }

    #[must_use]
    pub fn of(&self, entity: Entity) -> &HashMap<String, CachedProperty> {
        match entity {
            Entity::Contact => &self.contacts,
            Entity::Organization => &self.companies,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding of `map check`.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub entity: &'static str,
    pub field: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.line {
            Some(l) => write!(
                f,
                "{sev}: line {l}: {}.{}: {}",
                self.entity, self.field, self.message
            ),
            None => write!(f, "{sev}: {}.{}: {}", self.entity, self.field, self.message),
        }
    }
}

/// The status of one row of `map show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Ok,
    Unmapped,
    TypeMismatch,
    Missing,
    ReadOnlyInHubspot,
    OverwritesHubspotDefined,
    NotChecked,
}

impl Status {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Unmapped => "-",
            Status::TypeMismatch => "type mismatch",
            Status::Missing => "missing",
            Status::ReadOnlyInHubspot => "read-only in HubSpot",
            Status::OverwritesHubspotDefined => "overwrites a HubSpot-defined property",
            Status::NotChecked => "not checked (run `hubsync map refresh`)",
        }
    }
}

/// One row of `map show`.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub entity: &'static str,
    pub field: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub direction: &'static str,
    pub property: Option<String>,
    pub property_type: Option<String>,
    pub pull: Option<&'static str>,
    pub status: Status,
}

/// Every problem of the mapping against the cached properties. Errors first, then warnings.
#[must_use]
pub fn check(mapping: &Mapping, props: &Properties) -> Vec<Problem> {
    let mut problems = Vec::new();
    for entity in [Entity::Contact, Entity::Organization] {
        check_entity(mapping, props, entity, &mut problems);
    }
    problems.sort_by_key(|p| (p.severity != Severity::Error, p.line.unwrap_or(usize::MAX)));
    problems
}

fn check_entity(mapping: &Mapping, props: &Properties, entity: Entity, out: &mut Vec<Problem>) {
    let section = mapping.section(entity == Entity::Contact);
    let name = entity.section();
    let cached = props.of(entity);
    let line = |field: &str| mapping.line_of(name, "fields", field);
    let mut push = |severity, field: &str, line: Option<usize>, message: String| {
        out.push(Problem {
            severity,
            entity: name,
            field: field.to_owned(),
            line,
            message,
        });
    };

    if entity == Entity::Organization && !section.attributes.is_empty() {
        for attr in section.attributes.keys() {
            push(
                Severity::Error,
                &format!("attributes.{attr}"),
                mapping.line_of(name, "attributes", attr),
                "organizations have no custom attributes; declare attributes under `contacts:`"
                    .into(),
            );
        }
    }
    if section.enabled && !section.fields.is_empty() && cached.is_empty() {
        push(
            Severity::Error,
            "fields",
            mapping.line_of(name, "fields", "").or_else(|| mapping.line_of("", "", name)),
            format!(
                "no HubSpot {} properties are cached, so nothing can be checked; run `hubsync map refresh`",
                entity.hubspot_object()
            ),
        );
    }

    let mut seen_fields: HashSet<&str> = HashSet::new();
    let mut seen_props: HashMap<&str, &str> = HashMap::new();
    for (field, spec) in &section.fields {
        let at = line(field);
        let property = spec.property();
        if !seen_fields.insert(field.as_str()) {
            push(
                Severity::Error,
                field,
                at,
                "this local field is mapped twice".into(),
            );
        }
        if let Some(first) = seen_props.insert(property, field.as_str()) {
            push(
                Severity::Error,
                field,
                at,
                format!("HubSpot property `{property}` is already mapped from `{first}`; each property can take one local field"),
            );
        }
        if entity.identity_properties().contains(&property) {
            push(
                Severity::Error,
                field,
                at,
                format!("`{property}` is an identity property that hubsync sets itself; map this field to another property"),
            );
            continue;
        }
        let local = match catalogue::lookup(entity, section, field) {
            Ok(f) => f,
            Err(Unmappable::Unknown) => {
                push(
                    Severity::Error,
                    field,
                    at,
                    format!("unknown local field `{field}`; `hubsync map show` lists the mappable fields"),
                );
                continue;
            }
            Err(Unmappable::Reserved(why)) => {
                push(
                    Severity::Error,
                    field,
                    at,
                    format!("`{field}` cannot be mapped: {why}"),
                );
                continue;
            }
            Err(Unmappable::UndeclaredAttribute) => {
                let attr = field.trim_start_matches("attributes.");
                push(
                    Severity::Error,
                    field,
                    at,
                    format!("custom attribute `{attr}` is not declared; add it with its type under `{name}.attributes`"),
                );
                continue;
            }
        };
        if local.direction == Direction::OutOnly
            && matches!(spec, super::FieldSpec::Long { pull: Some(p), .. } if *p != super::PullPolicy::Never)
        {
            push(
                Severity::Warning,
                field,
                at,
                "read-only local field: it is pushed, never pulled, so its `pull:` policy has no effect".into(),
            );
        }
        let (pull_policy, push_policy) = (spec.pull(), spec.push());
        if push_policy == super::PushPolicy::Never
            && (pull_policy == super::PullPolicy::Never || local.direction == Direction::OutOnly)
        {
            push(
                Severity::Error,
                field,
                at,
                "`push: never` on a field that is never pulled: nothing would ever sync it; remove the mapping or one of the policies".into(),
            );
        }
        if matches!(
            spec,
            super::FieldSpec::Long {
                conflict: Some(_),
                ..
            }
        ) && (push_policy == super::PushPolicy::Never
            || pull_policy != super::PullPolicy::Overwrite
            || local.direction == Direction::OutOnly)
        {
            push(
                Severity::Warning,
                field,
                at,
                "`conflict:` only applies to two-way fields with `pull: overwrite`; here it has no effect".into(),
            );
        }
        if cached.is_empty() {
            continue;
        }
        let Some(prop) = cached.get(property) else {
            push(
                Severity::Error,
                field,
                at,
                format!(
                    "HubSpot has no {} property `{property}`; create it in HubSpot (or with `hubsync map scaffold`) and run `hubsync map refresh`",
                    entity.hubspot_object()
                ),
            );
            continue;
        };
        if !compat::compatible(local.ty, prop) {
            push(
                Severity::Error,
                field,
                at,
                format!(
                    "type mismatch: `{field}` is a local {} but `{property}` is a HubSpot {} ({}); a {} maps to {}",
                    local.ty,
                    prop.type_,
                    prop.field_type,
                    local.ty,
                    compat::accepted(local.ty)
                ),
            );
        }
        if push_policy == super::PushPolicy::Never {
            // Pull-only: HubSpot owns the value, so a calculated or HubSpot-defined property
            // is fine.
        } else if prop.read_only() {
            push(
                Severity::Error,
                field,
                at,
                format!("`{property}` is read-only in HubSpot (calculated or system-set); HubSpot refuses writes to it"),
            );
        } else if prop.hubspot_defined {
            push(
                Severity::Warning,
                field,
                at,
                format!("`{property}` is a HubSpot-defined property that may already be in use; pushing overwrites it (a custom property is safer: `hubsync map scaffold`)"),
            );
        }
    }
}

/// The rows of `map show`: every mappable local field, mapped or not, plus mapped unknown ones.
#[must_use]
pub fn table(mapping: &Mapping, props: &Properties) -> Vec<Row> {
    let mut rows = Vec::new();
    for entity in [Entity::Contact, Entity::Organization] {
        let section = mapping.section(entity == Entity::Contact);
        let cached = props.of(entity);
        let mut catalogue = catalogue::fields(entity, section);
        for (field, _) in &section.fields {
            if !catalogue.iter().any(|f| &f.path == field) {
                if let Ok(f) = catalogue::lookup(entity, section, field) {
                    catalogue.push(f);
                }
            }
        }
        for local in catalogue {
            let spec = section
                .fields
                .iter()
                .find(|(f, _)| *f == local.path)
                .map(|(_, s)| s);
            let prop = spec.and_then(|s| cached.get(s.property()));
            let status = match (spec, prop) {
                (None, _) => Status::Unmapped,
                (Some(_), _) if cached.is_empty() => Status::NotChecked,
                (Some(_), None) => Status::Missing,
                (Some(_), Some(p)) if !compat::compatible(local.ty, p) => Status::TypeMismatch,
                (Some(_), Some(p)) if p.read_only() => Status::ReadOnlyInHubspot,
                (Some(_), Some(p)) if p.hubspot_defined => Status::OverwritesHubspotDefined,
                (Some(_), Some(_)) => Status::Ok,
            };
            rows.push(Row {
                entity: entity.section(),
                field: local.path.clone(),
                ty: local.ty.to_string(),
                direction: local.direction.arrow(),
                property: spec.map(|s| s.property().to_owned()),
                property_type: prop.map(|p| format!("{}/{}", p.type_, p.field_type)),
                pull: spec.map(|s| {
                    if local.direction == Direction::OutOnly {
                        "never"
                    } else {
                        s.pull().as_str()
                    }
                }),
                status,
            });
        }
    }
    rows
}
