//! Property tests of the filter language: any text parses or is refused with a reason, a
//! well-formed filter parses to what was written and back, and evaluation never panics.

use crate::proptest_support::{json_scalar, nested};
use chrono::{DateTime, Duration, TimeZone as _, Utc};
use proptest::prelude::*;
use serde_json::Value;

use super::*;

fn section() -> EntitySection {
    let mut s = EntitySection::default();
    for (name, ty) in [
        ("seniorityLevel", ValueType::String),
        ("isHiring", ValueType::Bool),
        ("birthday", ValueType::Date),
        ("level", ValueType::Number),
        ("skills", ValueType::List),
        ("since", ValueType::Datetime),
    ] {
        s.attributes.insert(name.into(), ty);
    }
    s
}

/// Contact fields a filter may name, one or more of each type.
const FIELDS: &[(&str, ValueType)] = &[
    ("id", ValueType::String),
    ("displayName", ValueType::String),
    ("identities.github", ValueType::String),
    ("attributes.seniorityLevel", ValueType::String),
    ("attributes.jobTitle", ValueType::String),
    ("attributes.undeclared", ValueType::String),
    ("score", ValueType::Number),
    ("attributes.level", ValueType::Number),
    ("attributes.isHiring", ValueType::Bool),
    ("attributes.birthday", ValueType::Date),
    ("joinedAt", ValueType::Datetime),
    ("attributes.since", ValueType::Datetime),
    ("tags", ValueType::List),
    ("emails", ValueType::List),
    ("attributes.skills", ValueType::List),
];

const ALL_OPS: [Op; 10] = [
    Op::Eq,
    Op::Ne,
    Op::Lt,
    Op::Le,
    Op::Gt,
    Op::Ge,
    Op::Contains,
    Op::NotContains,
    Op::IsSet,
    Op::IsNotSet,
];

fn ops_for(ty: ValueType) -> Vec<Op> {
    let mut ops = vec![Op::IsSet, Op::IsNotSet];
    match ty {
        ValueType::String => ops.extend([Op::Eq, Op::Ne, Op::Contains, Op::NotContains]),
        ValueType::List => ops.extend([Op::Contains, Op::NotContains]),
        ValueType::Bool => ops.extend([Op::Eq, Op::Ne]),
        ValueType::Number | ValueType::Date | ValueType::Datetime => {
            ops.extend([Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge]);
        }
    }
    ops
}

/// Text a user may compare with: no surrounding blanks, not ending like `is set`.
fn text_value() -> impl Strategy<Value = String> {
    "[^\\s\"']|[^\\s\"'][^\n]{0,20}[^\\s\"']".prop_filter("ends like an `is set` operator", |s| {
        let l = s.to_lowercase();
        !l.ends_with(" is set") && !l.ends_with(" is not set")
    })
}

fn instant_in_range() -> impl Strategy<Value = DateTime<Utc>> {
    // Years 0001 to 9999, whole seconds.
    (-62_135_596_800i64..253_402_300_799)
        .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or(DateTime::UNIX_EPOCH))
}

/// (text as written, the operand it means)
fn value_for(ty: ValueType, op: Op) -> BoxedStrategy<(String, Operand)> {
    if matches!(op, Op::IsSet | Op::IsNotSet) {
        return Just((String::new(), Operand::None)).boxed();
    }
    match ty {
        ValueType::String | ValueType::List => (text_value(), any::<u8>())
            .prop_map(|(t, q)| {
                let operand = Operand::Text(t.to_lowercase());
                let written = match q % 3 {
                    0 => format!("\"{t}\""),
                    1 => format!("'{t}'"),
                    _ => t,
                };
                (written, operand)
            })
            .boxed(),
        ValueType::Number => prop_oneof![
            any::<i64>().prop_map(|n| (n.to_string(), Operand::Number(n as f64))),
            any::<f64>()
                .prop_filter("finite", |n| n.is_finite())
                .prop_map(|n| (format!("{n}"), Operand::Number(n))),
            any::<f64>()
                .prop_filter("finite", |n| n.is_finite())
                .prop_map(|n| (format!("{n:e}"), Operand::Number(n))),
        ]
        .boxed(),
        ValueType::Bool => (any::<bool>(), any::<bool>())
            .prop_map(|(b, upper)| {
                let t = if upper {
                    b.to_string().to_uppercase()
                } else {
                    b.to_string()
                };
                (t, Operand::Bool(b))
            })
            .boxed(),
        ValueType::Date | ValueType::Datetime => prop_oneof![
            instant_in_range().prop_map(|t| {
                let day = t.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
                (t.format("%Y-%m-%d").to_string(), Operand::Instant(day))
            }),
            instant_in_range().prop_map(|t| (t.to_rfc3339(), Operand::Instant(t))),
            (any::<bool>(), 0i64..100_000, 0usize..4).prop_map(|(neg, n, unit)| {
                let (u, d) = [
                    ("d", Duration::days(n)),
                    ("h", Duration::hours(n)),
                    ("w", Duration::weeks(n)),
                    ("m", Duration::minutes(n)),
                ][unit];
                let sign = if neg { "-" } else { "+" };
                let d = if neg { -d } else { d };
                (format!("{sign}{n}{u}"), Operand::Relative(d))
            }),
        ]
        .boxed(),
    }
}

prop_compose! {
    /// A well-formed filter: (text, field, type, op, operand).
    fn well_formed()(
        (field, ty) in prop::sample::select(FIELDS),
        pick in any::<prop::sample::Index>(),
        pads in prop::collection::vec(prop::sample::select(&["", " ", "  ", "\t"][..]), 4),
    )(
        field in Just(field),
        ty in Just(ty),
        op in Just(ops_for(ty)[pick.index(ops_for(ty).len())]),
        value in value_for(ty, ops_for(ty)[pick.index(ops_for(ty).len())]),
        pads in Just(pads),
    ) -> (String, &'static str, ValueType, Op, Operand) {
        let (written, operand) = value;
        let text = if matches!(op, Op::IsSet | Op::IsNotSet) {
            format!("{}{field} {}{}", pads[0], op.as_str(), pads[3])
        } else {
            format!("{}{field}{}{}{}{written}{}", pads[0], pads[1], op.as_str(), pads[2], pads[3])
        };
        (text, field, ty, op, operand)
    }
}

/// Any JSON value a record may hold, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        json_scalar(),
        instant_in_range().prop_map(|t| Value::String(t.to_rfc3339())),
        "[+-]?[0-9]{0,20}[dhwm\u{e9}]?".prop_map(Value::String),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(Value::String),
    ];
    nested(leaf.boxed(), 3, 16, "[a-z]{1,3}".boxed())
}

/// An evaluation time anywhere chrono can represent, the extremes included.
fn any_now() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
        Just(Utc::now()),
        instant_in_range(),
        (DateTime::<Utc>::MIN_UTC.timestamp()..DateTime::<Utc>::MAX_UTC.timestamp()).prop_map(
            |s| Utc
                .timestamp_opt(s, 0)
                .single()
                .unwrap_or(DateTime::UNIX_EPOCH)
        ),
    ]
}

/// Text that gets past the field lookup: a known field, an operator, then anything.
fn near_miss() -> impl Strategy<Value = String> {
    (
        prop::sample::select(FIELDS),
        prop::sample::select(
            &[
                "=",
                "!=",
                "<",
                "<=",
                ">",
                ">=",
                "~",
                "!~",
                " is set",
                " is not set",
                " IS SET",
                "",
            ][..],
        ),
        prop_oneof![
            any::<String>(),
            "[+-][0-9]{0,25}[dhwmy\u{e9}\u{1F600}]?",
            "[ \"']{0,3}[^\n]{0,10}[ \"']{0,3}",
        ],
    )
        .prop_map(|((field, _), op, rest)| format!("{field}{op}{rest}"))
}

fn check_error(text: &str, e: &FilterError) {
    assert_eq!(e.filter, text);
    assert!(!e.reason.trim().is_empty(), "empty reason for {text:?}");
    assert!(e.to_string().starts_with("filter `"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn any_text_parses_or_is_refused_with_a_reason(text in any::<String>()) {
        for entity in [Entity::Contact, Entity::Organization] {
            if let Err(e) = parse(entity, &section(), &text) {
                check_error(&text, &e);
            }
        }
    }

    #[test]
    fn text_after_a_known_field_parses_or_is_refused_with_a_reason(text in near_miss()) {
        if let Err(e) = parse(Entity::Contact, &section(), &text) {
            check_error(&text, &e);
        }
    }

    #[test]
    fn well_formed_filters_parse_to_what_was_written((text, field, ty, op, operand) in well_formed()) {
        let f = parse(Entity::Contact, &section(), &text)
            .map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(&f.field, field);
        prop_assert_eq!(f.ty, ty);
        prop_assert_eq!(f.op, op);
        prop_assert_eq!(&f.operand, &operand);
        // What is shown (and stored with an automation) parses back to the same filter.
        let again = parse(Entity::Contact, &section(), &f.to_string())
            .map_err(|e| TestCaseError::fail(format!("{}: {e}", f)))?;
        prop_assert_eq!(again, f);
    }

    #[test]
    fn evaluation_never_panics_and_set_is_the_opposite_of_not_set(
        (text, ..) in well_formed(),
        value in json_value(),
        present in any::<bool>(),
        now in any_now(),
    ) {
        let f = parse(Entity::Contact, &section(), &text)
            .map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        let value = present.then_some(&value);
        let _ = f.matches(value, now);
        let is_set = Filter { op: Op::IsSet, operand: Operand::None, ..f.clone() };
        let not_set = Filter { op: Op::IsNotSet, operand: Operand::None, ..f };
        prop_assert_ne!(is_set.matches(value, now), not_set.matches(value, now));
    }

    #[test]
    fn filters_of_any_operand_evaluate_without_panicking(
        text in near_miss(),
        value in json_value(),
        now in any_now(),
    ) {
        if let Ok(f) = parse(Entity::Contact, &section(), &text) {
            let _ = f.matches(Some(&value), now);
            let _ = matches_all_or_any(std::slice::from_ref(&f), false, now, |_| Some(&value));
        }
    }

    #[test]
    fn every_operator_on_every_type_is_accepted_or_refused_with_a_reason(
        (field, _) in prop::sample::select(FIELDS),
        op in prop::sample::select(&ALL_OPS[..]),
        value in "[a-z0-9:+-]{1,12}",
    ) {
        let text = if matches!(op, Op::IsSet | Op::IsNotSet) {
            format!("{field} {}", op.as_str())
        } else {
            format!("{field} {} {value}", op.as_str())
        };
        if let Err(e) = parse(Entity::Contact, &section(), &text) {
            check_error(&text, &e);
        }
    }
}

#[test]
fn relative_dates_beyond_the_calendar_mean_its_ends() {
    let now = Utc::now();
    let old = Value::String("0001-01-01T00:00:00Z".into());
    for (text, want) in [
        ("joinedAt > -15250284452w", true),
        ("joinedAt < -15250284452w", false),
        ("joinedAt < +15250284452w", true),
        ("joinedAt >= +106751991167d", false),
        ("joinedAt > -2562047788015h", true),
        ("joinedAt > -153722867280912m", true),
    ] {
        let f = parse(Entity::Contact, &section(), text).unwrap();
        assert_eq!(f.matches(Some(&old), now), want, "{text}");
    }
    for text in [
        "joinedAt > -9223372036854775807m",
        "joinedAt > -5é",
        "joinedAt > -é",
    ] {
        let e = parse(Entity::Contact, &section(), text).unwrap_err();
        assert!(e.reason.contains("is not a date"), "{e}");
    }
}

#[test]
fn multi_byte_text_near_the_operators_is_refused_not_a_panic() {
    for text in [
        "ééééééé",
        "名前は設定されています",
        "joinedAt > -5é",
        "joinedAt>+😀",
    ] {
        let e = parse(Entity::Contact, &section(), text).unwrap_err();
        check_error(text, &e);
    }
    let f = parse(Entity::Contact, &section(), "displayName = Ü is sét").unwrap();
    assert_eq!(
        (f.op, f.operand),
        (Op::Eq, Operand::Text("ü is sét".into()))
    );
}
