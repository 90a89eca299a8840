//! Property definitions (HubSpot's defaults plus custom ones) and value validation per type.

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::{iso, ObjectType};

/// One option of an enumeration property.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyOption {
    pub label: String,
    pub value: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub display_order: i64,
    #[serde(default)]
    pub hidden: bool,
}

/// A property definition.
#[derive(Debug, Clone)]
pub struct Property {
    pub name: String,
    pub label: String,
    pub kind: String,
    pub field_type: String,
    pub group_name: String,
    pub description: String,
    pub options: Vec<PropertyOption>,
    pub read_only_value: bool,
    pub calculated: bool,
    pub hubspot_defined: bool,
    pub has_unique_value: bool,
    pub created_at: DateTime<Utc>,
}

/// The body of `POST /crm/v3/properties/{object}` (also the seed file's property form).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyCreate {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub field_type: String,
    pub group_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub options: Vec<PropertyOption>,
    #[serde(default)]
    pub has_unique_value: bool,
}

/// Which field types go with which type (API.md §6).
fn field_type_allowed(kind: &str, field_type: &str) -> bool {
    let allowed: &[&str] = match kind {
        "bool" => &["booleancheckbox", "calculation_equation"],
        "enumeration" => &[
            "select",
            "radio",
            "checkbox",
            "booleancheckbox",
            "calculation_equation",
        ],
        "date" | "datetime" => &["date"],
        "string" => &[
            "text",
            "textarea",
            "html",
            "phonenumber",
            "file",
            "calculation_equation",
        ],
        "number" => &["number", "calculation_equation"],
        "phone_number" => &["phonenumber"],
        _ => &[],
    };
    allowed.contains(&field_type)
}

impl PropertyCreate {
    /// Checks the definition; `Err` is a message for a 400.
    pub fn into_property(self, now: DateTime<Utc>) -> Result<Property, String> {
        let valid_name = !self.name.is_empty()
            && self.name.len() <= 100
            && self
                .name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name {
            return Err(format!(
                "Property name \"{}\" is invalid: use lowercase letters, digits and underscores, starting with a letter",
                self.name
            ));
        }
        if self.label.trim().is_empty() {
            return Err("Property label is required".into());
        }
        if self.group_name.trim().is_empty() {
            return Err("Property groupName is required".into());
        }
        if !field_type_allowed(&self.kind, &self.field_type) {
            return Err(format!(
                "Property type \"{}\" cannot have fieldType \"{}\"",
                self.kind, self.field_type
            ));
        }
        if self.kind == "enumeration" && self.field_type != "booleancheckbox" {
            if self.options.is_empty() {
                return Err(format!(
                    "Enumeration property \"{}\" needs at least one option",
                    self.name
                ));
            }
            let mut seen = std::collections::HashSet::new();
            for o in &self.options {
                if o.value.is_empty() || !seen.insert(o.value.clone()) {
                    return Err(format!(
                        "Enumeration property \"{}\" has an empty or duplicate option value \"{}\"",
                        self.name, o.value
                    ));
                }
            }
        }
        let options = if self.kind == "bool"
            || (self.kind == "enumeration" && self.field_type == "booleancheckbox")
        {
            if self.options.is_empty() {
                bool_options()
            } else {
                self.options
            }
        } else {
            self.options
        };
        Ok(Property {
            name: self.name,
            label: self.label,
            kind: self.kind,
            field_type: self.field_type,
            group_name: self.group_name,
            description: self.description,
            options,
            read_only_value: false,
            calculated: false,
            hubspot_defined: false,
            has_unique_value: self.has_unique_value,
            created_at: now,
        })
    }
}

fn bool_options() -> Vec<PropertyOption> {
    vec![
        PropertyOption {
            label: "Yes".into(),
            value: "true".into(),
            description: String::new(),
            display_order: 0,
            hidden: false,
        },
        PropertyOption {
            label: "No".into(),
            value: "false".into(),
            description: String::new(),
            display_order: 1,
            hidden: false,
        },
    ]
}

impl Property {
    pub fn to_json(&self) -> Value {
        let options: Vec<Value> = self
            .options
            .iter()
            .map(|o| {
                json!({"label": o.label, "value": o.value, "description": o.description,
                       "displayOrder": o.display_order, "hidden": o.hidden})
            })
            .collect();
        json!({
            "name": self.name,
            "label": self.label,
            "type": self.kind,
            "fieldType": self.field_type,
            "groupName": self.group_name,
            "description": self.description,
            "options": options,
            "displayOrder": -1,
            "hidden": false,
            "formField": !self.read_only_value,
            "hasUniqueValue": self.has_unique_value,
            "calculated": self.calculated,
            "externalOptions": false,
            "hubspotDefined": self.hubspot_defined,
            "archived": false,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.created_at),
            "modificationMetadata": {
                "archivable": !self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyOptions": self.hubspot_defined && self.kind != "enumeration",
                "readOnlyValue": self.read_only_value,
            },
        })
    }

    /// Normalises a written value, or says why it is invalid: `(error code, message)`.
    /// `""` clears. `existing` is the current value (for `;`-prefixed checkbox appends).
    pub fn normalize(&self, raw: &str, existing: Option<&str>) -> Result<String, (String, String)> {
        if raw.is_empty() {
            return Ok(String::new());
        }
        let bad = |code: &str, what: &str| {
            Err((
                code.to_string(),
                format!("{raw} was not a valid {what} for property {}", self.name),
            ))
        };
        match self.kind.as_str() {
            "number" => match raw.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(format_number(n, raw.trim())),
                _ => bad("INVALID_NUMBER", "number"),
            },
            "bool" => match raw {
                "true" | "false" => Ok(raw.to_string()),
                _ => bad("INVALID_BOOLEAN", "boolean (use true or false)"),
            },
            "date" => parse_date(raw)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .map_or_else(
                    || {
                        bad(
                            "INVALID_DATE",
                            "date (use YYYY-MM-DD or epoch milliseconds at midnight UTC)",
                        )
                    },
                    Ok,
                ),
            "datetime" => parse_datetime(raw).map(iso).map_or_else(
                || {
                    bad(
                        "INVALID_DATETIME",
                        "datetime (use ISO 8601 or epoch milliseconds)",
                    )
                },
                Ok,
            ),
            "enumeration" => {
                let valid = |v: &str| self.options.iter().any(|o| o.value == v);
                if self.field_type == "checkbox" {
                    let (append, rest) = match raw.strip_prefix(';') {
                        Some(rest) => (true, rest),
                        None => (false, raw),
                    };
                    let mut values: Vec<String> = if append {
                        existing
                            .unwrap_or("")
                            .split(';')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    } else {
                        Vec::new()
                    };
                    for v in rest.split(';').filter(|s| !s.is_empty()) {
                        if !valid(v) {
                            return Err((
                                "INVALID_OPTION".into(),
                                format!(
                                    "{v} was not one of the allowed options: [{}]",
                                    self.option_values()
                                ),
                            ));
                        }
                        if !values.iter().any(|x| x == v) {
                            values.push(v.to_string());
                        }
                    }
                    Ok(values.join(";"))
                } else if valid(raw) {
                    Ok(raw.to_string())
                } else {
                    Err((
                        "INVALID_OPTION".into(),
                        format!(
                            "{raw} was not one of the allowed options: [{}]",
                            self.option_values()
                        ),
                    ))
                }
            }
            _ => {
                if raw.chars().count() > 65_536 {
                    bad("MAX_LENGTH", "string (at most 65,536 characters)")
                } else if self.name == "email" && !looks_like_email(raw) {
                    Err((
                        "INVALID_EMAIL".into(),
                        format!("Email address {raw} is invalid"),
                    ))
                } else {
                    Ok(raw.to_string())
                }
            }
        }
    }

    fn option_values(&self) -> String {
        self.options
            .iter()
            .map(|o| o.value.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

fn format_number(n: f64, raw: &str) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        // Keep what the writer sent (trimmed) rather than a float round trip.
        raw.to_string()
    }
}

/// `YYYY-MM-DD` or epoch milliseconds exactly at midnight UTC.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Some(d);
    }
    let ms: i64 = raw.parse().ok()?;
    if ms.rem_euclid(86_400_000) != 0 {
        return None;
    }
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.date_naive())
}

/// ISO 8601 with a zone (`…T…Z` or an offset) or epoch milliseconds.
pub fn parse_datetime(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    let ms: i64 = raw.parse().ok()?;
    Utc.timestamp_millis_opt(ms).single()
}

/// HubSpot's default properties of both objects, as data (`data/default-properties.json`).
const DEFAULTS_JSON: &str = include_str!("../data/default-properties.json");

#[derive(Deserialize)]
pub(crate) struct DefaultSet {
    group: String,
    properties: Vec<DefaultProperty>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DefaultProperty {
    name: String,
    label: String,
    #[serde(rename = "type")]
    kind: String,
    field_type: String,
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    calculated: bool,
    #[serde(default)]
    options: Vec<DefaultOption>,
}

#[derive(Deserialize)]
pub(crate) struct DefaultOption {
    value: String,
    label: String,
}

#[derive(Deserialize)]
pub(crate) struct Defaults {
    contacts: DefaultSet,
    companies: DefaultSet,
}

/// HubSpot's default properties for `object`.
pub fn defaults(object: ObjectType, now: DateTime<Utc>) -> Vec<Property> {
    // The file is part of the crate; a unit test checks that it parses.
    let Ok(all) = serde_json::from_str::<Defaults>(DEFAULTS_JSON) else {
        return Vec::new();
    };
    let set = match object {
        ObjectType::Contacts => all.contacts,
        ObjectType::Companies => all.companies,
    };
    let group = set.group;
    set.properties
        .into_iter()
        .map(|d| Property {
            has_unique_value: d.name == "hs_object_id",
            name: d.name,
            label: d.label,
            kind: d.kind,
            field_type: d.field_type,
            group_name: group.clone(),
            description: String::new(),
            options: d
                .options
                .into_iter()
                .enumerate()
                .map(|(i, o)| PropertyOption {
                    label: o.label,
                    value: o.value,
                    description: String::new(),
                    display_order: i64::try_from(i).unwrap_or(0),
                    hidden: false,
                })
                .collect(),
            read_only_value: d.read_only,
            calculated: d.calculated,
            hubspot_defined: true,
            created_at: now,
        })
        .collect()
}

#[cfg(test)]
mod default_tests {
    use super::*;

    #[test]
    fn the_default_properties_file_parses_and_holds_both_objects() {
        let now = Utc::now();
        let contacts = defaults(ObjectType::Contacts, now);
        let companies = defaults(ObjectType::Companies, now);
        assert!(contacts.iter().any(|p| p.name == "email"));
        assert!(companies.iter().any(|p| p.name == "domain"));
        let stage = contacts
            .iter()
            .find(|p| p.name == "lifecyclestage")
            .expect("lifecyclestage");
        assert!(stage.options.iter().any(|o| o.value == "customer"));
    }
}

/// `GET /crm/v3/properties/{object}`, `GET …/{object}/{name}`, `POST …/{object}`.
pub mod api {
    use std::sync::Arc;

    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::Json;
    use serde_json::{json, Value};

    use super::PropertyCreate;
    use crate::errors::{ApiError, ApiResult};
    use crate::extract::{Input, Object};
    use crate::objects::object_type;
    use crate::Shared;

    /// At most this many custom unique-value properties per object.
    const MAX_UNIQUE: usize = 10;

    pub async fn list(State(shared): State<Arc<Shared>>, Object(o): Object) -> ApiResult<Response> {
        let s = shared.lock();
        let results: Vec<Value> = s
            .defs(o)
            .list
            .iter()
            .map(super::Property::to_json)
            .collect();
        Ok(Json(json!({ "results": results })).into_response())
    }

    fn group_exists(s: &crate::state::Inner, o: crate::state::ObjectType, name: &str) -> bool {
        s.groups[o.index()].contains(name) || s.defs(o).list.iter().any(|p| p.group_name == name)
    }

    fn group_names(
        s: &crate::state::Inner,
        o: crate::state::ObjectType,
    ) -> std::collections::BTreeSet<String> {
        let mut names = s.groups[o.index()].clone();
        names.extend(s.defs(o).list.iter().map(|p| p.group_name.clone()));
        names
    }

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct GroupCreate {
        name: String,
        label: String,
        #[serde(default)]
        display_order: Option<i64>,
    }

    /// `GET …/properties/{object}/groups`.
    pub async fn list_groups(
        State(shared): State<Arc<Shared>>,
        Object(o): Object,
    ) -> ApiResult<Response> {
        let s = shared.lock();
        let results: Vec<Value> = group_names(&s, o)
            .into_iter()
            .map(|n| json!({"name": n, "label": n, "displayOrder": -1, "archived": false}))
            .collect();
        Ok(Json(json!({ "results": results })).into_response())
    }

    /// `POST …/properties/{object}/groups`: 201, or 409 when the name is taken.
    pub async fn create_group(
        State(shared): State<Arc<Shared>>,
        Object(o): Object,
        Input(req): Input<GroupCreate>,
    ) -> ApiResult<Response> {
        let valid = !req.name.is_empty()
            && req
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid || req.label.trim().is_empty() {
            return Err(ApiError::validation(format!(
                "Property group name \"{}\" is invalid or its label is empty",
                req.name
            )));
        }
        let mut s = shared.lock();
        if group_exists(&s, o, &req.name) {
            return Err(ApiError::conflict(format!(
                "A property group named {} already exists on {}",
                req.name,
                o.name()
            )));
        }
        s.groups[o.index()].insert(req.name.clone());
        Ok((
            StatusCode::CREATED,
            Json(json!({"name": req.name, "label": req.label, "displayOrder": req.display_order.unwrap_or(-1), "archived": false})),
        )
            .into_response())
    }

    pub async fn get(
        State(shared): State<Arc<Shared>>,
        Path((object, name)): Path<(String, String)>,
    ) -> ApiResult<Response> {
        let o = object_type(&object)?;
        let s = shared.lock();
        s.defs(o)
            .get(&name)
            .map(|p| Json(p.to_json()).into_response())
            .ok_or_else(|| {
                ApiError::not_found(format!("Unable to find property {name} on {}", o.name()))
            })
    }

    pub async fn create(
        State(shared): State<Arc<Shared>>,
        Object(o): Object,
        Input(req): Input<PropertyCreate>,
    ) -> ApiResult<Response> {
        let mut s = shared.lock();
        if s.defs(o).get(&req.name).is_some() {
            return Err(ApiError::conflict(format!(
                "A property named {} already exists on {}",
                req.name,
                o.name()
            )));
        }
        if req.has_unique_value
            && s.defs(o)
                .list
                .iter()
                .filter(|p| p.has_unique_value && !p.hubspot_defined)
                .count()
                >= MAX_UNIQUE
        {
            return Err(ApiError::validation(format!(
                "At most {MAX_UNIQUE} unique-value properties are allowed on {}",
                o.name()
            )));
        }
        if !group_exists(&s, o, &req.group_name) {
            return Err(ApiError::validation(format!(
                "Property group {} does not exist on {}",
                req.group_name,
                o.name()
            )));
        }
        let now = s.now();
        let p = req.into_property(now).map_err(ApiError::validation)?;
        let out = p.to_json();
        s.props[o.index()].add(p);
        Ok((StatusCode::CREATED, Json(out)).into_response())
    }
}
