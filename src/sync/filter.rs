//! The automation filter language (SPEC §3): `FIELD OP VALUE`, checked when an automation is
//! added and evaluated against local records.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;

use crate::mapping::catalogue::{self, Entity};
use crate::mapping::{EntitySection, ValueType};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    NotContains,
    IsSet,
    IsNotSet,
}

impl Op {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "~",
            Op::NotContains => "!~",
            Op::IsSet => "is set",
            Op::IsNotSet => "is not set",
        }
    }
}

/// The right-hand side, parsed for the field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    None,
    Text(String),
    Number(f64),
    Bool(bool),
    /// An absolute instant.
    Instant(DateTime<Utc>),
    /// Relative to the time of evaluation (`-30d` is 30 days ago).
    Relative(Duration),
}

/// One checked filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub field: String,
    pub ty: ValueType,
    pub op: Op,
    pub operand: Operand,
    /// The text as the user wrote it (stored with the automation).
    pub source: String,
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// A filter the user wrote that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter `{filter}`: {reason}")]
pub struct FilterError {
    pub filter: String,
    pub reason: String,
}

/// The type of a field a filter may name: every field of SPEC §4, read-only ones included.
fn field_type(entity: Entity, section: &EntitySection, field: &str) -> Option<ValueType> {
    match (entity, field) {
        (_, "id") | (Entity::Organization, "name" | "website") => Some(ValueType::String),
        (Entity::Contact, "emails" | "organizations") => Some(ValueType::List),
        _ => match catalogue::lookup(entity, section, field) {
            Ok(f) => Some(f.ty),
            // Undeclared attributes are kept with their JSON type: compare them as text.
            Err(catalogue::Unmappable::UndeclaredAttribute) => Some(ValueType::String),
            Err(_) => None,
        },
    }
}

/// Parse and check `FIELD OP VALUE` for `entity`.
pub fn parse(entity: Entity, section: &EntitySection, text: &str) -> Result<Filter, FilterError> {
    let err = |reason: String| FilterError {
        filter: text.to_owned(),
        reason,
    };
    let trimmed = text.trim();
    let (field, op, value) = split(trimmed).ok_or_else(|| {
        err("expected FIELD OP VALUE with OP one of = != < <= > >= ~ !~, or FIELD is set / FIELD is not set".into())
    })?;
    if field.is_empty() {
        return Err(err("the field name is missing".into()));
    }
    let ty = field_type(entity, section, field).ok_or_else(|| {
        err(format!(
            "unknown {} field `{field}`; `hubsync map show` lists the fields",
            entity.section().trim_end_matches('s')
        ))
    })?;
    let value = unquote(value);
    if !matches!(op, Op::IsSet | Op::IsNotSet) && value.is_empty() {
        return Err(err("the value is missing".into()));
    }
    let operand = match op {
        Op::IsSet | Op::IsNotSet => Operand::None,
        Op::Contains | Op::NotContains => match ty {
            ValueType::String | ValueType::List => Operand::Text(value.to_lowercase()),
            _ => {
                return Err(err(format!(
                    "`{}` works on text and lists, but `{field}` is a {ty}",
                    op.as_str()
                )))
            }
        },
        Op::Eq | Op::Ne => match ty {
            ValueType::String => Operand::Text(value.to_lowercase()),
            ValueType::Number => Operand::Number(number(value).map_err(err)?),
            ValueType::Bool => match value.to_ascii_lowercase().as_str() {
                "true" => Operand::Bool(true),
                "false" => Operand::Bool(false),
                _ => {
                    return Err(err(format!(
                        "`{field}` is a bool: compare it with true or false"
                    )))
                }
            },
            ValueType::Date | ValueType::Datetime => date(value).map_err(err)?,
            ValueType::List => {
                return Err(err(format!(
                    "`{field}` is a list: use `~` (has an element containing) or `!~`"
                )))
            }
        },
        Op::Lt | Op::Le | Op::Gt | Op::Ge => match ty {
            ValueType::Number => Operand::Number(number(value).map_err(err)?),
            ValueType::Date | ValueType::Datetime => date(value).map_err(err)?,
            _ => {
                return Err(err(format!(
                    "`{}` compares numbers and dates, but `{field}` is a {ty}",
                    op.as_str()
                )))
            }
        },
    };
    Ok(Filter {
        field: field.to_owned(),
        ty,
        op,
        operand,
        source: trimmed.to_owned(),
    })
}

fn split(text: &str) -> Option<(&str, Op, &str)> {
    for (suffix, op) in [(" is not set", Op::IsNotSet), (" is set", Op::IsSet)] {
        // `get` is `None` when the cut falls inside a character: then it is not the suffix.
        let start = text.len().saturating_sub(suffix.len());
        if let (Some(head), Some(tail)) = (text.get(..start), text.get(start..)) {
            if tail.eq_ignore_ascii_case(suffix) {
                return Some((head.trim(), op, ""));
            }
        }
    }
    let idx = text.find(['=', '!', '<', '>', '~'])?;
    let rest = &text[idx..];
    let ops = [
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("!~", Op::NotContains),
        ("=", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
        ("~", Op::Contains),
    ];
    let (sym, op) = ops.into_iter().find(|(s, _)| rest.starts_with(s))?;
    Some((text[..idx].trim(), op, rest[sym.len()..].trim()))
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

fn number(v: &str) -> Result<f64, String> {
    v.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("`{v}` is not a number"))
}

fn date(v: &str) -> Result<Operand, String> {
    let bad = || {
        format!("`{v}` is not a date: use YYYY-MM-DD, an RFC 3339 date-time, or a relative date like -30d, -12h, -2w")
    };
    if let Some(rel) = v.strip_prefix('-').or_else(|| v.strip_prefix('+')) {
        let sign = if v.starts_with('-') { -1 } else { 1 };
        let unit_at = rel.char_indices().last().map_or(0, |(i, _)| i);
        let (num, unit) = rel.split_at(unit_at);
        let n: i64 = num.parse().map_err(|_| bad())?;
        let d = match unit {
            "d" => Duration::try_days(n),
            "h" => Duration::try_hours(n),
            "w" => Duration::try_weeks(n),
            "m" => Duration::try_minutes(n),
            _ => None,
        }
        .ok_or_else(bad)?;
        return Ok(Operand::Relative(d * sign));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(v) {
        return Ok(Operand::Instant(dt.with_timezone(&Utc)));
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(Operand::Instant(
            d.and_time(chrono::NaiveTime::MIN).and_utc(),
        ));
    }
    Err(bad())
}

fn value_is_set(v: Option<&Value>) -> bool {
    v.is_some_and(|v| !crate::mapping::format::is_empty(v))
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string().to_lowercase(),
    }
}

impl Filter {
    /// Whether a record's value for this filter's field matches, at time `now`.
    #[must_use]
    pub fn matches(&self, value: Option<&Value>, now: DateTime<Utc>) -> bool {
        let set = value_is_set(value);
        match self.op {
            Op::IsSet => return set,
            Op::IsNotSet => return !set,
            _ => {}
        }
        let Some(value) = value.filter(|_| set) else {
            // A missing value only satisfies the negative operators.
            return matches!(self.op, Op::Ne | Op::NotContains);
        };
        match (&self.operand, self.op) {
            (Operand::Text(needle), Op::Contains | Op::NotContains) => {
                let has = match value {
                    Value::Array(items) => items.iter().any(|i| text_of(i).contains(needle)),
                    other => text_of(other).contains(needle),
                };
                has == (self.op == Op::Contains)
            }
            (Operand::Text(t), Op::Eq) => text_of(value) == *t,
            (Operand::Text(t), Op::Ne) => text_of(value) != *t,
            (Operand::Bool(b), op) => {
                let v = match value {
                    Value::Bool(v) => Some(*v),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                };
                v.is_some_and(|v| (v == *b) == (op == Op::Eq))
            }
            (Operand::Number(n), op) => {
                let v = match value {
                    Value::Number(v) => v.as_f64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                };
                v.is_some_and(|v| compare(v.partial_cmp(n), op))
            }
            (Operand::Instant(_) | Operand::Relative(_), op) => {
                let at = match &self.operand {
                    Operand::Instant(t) => *t,
                    // An offset past the representable dates means the earliest or latest one.
                    Operand::Relative(d) => {
                        now.checked_add_signed(*d)
                            .unwrap_or(if *d < Duration::zero() {
                                DateTime::<Utc>::MIN_UTC
                            } else {
                                DateTime::<Utc>::MAX_UTC
                            })
                    }
                    _ => return false,
                };
                let Some(v) = value.as_str().and_then(|s| date(s).ok()) else {
                    return false;
                };
                let Operand::Instant(v) = v else { return false };
                if self.ty == ValueType::Date
                    || matches!(self.operand, Operand::Instant(_)) && is_midnight(at)
                {
                    // Compare whole days when the user gave a day.
                    compare(Some(v.date_naive().cmp(&at.date_naive())), op)
                } else {
                    compare(Some(v.cmp(&at)), op)
                }
            }
            _ => false,
        }
    }
}

fn is_midnight(t: DateTime<Utc>) -> bool {
    t.time() == chrono::NaiveTime::MIN
}

fn compare(ord: Option<std::cmp::Ordering>, op: Op) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match (ord, op) {
        (None, _) => false,
        (Some(o), Op::Eq) => o == Equal,
        (Some(o), Op::Ne) => o != Equal,
        (Some(o), Op::Lt) => o == Less,
        (Some(o), Op::Le) => o != Greater,
        (Some(o), Op::Gt) => o == Greater,
        (Some(o), Op::Ge) => o != Less,
        _ => false,
    }
}

/// All (`all = true`) or any of the filters match the record whose fields `get` returns.
pub fn matches_all_or_any<'a>(
    filters: &[Filter],
    all: bool,
    now: DateTime<Utc>,
    get: impl Fn(&str) -> Option<&'a Value>,
) -> bool {
    if all {
        filters.iter().all(|f| f.matches(get(&f.field), now))
    } else {
        filters.iter().any(|f| f.matches(get(&f.field), now))
    }
}

#[cfg(test)]
#[path = "filter_proptests.rs"]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn section() -> EntitySection {
        let mut s = EntitySection::default();
        s.attributes
            .insert("seniorityLevel".into(), ValueType::String);
        s.attributes.insert("isHiring".into(), ValueType::Bool);
        s
    }

    fn c(text: &str) -> Result<Filter, FilterError> {
        parse(Entity::Contact, &section(), text)
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_spec_examples_parse() {
        for (text, field, op) in [
            ("score>=5", "score", Op::Ge),
            (
                "attributes.seniorityLevel=Senior",
                "attributes.seniorityLevel",
                Op::Eq,
            ),
            ("tags~champion", "tags", Op::Contains),
            ("lastActive>=-30d", "lastActive", Op::Ge),
            ("emails is set", "emails", Op::IsSet),
            ("displayName is not set", "displayName", Op::IsNotSet),
            (
                "attributes.isHiring != false",
                "attributes.isHiring",
                Op::Ne,
            ),
        ] {
            let f = c(text).unwrap();
            assert_eq!((f.field.as_str(), f.op), (field, op), "{text}");
        }
    }

    #[test]
    fn bad_filters_are_refused_with_the_reason() {
        let cases = [
            ("nickname=x", "unknown contact field `nickname`"),
            ("score>=lots", "`lots` is not a number"),
            ("displayName>3", "compares numbers and dates"),
            ("score~5", "works on text and lists"),
            ("lastActive>=yesterday", "is not a date"),
            ("attributes.isHiring=maybe", "compare it with true or false"),
            ("tags=champion", "is a list: use `~`"),
            ("score", "expected FIELD OP VALUE"),
            ("score>=", "the value is missing"),
        ];
        for (text, want) in cases {
            let e = c(text).unwrap_err();
            assert!(e.to_string().contains(want), "{text}: {e}");
        }
        let e = parse(Entity::Organization, &EntitySection::default(), "score>1").unwrap_err();
        assert!(e.reason.contains("unknown organization field"), "{e}");
    }

    #[test]
    fn filters_evaluate_as_the_spec_says() {
        let cases = [
            ("attributes.seniorityLevel=senior", json!("Senior"), true),
            ("attributes.seniorityLevel!=Senior", json!("senior"), false),
            ("tags~CHAMP", json!(["core", "champion"]), true),
            ("tags!~champ", json!(["core"]), true),
            ("score>=5", json!(5), true),
            ("score>5", json!(5), false),
            ("score<5", json!(4.5), true),
            ("lastActive>=-30d", json!("2026-05-20T00:00:00Z"), true),
            ("lastActive>=-30d", json!("2026-04-20T00:00:00Z"), false),
            ("joinedAt<2026-01-01", json!("2025-12-31T23:59:59Z"), true),
            ("joinedAt=2025-12-31", json!("2025-12-31T23:59:59Z"), true),
            ("attributes.isHiring=true", json!(true), true),
            ("emails is set", json!(["a@example.com"]), true),
            ("emails is set", json!([]), false),
        ];
        for (text, value, want) in cases {
            assert_eq!(
                c(text).unwrap().matches(Some(&value), now()),
                want,
                "{text} on {value}"
            );
        }
        assert!(c("displayName is not set").unwrap().matches(None, now()));
        assert!(!c("score>=5").unwrap().matches(None, now()));
        assert!(c("displayName!=ada").unwrap().matches(None, now()));
    }
}
