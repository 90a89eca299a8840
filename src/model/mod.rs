//! Local contacts and organizations (SPEC §4), their field paths and value types.
//!
//! Both record types serialize with the SPEC field names (camelCase, nested `identities` and
//! `attributes`), and offer [`Contact::field`] / [`Contact::set_field`] (and the same on
//! [`Organization`]) to read and write a value by its SPEC field path (`displayName`,
//! `identities.github`, `attributes.seniorityLevel`, `score`, `tags`, ...).
//!
//! Values follow one convention everywhere: an empty string or list is the same as an absent
//! value. `field` returns `None` for it, and `set_field` with `null`, `""` or `[]` clears the field.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike as _, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod entity;
pub mod fields;

pub use entity::Entity;
pub use fields::{Direction, Field, Role, ValueType, BUILTIN_ATTRIBUTES, KNOWN_PLATFORMS};

/// A value that does not fit the field it was given for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A local contact (a community member).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contact {
    pub id: String,
    /// E-mail addresses; the first is primary.
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Platform → handle (github, twitter, linkedin, discord, ...).
    #[serde(default)]
    pub identities: BTreeMap<String, String>,
    /// Custom attributes with typed JSON values.
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
    /// Local organization ids.
    #[serde(default)]
    pub organizations: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "number"
    )]
    pub score: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "number"
    )]
    pub reach: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "number"
    )]
    pub activity_count: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "number"
    )]
    pub active_days_count: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "number"
    )]
    pub average_sentiment: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "number"
    )]
    pub number_of_open_source_contributions: Option<f64>,
    /// RFC 3339, UTC (`…Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

pub use fields::CONTACT_FIELDS;

/// What every local record offers: its id, and its fields read and written by SPEC §4 path.
pub trait Record: Clone {
    /// Which kind of record this is.
    const ENTITY: Entity;
    fn id(&self) -> &str;
    fn get(&self, path: &str) -> Option<Value>;
    fn set(&mut self, path: &str, value: Value) -> Result<(), FieldError>;
}

impl Record for Contact {
    const ENTITY: Entity = Entity::Contact;
    fn id(&self) -> &str {
        &self.id
    }
    fn get(&self, path: &str) -> Option<Value> {
        self.field(path)
    }
    fn set(&mut self, path: &str, value: Value) -> Result<(), FieldError> {
        self.set_field(path, value)
    }
}

impl Record for Organization {
    const ENTITY: Entity = Entity::Organization;
    fn id(&self) -> &str {
        &self.id
    }
    fn get(&self, path: &str) -> Option<Value> {
        self.field(path)
    }
    fn set(&mut self, path: &str, value: Value) -> Result<(), FieldError> {
        self.set_field(path, value)
    }
}

impl Contact {
    #[must_use]
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    /// The primary e-mail (the first one).
    #[must_use]
    pub fn primary_email(&self) -> Option<&str> {
        self.emails.first().map(String::as_str)
    }

    /// The type of a field path, for the fields whose type does not depend on the mapping file.
    /// `None` for unknown paths and for undeclared custom attributes (they keep their JSON type).
    #[must_use]
    pub fn builtin_type(path: &str) -> Option<ValueType> {
        if let Some(name) = path.strip_prefix("identities.") {
            return valid_key(name).then_some(ValueType::String);
        }
        if let Some(name) = path.strip_prefix("attributes.") {
            return BUILTIN_ATTRIBUTES
                .contains(&name)
                .then_some(ValueType::String);
        }
        fields::find(CONTACT_FIELDS, path).map(|f| f.ty)
    }

    /// The value of a SPEC §4 field path, or `None` when the field is empty or the path unknown.
    #[must_use]
    pub fn field(&self, path: &str) -> Option<Value> {
        if let Some(name) = path.strip_prefix("identities.") {
            return self.identities.get(name).cloned().map(Value::String);
        }
        if let Some(name) = path.strip_prefix("attributes.") {
            return self.attributes.get(name).cloned();
        }
        match path {
            "id" => Some(Value::String(self.id.clone())),
            "emails" => list_value(&self.emails),
            "displayName" => self.display_name.clone().map(Value::String),
            "identities" => (!self.identities.is_empty()).then(|| {
                Value::Object(
                    self.identities
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                )
            }),
            "attributes" => (!self.attributes.is_empty()).then(|| {
                Value::Object(
                    self.attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                )
            }),
            "organizations" => list_value(&self.organizations),
            "score" => number_value(self.score),
            "reach" => number_value(self.reach),
            "activityCount" => number_value(self.activity_count),
            "activeDaysCount" => number_value(self.active_days_count),
            "averageSentiment" => number_value(self.average_sentiment),
            "numberOfOpenSourceContributions" => {
                number_value(self.number_of_open_source_contributions)
            }
            "joinedAt" => self.joined_at.clone().map(Value::String),
            "lastActive" => self.last_active.clone().map(Value::String),
            "createdAt" => self.created_at.clone().map(Value::String),
            "tags" => list_value(&self.tags),
            _ => None,
        }
    }

    /// Set a field by its SPEC §4 path. `null`, `""` and `[]` clear it. Values are checked against
    /// the field's built-in type and normalised (datetimes to UTC, e-mails trimmed). Undeclared
    /// custom attributes take any JSON value; check declared ones with [`coerce`] first.
    pub fn set_field(&mut self, path: &str, value: Value) -> Result<(), FieldError> {
        let err = |m: String| FieldError::new(path, m);
        if let Some(name) = path.strip_prefix("identities.") {
            return self.set_identity(name, value);
        }
        if let Some(name) = path.strip_prefix("attributes.") {
            return self.set_attribute(name, value);
        }
        match path {
            "emails" => self.emails = emails(value).map_err(err)?,
            "displayName" => self.display_name = opt_string(value).map_err(err)?,
            "identities" | "attributes" => {
                let Value::Object(map) = value else {
                    if value.is_null() {
                        if path == "identities" {
                            self.identities.clear();
                        } else {
                            self.attributes.clear();
                        }
                        return Ok(());
                    }
                    return Err(err(format!("expected an object, got {}", describe(&value))));
                };
                for (k, v) in map {
                    if path == "identities" {
                        self.set_identity(&k, v)?;
                    } else {
                        self.set_attribute(&k, v)?;
                    }
                }
            }
            "organizations" => self.organizations = id_list(value).map_err(err)?,
            "score" => self.score = opt_number(value).map_err(err)?,
            "reach" => self.reach = opt_number(value).map_err(err)?,
            "activityCount" => self.activity_count = opt_number(value).map_err(err)?,
            "activeDaysCount" => self.active_days_count = opt_number(value).map_err(err)?,
            "averageSentiment" => self.average_sentiment = opt_number(value).map_err(err)?,
            "numberOfOpenSourceContributions" => {
                self.number_of_open_source_contributions = opt_number(value).map_err(err)?;
            }
            "joinedAt" => self.joined_at = opt_datetime(value).map_err(err)?,
            "lastActive" => self.last_active = opt_datetime(value).map_err(err)?,
            "createdAt" => self.created_at = opt_datetime(value).map_err(err)?,
            "tags" => self.tags = string_list(value).map_err(err)?,
            "id" => return Err(err("the id is the record's key and cannot be changed".into())),
            _ => {
                return Err(err(format!(
                    "unknown contact field; the fields are id, {}, identities.<platform>, attributes.<name>",
                    fields::paths(CONTACT_FIELDS)
                )))
            }
        }
        Ok(())
    }

    /// `identities.<platform>`: a string; `null` or `""` removes it.
    pub fn set_identity(&mut self, platform: &str, value: Value) -> Result<(), FieldError> {
        let err = |m: String| FieldError::new(format!("identities.{platform}"), m);
        if !valid_key(platform) {
            return Err(err(
                "a platform name must be non-empty and contain no `.`".into()
            ));
        }
        match opt_string(value).map_err(err)? {
            Some(v) => self.identities.insert(platform.to_owned(), v),
            None => self.identities.remove(platform),
        };
        Ok(())
    }

    /// `attributes.<name>`: built-in ones are strings, others any JSON value (check declared
    /// types with [`coerce`] first); `null`, `""` or `[]` removes it.
    pub fn set_attribute(&mut self, name: &str, value: Value) -> Result<(), FieldError> {
        let err = |m: String| FieldError::new(format!("attributes.{name}"), m);
        if !valid_key(name) {
            return Err(err(
                "an attribute name must be non-empty and contain no `.`".into(),
            ));
        }
        let value = if BUILTIN_ATTRIBUTES.contains(&name) {
            coerce(ValueType::String, value).map_err(err)?
        } else {
            value
        };
        if is_empty(&value) {
            self.attributes.remove(name);
        } else {
            self.attributes.insert(name.to_owned(), value);
        }
        Ok(())
    }
}

/// A local organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Organization {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "number"
    )]
    pub employees: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "number"
    )]
    pub founded: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twitter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linkedin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crunchbase: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "number"
    )]
    pub revenue_range_min: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "number"
    )]
    pub revenue_range_max: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "number"
    )]
    pub member_count: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "number"
    )]
    pub activity_count: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub emails: Vec<String>,
}

pub use fields::ORGANIZATION_FIELDS;

/// A typed slot of an [`Organization`], generic over `&T` / `&mut T`.
enum OrgSlot<S, N, L> {
    Text(S),
    Number(N),
    Datetime(S),
    List(L),
}

/// The one place that ties organization field paths to struct fields; `$r` is `&` or `&mut`.
macro_rules! org_slot {
    ($org:expr, $path:expr, $($r:tt)+) => {{
        use OrgSlot::{Datetime, List, Number, Text};
        let o = $org;
        Some(match $path {
            "name" => Text($($r)+ o.name),
            "website" => Text($($r)+ o.website),
            "description" => Text($($r)+ o.description),
            "location" => Text($($r)+ o.location),
            "logo" => Text($($r)+ o.logo),
            "headline" => Text($($r)+ o.headline),
            "size" => Text($($r)+ o.size),
            "url" => Text($($r)+ o.url),
            "industry" => Text($($r)+ o.industry),
            "type" => Text($($r)+ o.type_),
            "employees" => Number($($r)+ o.employees),
            "founded" => Number($($r)+ o.founded),
            "github" => Text($($r)+ o.github),
            "twitter" => Text($($r)+ o.twitter),
            "linkedin" => Text($($r)+ o.linkedin),
            "crunchbase" => Text($($r)+ o.crunchbase),
            "revenueRangeMin" => Number($($r)+ o.revenue_range_min),
            "revenueRangeMax" => Number($($r)+ o.revenue_range_max),
            "memberCount" => Number($($r)+ o.member_count),
            "activityCount" => Number($($r)+ o.activity_count),
            "joinedAt" => Datetime($($r)+ o.joined_at),
            "lastActive" => Datetime($($r)+ o.last_active),
            "tags" => List($($r)+ o.tags),
            "emails" => List($($r)+ o.emails),
            _ => return None,
        })
    }};
}

impl Organization {
    #[must_use]
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    /// The type of an organization field path, `None` when unknown.
    #[must_use]
    pub fn builtin_type(path: &str) -> Option<ValueType> {
        fields::find(ORGANIZATION_FIELDS, path).map(|f| f.ty)
    }

    /// The normalised domain of the website (SPEC §7), the identity for data-out.
    #[must_use]
    pub fn domain(&self) -> Option<String> {
        self.website.as_deref().and_then(normalize_domain)
    }

    #[allow(clippy::type_complexity)]
    fn slot(
        &mut self,
        path: &str,
    ) -> Option<OrgSlot<&mut Option<String>, &mut Option<f64>, &mut Vec<String>>> {
        org_slot!(self, path, &mut)
    }

    #[allow(clippy::type_complexity)]
    fn slot_ref(&self, path: &str) -> Option<OrgSlot<&Option<String>, &Option<f64>, &Vec<String>>> {
        org_slot!(self, path, &)
    }

    /// The value of a SPEC §4 field path, or `None` when the field is empty or the path unknown.
    #[must_use]
    pub fn field(&self, path: &str) -> Option<Value> {
        if path == "id" {
            return Some(Value::String(self.id.clone()));
        }
        match self.slot_ref(path)? {
            OrgSlot::Text(v) | OrgSlot::Datetime(v) => v.clone().map(Value::String),
            OrgSlot::Number(v) => number_value(*v),
            OrgSlot::List(v) => list_value(v),
        }
    }

    /// Set a field by its SPEC §4 path. `null`, `""` and `[]` clear it.
    pub fn set_field(&mut self, path: &str, value: Value) -> Result<(), FieldError> {
        let err = |m: String| FieldError::new(path, m);
        if path == "id" {
            return Err(err(
                "the id is the record's key and cannot be changed".into()
            ));
        }
        let Some(slot) = self.slot(path) else {
            return Err(err(format!(
                "unknown organization field; the fields are id, {}",
                fields::paths(ORGANIZATION_FIELDS)
            )));
        };
        match slot {
            OrgSlot::Text(v) => *v = opt_string(value).map_err(err)?,
            OrgSlot::Number(v) => *v = opt_number(value).map_err(err)?,
            OrgSlot::Datetime(v) => *v = opt_datetime(value).map_err(err)?,
            OrgSlot::List(v) => {
                *v = if path == "emails" {
                    emails(value)
                } else {
                    string_list(value)
                }
                .map_err(err)?;
            }
        }
        Ok(())
    }
}

/// Check a JSON value against a declared type and normalise it (datetimes to UTC `…Z`).
/// `null` passes through (it clears the field).
pub fn coerce(ty: ValueType, value: Value) -> Result<Value, String> {
    if value.is_null() {
        return Ok(value);
    }
    let wrong = |v: &Value| format!("expected {}, got {}", type_phrase(ty), describe(v));
    match ty {
        ValueType::String => match value {
            Value::String(_) => Ok(value),
            v => Err(wrong(&v)),
        },
        ValueType::Number => match &value {
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Ok(value),
            v => Err(wrong(v)),
        },
        ValueType::Bool => match value {
            Value::Bool(_) => Ok(value),
            v => Err(wrong(&v)),
        },
        ValueType::Date => match &value {
            Value::String(s) if s.is_empty() => Ok(value),
            Value::String(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
                .map_err(|_| format!("expected a date (YYYY-MM-DD), got \"{s}\"")),
            v => Err(wrong(v)),
        },
        ValueType::Datetime => match &value {
            Value::String(s) if s.is_empty() => Ok(value),
            Value::String(s) => normalize_datetime(s).map(Value::String),
            v => Err(wrong(v)),
        },
        ValueType::List => match &value {
            Value::Array(items) if items.iter().all(Value::is_string) => Ok(value),
            v => Err(wrong(v)),
        },
    }
}

/// Parse a text cell (CSV) as a value of a type: numbers, `true`/`false`, RFC 3339 datetimes,
/// `;`-separated lists. An empty cell is `None` (absent).
pub fn parse_text(ty: Option<ValueType>, text: &str) -> Result<Option<Value>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value = match ty {
        None | Some(ValueType::String) => Value::String(text.to_owned()),
        Some(ValueType::Number) => {
            let t = text.trim();
            match t.parse::<f64>() {
                Ok(n) if n.is_finite() => serde_json::Number::from_f64(n)
                    .map(Value::Number)
                    .ok_or_else(|| format!("expected a number, got \"{text}\""))?,
                _ => return Err(format!("expected a number, got \"{text}\"")),
            }
        }
        Some(ValueType::Bool) => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(format!("expected true or false, got \"{text}\"")),
        },
        Some(t @ (ValueType::Date | ValueType::Datetime)) => {
            coerce(t, Value::String(text.trim().to_owned()))?
        }
        Some(ValueType::List) => Value::Array(
            text.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
    };
    Ok(Some(value))
}

/// An RFC 3339 datetime in UTC with a `Z` suffix (fractional seconds kept when present).
pub fn normalize_datetime(text: &str) -> Result<String, String> {
    let utc = DateTime::parse_from_rfc3339(text.trim())
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            format!("expected an RFC 3339 datetime such as 2024-05-01T12:00:00Z, got \"{text}\"")
        })?;
    // RFC 3339 has four-digit years: an instant that leaves them in UTC could not be read back.
    if !(0..=9999).contains(&utc.year()) {
        return Err(format!(
            "\"{text}\" is outside the years 0000 to 9999 once converted to UTC"
        ));
    }
    Ok(utc.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// An e-mail address compared for matching: trimmed, lowercase.
#[must_use]
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// An organization name compared for matching: trimmed, lowercase, inner whitespace collapsed.
#[must_use]
pub fn normalize_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A website as a HubSpot `domain`: lowercase, no scheme, no `www.`, no port, no path, no
/// credentials; other subdomains kept. `None` when nothing is left.
#[must_use]
pub fn normalize_domain(website: &str) -> Option<String> {
    let mut s = website.trim();
    if let Some(i) = s.find("://") {
        s = &s[i + 3..];
    } else if let Some(rest) = s.strip_prefix("//") {
        s = rest;
    }
    let end = s.find(['/', '?', '#']).unwrap_or(s.len());
    s = &s[..end];
    if let Some(i) = s.rfind('@') {
        s = &s[i + 1..];
    }
    if let Some(i) = s.rfind(':') {
        if s[i + 1..].chars().all(|c| c.is_ascii_digit()) {
            s = &s[..i];
        }
    }
    let host = s.trim_end_matches('.').to_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
    (!host.is_empty() && !host.contains(char::is_whitespace)).then_some(host)
}

/// A short description of a JSON value's type for messages.
#[must_use]
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the bool {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => {
            let short: String = s.chars().take(40).collect();
            let more = if short.len() < s.len() { "…" } else { "" };
            format!("the string \"{short}{more}\"")
        }
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn type_phrase(ty: ValueType) -> &'static str {
    match ty {
        ValueType::String => "a string",
        ValueType::Number => "a number",
        ValueType::Bool => "a bool (true or false)",
        ValueType::Date => "a date (YYYY-MM-DD)",
        ValueType::Datetime => "an RFC 3339 datetime",
        ValueType::List => "a list of strings",
    }
}

fn valid_key(name: &str) -> bool {
    !name.is_empty() && !name.contains('.')
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn list_value(items: &[String]) -> Option<Value> {
    (!items.is_empty()).then(|| Value::Array(items.iter().cloned().map(Value::String).collect()))
}

/// A number as JSON: whole numbers without a fraction (`12`, not `12.0`).
#[must_use]
pub fn number_json(n: f64) -> Option<Value> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every whole f64 below is exact in i64
    if n.fract() == 0.0 && n.abs() < EXACT {
        #[allow(clippy::cast_possible_truncation)]
        return Some(Value::from(n as i64));
    }
    serde_json::Number::from_f64(n).map(Value::Number)
}

fn number_value(n: Option<f64>) -> Option<Value> {
    n.and_then(number_json)
}

#[allow(clippy::ref_option)] // serde's `serialize_with` passes `&Option<T>`
fn number<S: serde::Serializer>(n: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    number_value(*n).serialize(s)
}

fn opt_string(value: Value) -> Result<Option<String>, String> {
    match coerce(ValueType::String, value)? {
        Value::String(s) if !s.is_empty() => Ok(Some(s)),
        _ => Ok(None),
    }
}

fn opt_number(value: Value) -> Result<Option<f64>, String> {
    Ok(coerce(ValueType::Number, value)?.as_f64())
}

fn opt_datetime(value: Value) -> Result<Option<String>, String> {
    match coerce(ValueType::Datetime, value)? {
        Value::String(s) if !s.is_empty() => Ok(Some(s)),
        _ => Ok(None),
    }
}

fn string_list(value: Value) -> Result<Vec<String>, String> {
    match coerce(ValueType::List, value)? {
        Value::Array(items) => Ok(items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Some(s),
                _ => None,
            })
            .collect()),
        _ => Ok(Vec::new()),
    }
}

/// Organization ids: strings, trimmed, without duplicates.
fn id_list(value: Value) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for id in string_list(value)? {
        let id = id.trim().to_owned();
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// E-mail addresses: trimmed, checked for a plausible shape, duplicates (ignoring case) dropped.
fn emails(value: Value) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for e in string_list(value)? {
        let e = e.trim().to_owned();
        let plausible = e
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'))
            && !e.contains(char::is_whitespace);
        if !plausible {
            return Err(format!("\"{e}\" is not an e-mail address"));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&e)) {
            out.push(e);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
