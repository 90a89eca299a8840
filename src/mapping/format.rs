//! Value formatting between local values and HubSpot property values (SPEC §4, §7).
//!
//! Out: a local JSON value becomes the string HubSpot expects for the property's type.
//! In: HubSpot's string becomes a local JSON value of the field's type.

use chrono::{DateTime, Datelike as _, NaiveDate, NaiveTime, SecondsFormat, Utc};
use serde_json::Value;

use super::property::CachedProperty;
use super::types::ValueType;

/// Why a local value cannot be sent: the record fails with this reason, the rest go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

fn fail<T>(msg: impl Into<String>) -> Result<T, FormatError> {
    Err(FormatError(msg.into()))
}

/// Whether a local value counts as empty (empty values are never sent and never pulled).
#[must_use]
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.iter().all(is_empty),
        _ => false,
    }
}

/// Format a local value of type `ty` for `prop`. `Ok(None)` when the value is empty.
pub fn to_hubspot(
    value: &Value,
    ty: ValueType,
    prop: &CachedProperty,
) -> Result<Option<String>, FormatError> {
    if is_empty(value) {
        return Ok(None);
    }
    let out = match prop.type_.as_str() {
        "number" => number(value)?,
        "bool" => boolean(value)?,
        "date" => date(value)?,
        "datetime" => datetime(value)?,
        "enumeration" => enumeration(value, ty, prop)?,
        _ => match value {
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .filter(|v| !is_empty(v))
                .map(scalar_text)
                .collect::<Vec<_>>()
                .join(", "),
            other => scalar_text(other),
        },
    };
    Ok(Some(out))
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn number(v: &Value) -> Result<String, FormatError> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n.is_finite() => {
            if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
                // Whole numbers without a trailing `.0`, as HubSpot returns them.
                #[allow(clippy::cast_possible_truncation)]
                Ok(format!("{}", n as i64))
            } else {
                Ok(format!("{n}"))
            }
        }
        _ => fail(format!("`{}` is not a number", scalar_text(v))),
    }
}

fn boolean(v: &Value) -> Result<String, FormatError> {
    match v {
        Value::Bool(b) => Ok(b.to_string()),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok("true".into()),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok("false".into()),
        other => fail(format!("`{}` is not true or false", scalar_text(other))),
    }
}

/// Parse a local date or datetime into a UTC instant.
fn instant(v: &Value) -> Result<DateTime<Utc>, FormatError> {
    let Value::String(s) = v else {
        return fail(format!("`{}` is not a date", scalar_text(v)));
    };
    let s = s.trim();
    let parsed = if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        dt.with_timezone(&Utc)
    } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_time(NaiveTime::MIN).and_utc()
    } else {
        return fail(format!(
            "`{s}` is not an RFC 3339 date-time or a YYYY-MM-DD date"
        ));
    };
    in_calendar(parsed).ok_or_else(|| {
        FormatError(format!(
            "`{s}` is outside the years 0000 to 9999 that dates can be written in"
        ))
    })
}

/// The instant if its UTC year has four digits (RFC 3339 and HubSpot write no others).
fn in_calendar(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (0..=9999).contains(&t.year()).then_some(t)
}

fn date(v: &Value) -> Result<String, FormatError> {
    // A datetime sent to a HubSpot date is its UTC day; HubSpot wants midnight UTC.
    Ok(instant(v)?.date_naive().format("%Y-%m-%d").to_string())
}

fn datetime(v: &Value) -> Result<String, FormatError> {
    Ok(instant(v)?.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn enumeration(v: &Value, ty: ValueType, prop: &CachedProperty) -> Result<String, FormatError> {
    let values: Vec<String> = match (ty, v) {
        (ValueType::Bool, _) => vec![boolean(v)?],
        (_, Value::Array(items)) => items
            .iter()
            .filter(|v| !is_empty(v))
            .map(scalar_text)
            .collect(),
        _ => vec![scalar_text(v)],
    };
    let mut out = Vec::with_capacity(values.len());
    for value in values {
        // Enumerations are matched on the internal value; accept a case-insensitive match
        // on the value or the label and send the internal value.
        let found = prop.options.iter().find(|o| o.value == value).or_else(|| {
            prop.options.iter().find(|o| {
                o.value.eq_ignore_ascii_case(&value) || o.label.eq_ignore_ascii_case(&value)
            })
        });
        match found {
            Some(o) => out.push(o.value.clone()),
            None => {
                let options: Vec<&str> = prop.options.iter().map(|o| o.value.as_str()).collect();
                return fail(format!(
                    "`{value}` is not an option of HubSpot property `{}` (options: {})",
                    prop.name,
                    options.join(", ")
                ));
            }
        }
    }
    Ok(out.join(";"))
}

/// Convert a HubSpot value into a local value of type `ty`. `Ok(None)` when empty (never erases).
pub fn from_hubspot(
    raw: Option<&str>,
    ty: ValueType,
    prop: &CachedProperty,
) -> Result<Option<Value>, FormatError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let v = match ty {
        ValueType::String => Value::String(raw.to_owned()),
        ValueType::Number => match raw.parse::<f64>() {
            Ok(n) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
            Err(_) => return fail(format!("HubSpot value `{raw}` is not a number")),
        },
        ValueType::Bool => match raw.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return fail(format!("HubSpot value `{raw}` is not true or false")),
        },
        ValueType::Date => Value::String(
            parse_hubspot_instant(raw)?
                .date_naive()
                .format("%Y-%m-%d")
                .to_string(),
        ),
        ValueType::Datetime => {
            Value::String(parse_hubspot_instant(raw)?.to_rfc3339_opts(SecondsFormat::Millis, true))
        }
        ValueType::List => {
            let sep = if prop.type_ == "enumeration" {
                ';'
            } else {
                ','
            };
            Value::Array(
                raw.split(sep)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            )
        }
    };
    Ok(if is_empty(&v) { None } else { Some(v) })
}

/// HubSpot dates come back as ISO strings or epoch milliseconds.
fn parse_hubspot_instant(raw: &str) -> Result<DateTime<Utc>, FormatError> {
    if let Ok(ms) = raw.parse::<i64>() {
        if let Some(dt) = DateTime::from_timestamp_millis(ms).and_then(in_calendar) {
            return Ok(dt);
        }
    }
    instant(&Value::String(raw.to_owned()))
        .map_err(|_| FormatError(format!("HubSpot value `{raw}` is not a date")))
}

#[cfg(test)]
#[path = "format_proptests.rs"]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prop(type_: &str, field_type: &str, options: &[&str]) -> CachedProperty {
        serde_json::from_value(json!({
            "name": "p", "type": type_, "fieldType": field_type,
            "options": options.iter().map(|o| json!({"value": o, "label": o})).collect::<Vec<_>>()
        }))
        .unwrap()
    }

    #[test]
    fn values_are_formatted_per_hubspot_type() {
        use ValueType as T;
        let cases: &[(Value, T, CachedProperty, Option<&str>)] = &[
            (
                json!("Ada"),
                T::String,
                prop("string", "text", &[]),
                Some("Ada"),
            ),
            (json!("  "), T::String, prop("string", "text", &[]), None),
            (json!(null), T::Number, prop("number", "number", &[]), None),
            (
                json!(42.0),
                T::Number,
                prop("number", "number", &[]),
                Some("42"),
            ),
            (
                json!(4.5),
                T::Number,
                prop("number", "number", &[]),
                Some("4.5"),
            ),
            (
                json!(true),
                T::Bool,
                prop("bool", "booleancheckbox", &[]),
                Some("true"),
            ),
            (
                json!(false),
                T::Bool,
                prop("enumeration", "booleancheckbox", &["true", "false"]),
                Some("false"),
            ),
            (
                json!("2024-03-05T23:30:00-02:00"),
                T::Datetime,
                prop("date", "date", &[]),
                Some("2024-03-06"),
            ),
            (
                json!("2024-03-05T10:00:00+02:00"),
                T::Datetime,
                prop("datetime", "date", &[]),
                Some("2024-03-05T08:00:00.000Z"),
            ),
            (
                json!("2024-03-05"),
                T::Date,
                prop("date", "date", &[]),
                Some("2024-03-05"),
            ),
            (
                json!(["a", "b"]),
                T::List,
                prop("string", "textarea", &[]),
                Some("a, b"),
            ),
            (
                json!(["a", "b"]),
                T::List,
                prop("enumeration", "checkbox", &["a", "b", "c"]),
                Some("a;b"),
            ),
            (json!([]), T::List, prop("string", "textarea", &[]), None),
            (
                json!("senior"),
                T::String,
                prop("enumeration", "select", &["Junior", "Senior"]),
                Some("Senior"),
            ),
        ];
        for (v, ty, p, want) in cases {
            assert_eq!(
                to_hubspot(v, *ty, p).unwrap().as_deref(),
                *want,
                "{v} as {ty} → {}",
                p.type_
            );
        }
    }

    #[test]
    fn unformattable_values_fail_with_a_reason() {
        let e = to_hubspot(
            &json!("Wizard"),
            ValueType::String,
            &prop("enumeration", "select", &["Junior"]),
        )
        .unwrap_err();
        assert!(e.0.contains("`Wizard` is not an option"), "{e}");
        assert!(to_hubspot(
            &json!("x"),
            ValueType::Number,
            &prop("number", "number", &[])
        )
        .is_err());
        assert!(to_hubspot(
            &json!("yesterday"),
            ValueType::Datetime,
            &prop("datetime", "date", &[])
        )
        .is_err());
        assert!(to_hubspot(
            &json!(["a", "z"]),
            ValueType::List,
            &prop("enumeration", "checkbox", &["a"])
        )
        .is_err());
    }

    #[test]
    fn hubspot_values_are_parsed_into_local_types() {
        let p = prop("string", "text", &[]);
        assert_eq!(from_hubspot(Some(""), ValueType::String, &p).unwrap(), None);
        assert_eq!(from_hubspot(None, ValueType::String, &p).unwrap(), None);
        assert_eq!(
            from_hubspot(
                Some("17"),
                ValueType::Number,
                &prop("number", "number", &[])
            )
            .unwrap(),
            Some(json!(17.0))
        );
        assert_eq!(
            from_hubspot(
                Some("a; b"),
                ValueType::List,
                &prop("enumeration", "checkbox", &[])
            )
            .unwrap(),
            Some(json!(["a", "b"]))
        );
        assert_eq!(
            from_hubspot(Some("a, b"), ValueType::List, &p).unwrap(),
            Some(json!(["a", "b"]))
        );
        assert_eq!(
            from_hubspot(
                Some("1709596800000"),
                ValueType::Datetime,
                &prop("datetime", "date", &[])
            )
            .unwrap(),
            Some(json!("2024-03-05T00:00:00.000Z"))
        );
    }
}
