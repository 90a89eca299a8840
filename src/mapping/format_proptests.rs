//! Property tests of value formatting: no input panics, every refusal says why, what is sent is
//! what HubSpot accepts for the property's type, and a value sent and pulled back is the same
//! value (as far as HubSpot keeps it).

use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

/// A property of HubSpot `type`/`fieldType` with these options (value and label the same, or
/// the label in capitals).
fn prop(type_: &str, field_type: &str, options: &[String]) -> CachedProperty {
    serde_json::from_value(json!({
        "name": "p", "type": type_, "fieldType": field_type,
        "options": options.iter().map(|o| json!({"value": o, "label": o.to_uppercase()})).collect::<Vec<_>>()
    }))
    .unwrap()
}

const TYPES: &[(&str, &str)] = &[
    ("string", "text"),
    ("string", "textarea"),
    ("number", "number"),
    ("bool", "booleancheckbox"),
    ("date", "date"),
    ("datetime", "date"),
    ("enumeration", "select"),
    ("enumeration", "checkbox"),
    ("enumeration", "booleancheckbox"),
    ("phone_number", "phonenumber"),
    ("", ""),
];

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|n| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::String),
        "[+-]?[0-9]{1,6}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([+-][0-9]{2}:[0-9]{2}|Z))?"
            .prop_map(Value::String),
        "[+-]?[0-9]{1,25}(\\.[0-9]*)?(e[+-]?[0-9]{1,4})?".prop_map(Value::String),
    ];
    crate::proptest_support::nested(leaf.boxed(), 2, 12, "[a-z]{1,3}".boxed())
}

fn any_raw() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[+-]?[0-9]{1,22}",
        "[+-]?[0-9]{1,6}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([+-][0-9]{2}:[0-9]{2}|Z))?",
        "(inf|NaN|-inf|1e999|-0|0x10|true|FALSE|;|,| ; ,)",
    ]
}

fn options() -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set("[a-z][a-z0-9_ -]{0,8}[a-z0-9]", 1..6)
        .prop_map(|s| s.into_iter().collect())
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // Years 0001 to 9999, with nanoseconds.
    (-62_135_596_800i64..253_402_300_799, 0u32..1_000_000_000)
        .prop_map(|(s, ns)| DateTime::from_timestamp(s, ns).unwrap_or(DateTime::UNIX_EPOCH))
}

/// A local datetime as a user may write it: any offset, any precision.
fn written_datetime() -> impl Strategy<Value = (DateTime<Utc>, String)> {
    (instant(), -1439i32..1440, 0usize..4).prop_map(|(t, offset_min, precision)| {
        let offset = chrono::FixedOffset::east_opt(offset_min * 60)
            .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).unwrap());
        let local = t.with_timezone(&offset);
        let secs = [
            SecondsFormat::Secs,
            SecondsFormat::Millis,
            SecondsFormat::Micros,
            SecondsFormat::Nanos,
        ][precision];
        let t = DateTime::parse_from_rfc3339(&local.to_rfc3339_opts(secs, false))
            .unwrap()
            .with_timezone(&Utc);
        (t, local.to_rfc3339_opts(secs, false))
    })
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn string_of(v: &Option<Value>) -> &str {
    v.as_ref().and_then(Value::as_str).unwrap_or("")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_local_value_is_sent_or_refused_with_a_reason(
        value in any_json(),
        ty in prop::sample::select(&ValueType::ALL[..]),
        (type_, field_type) in prop::sample::select(TYPES),
        options in prop::collection::vec(any::<String>(), 0..4),
    ) {
        let p = prop(type_, field_type, &options);
        match to_hubspot(&value, ty, &p) {
            Ok(None) => prop_assert!(is_empty(&value)),
            Ok(Some(text)) => {
                // What HubSpot gets is well-formed for the property's type.
                match type_ {
                    "number" => prop_assert!(text.parse::<f64>().is_ok_and(f64::is_finite), "{}", text),
                    "bool" => prop_assert!(text == "true" || text == "false", "{}", text),
                    "date" => prop_assert!(NaiveDate::parse_from_str(&text, "%Y-%m-%d").is_ok(), "{}", text),
                    "datetime" => prop_assert!(DateTime::parse_from_rfc3339(&text).is_ok(), "{}", text),
                    "enumeration" => {
                        for v in text.split(';') {
                            prop_assert!(p.has_option(v), "{} is not an option", v);
                        }
                    }
                    _ => {}
                }
            }
            Err(e) => prop_assert!(!e.0.trim().is_empty()),
        }
    }

    #[test]
    fn any_hubspot_value_is_read_or_refused_with_a_reason(
        raw in any_raw(),
        ty in prop::sample::select(&ValueType::ALL[..]),
        (type_, field_type) in prop::sample::select(TYPES),
    ) {
        let p = prop(type_, field_type, &[]);
        match from_hubspot(Some(&raw), ty, &p) {
            Ok(Some(v)) => {
                prop_assert!(!is_empty(&v));
                // What is pulled has the local field's type.
                let ok = match ty {
                    ValueType::String => v.is_string(),
                    ValueType::Number => v.as_f64().is_some_and(f64::is_finite),
                    ValueType::Bool => v.is_boolean(),
                    ValueType::Date => v.as_str().is_some_and(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()),
                    ValueType::Datetime => v.as_str().is_some_and(|s| DateTime::parse_from_rfc3339(s).is_ok()),
                    ValueType::List => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
                };
                prop_assert!(ok, "{} as {}", v, ty);
            }
            Ok(None) => {}
            Err(e) => {
                prop_assert!(e.0.contains("HubSpot value"), "{}", e);
            }
        }
    }

    #[test]
    fn text_round_trips_without_its_surrounding_blanks(s in any::<String>()) {
        let p = prop("string", "text", &[]);
        let sent = to_hubspot(&Value::String(s.clone()), ValueType::String, &p).unwrap();
        let back = from_hubspot(sent.as_deref(), ValueType::String, &p).unwrap();
        if s.trim().is_empty() {
            prop_assert_eq!(back, None);
        } else {
            prop_assert_eq!(back, Some(Value::String(s.trim().to_owned())));
        }
    }

    #[test]
    fn numbers_round_trip_exactly(n in any::<f64>().prop_filter("finite", |n| n.is_finite()), whole in any::<i64>()) {
        let p = prop("number", "number", &[]);
        for v in [json!(n), json!(whole)] {
            let sent = to_hubspot(&v, ValueType::Number, &p).unwrap();
            let back = from_hubspot(sent.as_deref(), ValueType::Number, &p).unwrap();
            let back = back.as_ref().and_then(Value::as_f64);
            prop_assert_eq!(back, v.as_f64(), "{} sent as {:?}", v, sent);
        }
    }

    #[test]
    fn booleans_round_trip(b in any::<bool>(), as_enum in any::<bool>()) {
        let p = if as_enum {
            prop("enumeration", "booleancheckbox", &["true".into(), "false".into()])
        } else {
            prop("bool", "booleancheckbox", &[])
        };
        let sent = to_hubspot(&json!(b), ValueType::Bool, &p).unwrap();
        prop_assert_eq!(from_hubspot(sent.as_deref(), ValueType::Bool, &p).unwrap(), Some(json!(b)));
    }

    #[test]
    fn dates_round_trip(t in instant()) {
        let p = prop("date", "date", &[]);
        let day = t.format("%Y-%m-%d").to_string();
        let sent = to_hubspot(&json!(day), ValueType::Date, &p).unwrap();
        prop_assert_eq!(sent.as_deref(), Some(day.as_str()));
        let back = from_hubspot(sent.as_deref(), ValueType::Date, &p).unwrap();
        prop_assert_eq!(back, Some(json!(day)));
        // HubSpot may answer with midnight UTC in epoch milliseconds.
        let midnight = ms(t.date_naive().and_time(chrono::NaiveTime::MIN).and_utc()).to_string();
        prop_assert_eq!(from_hubspot(Some(&midnight), ValueType::Date, &p).unwrap(), Some(json!(day)));
    }

    #[test]
    fn datetimes_round_trip_to_the_millisecond((t, written) in written_datetime()) {
        let p = prop("datetime", "date", &[]);
        let sent = to_hubspot(&json!(written), ValueType::Datetime, &p).unwrap();
        let back = from_hubspot(sent.as_deref(), ValueType::Datetime, &p).unwrap();
        let back = DateTime::parse_from_rfc3339(string_of(&back)).unwrap().with_timezone(&Utc);
        prop_assert_eq!(ms(back), ms(t), "{} sent as {:?}", written, sent);
        // And from epoch milliseconds, as HubSpot also answers.
        let back = from_hubspot(Some(&ms(t).to_string()), ValueType::Datetime, &p).unwrap();
        let back = DateTime::parse_from_rfc3339(string_of(&back)).unwrap().with_timezone(&Utc);
        prop_assert_eq!(ms(back), ms(t));
    }

    #[test]
    fn datetimes_sent_to_a_date_property_come_back_as_their_utc_day((t, written) in written_datetime()) {
        let p = prop("date", "date", &[]);
        let sent = to_hubspot(&json!(written), ValueType::Datetime, &p).unwrap();
        let back = from_hubspot(sent.as_deref(), ValueType::Datetime, &p).unwrap();
        let back = DateTime::parse_from_rfc3339(string_of(&back)).unwrap().with_timezone(&Utc);
        prop_assert_eq!(back, t.date_naive().and_time(chrono::NaiveTime::MIN).and_utc());
    }

    #[test]
    fn enumerations_round_trip_to_the_option_named(
        options in options(),
        pick in any::<prop::sample::Index>(),
        by_label in any::<bool>(),
    ) {
        let p = prop("enumeration", "select", &options);
        let option = &options[pick.index(options.len())];
        let written = if by_label { option.to_uppercase() } else { option.clone() };
        let sent = to_hubspot(&json!(written), ValueType::String, &p).unwrap();
        prop_assert_eq!(sent.as_deref(), Some(option.as_str()));
        prop_assert_eq!(from_hubspot(sent.as_deref(), ValueType::String, &p).unwrap(), Some(json!(option)));
    }

    #[test]
    fn multi_select_round_trips_to_the_options_named(
        options in options(),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..5),
    ) {
        let p = prop("enumeration", "checkbox", &options);
        let chosen: Vec<&String> = picks.iter().map(|i| &options[i.index(options.len())]).collect();
        let sent = to_hubspot(&json!(chosen), ValueType::List, &p).unwrap();
        prop_assert_eq!(from_hubspot(sent.as_deref(), ValueType::List, &p).unwrap(), Some(json!(chosen)));
    }

    #[test]
    fn lists_round_trip_through_text_properties(
        items in prop::collection::vec("[^,\\s]([^,]{0,8}[^,\\s])?", 1..5),
    ) {
        let p = prop("string", "textarea", &[]);
        let sent = to_hubspot(&json!(items), ValueType::List, &p).unwrap();
        prop_assert_eq!(from_hubspot(sent.as_deref(), ValueType::List, &p).unwrap(), Some(json!(items)));
    }
}

#[test]
fn dates_outside_four_digit_years_are_refused_with_a_reason() {
    let p = prop("datetime", "date", &[]);
    let e = to_hubspot(&json!("9999-12-31T23:00:00-02:00"), ValueType::Datetime, &p).unwrap_err();
    assert!(e.0.contains("outside the years 0000 to 9999"), "{e}");
    let e = from_hubspot(Some("260000000000000"), ValueType::Datetime, &p).unwrap_err();
    assert!(
        e.0.contains("HubSpot value `260000000000000` is not a date"),
        "{e}"
    );
}
