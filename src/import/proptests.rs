//! Property tests of the importers: any input is imported or refused without a panic, a refusal
//! names the line or record (or says the whole input is not of the format), a refused import
//! leaves the store as it was, and valid records come back from the store as they went in.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat};
use proptest::prelude::*;
use rusqlite::types::Value as Sql;
use serde_json::{json, Map, Value};

use super::*;
use crate::model::{Contact, Organization};
use crate::proptest_support::{json_scalar, nested};
use crate::store::{contacts, organizations};

const FORMATS: [Format; 3] = [Format::Json, Format::Ndjson, Format::Csv];

fn declared() -> BTreeMap<String, ValueType> {
    [
        ("level", ValueType::Number),
        ("hiring", ValueType::Bool),
        ("birthday", ValueType::Date),
        ("since", ValueType::Datetime),
        ("skills", ValueType::List),
        ("title", ValueType::String),
    ]
    .into_iter()
    .map(|(k, t)| (k.to_owned(), t))
    .collect()
}

fn run(
    store: &mut Store,
    kind: Entity,
    format: Format,
    bytes: &[u8],
    buffer: usize,
) -> Result<Summary> {
    let mut input = BufReader::with_capacity(buffer.max(1), bytes);
    import(store, kind, format, &mut input, &declared())
}

/// Every row of every table an import writes, to compare before and after.
fn snapshot(store: &Store) -> Vec<Vec<Sql>> {
    let mut out = Vec::new();
    for table in [
        "contacts",
        "organizations",
        "contact_emails",
        "contact_organizations",
    ] {
        let mut st = store
            .conn()
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
            .unwrap();
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                (0..n)
                    .map(|i| r.get::<_, Sql>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap();
        for row in rows {
            let mut row = row.unwrap();
            row.insert(0, Sql::Text(table.to_owned()));
            out.push(row);
        }
    }
    out
}

/// A store holding a few records, so that a refused import has something to leave alone.
fn seeded() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let orgs =
        br#"[{"id":"o1","name":"Acme","website":"https://acme.io"},{"id":"o2","name":"Beta"}]"#;
    run(&mut store, Entity::Organization, Format::Json, orgs, 64).unwrap();
    let people = concat!(
        r#"{"id":"c1","emails":["ada@example.com"],"displayName":"Ada","organizations":["o1"],"attributes":{"level":3}}"#,
        "\n",
        r#"{"id":"c2","emails":["bob@example.com","b@x.io"],"tags":["core"],"identities":{"github":"bob"}}"#,
    );
    run(
        &mut store,
        Entity::Contact,
        Format::Ndjson,
        people.as_bytes(),
        64,
    )
    .unwrap();
    store
}

/// A refusal says where (line or record), or that the input as a whole is not of the format.
fn assert_located(e: &anyhow::Error) -> Result<(), TestCaseError> {
    let msg = format!("{e:#}");
    let whole_input = [
        "the input is empty",
        "expected a JSON array of",
        "the JSON array is not closed",
    ];
    let located = msg.starts_with("line ")
        || msg.starts_with("record ")
        || msg.starts_with("cannot read line ")
        || whole_input.iter().any(|w| msg.starts_with(w));
    prop_assert!(located, "no line or record in: {}", msg);
    if let Some(ie) = e.downcast_ref::<ImportError>() {
        prop_assert!(!ie.problem.trim().is_empty(), "{}", msg);
        prop_assert!(msg.contains("nothing was imported"), "{}", msg);
    }
    Ok(())
}

/// Import into a seeded store: either it succeeds or it is refused with a located error and the
/// store is exactly as before.
fn import_or_refuse(
    kind: Entity,
    format: Format,
    bytes: &[u8],
    buffer: usize,
) -> Result<Option<Summary>, TestCaseError> {
    let mut store = seeded();
    let before = snapshot(&store);
    match run(&mut store, kind, format, bytes, buffer) {
        Ok(s) => Ok(Some(s)),
        Err(e) => {
            assert_located(&e)?;
            prop_assert!(
                snapshot(&store) == before,
                "a refused import changed the store: {:#}",
                e
            );
            Ok(None)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile input

/// JSON values of every shape: nested, huge, unicode, numbers of every size.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        json_scalar(),
        "[a-z]{1,5}@[a-z]{1,5}\\.io".prop_map(Value::String),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?".prop_map(Value::String),
        (0usize..3, any::<char>())
            .prop_map(|(k, c)| Value::String(c.to_string().repeat([1, 1000, 70_000][k]))),
        Just(Value::String(String::new())),
        Just(Value::String(" ".into())),
    ];
    nested(leaf.boxed(), 3, 12, field_name().boxed())
}

/// Field names: real ones, nearly real ones and anything.
fn field_name() -> impl Strategy<Value = String> {
    const NAMES: &[&str] = &[
        "id",
        "emails",
        "displayName",
        "identities",
        "attributes",
        "organizations",
        "score",
        "reach",
        "joinedAt",
        "lastActive",
        "createdAt",
        "tags",
        "identities.github",
        "identities.",
        "identities.a.b",
        "attributes.level",
        "attributes.hiring",
        "attributes.birthday",
        "attributes.since",
        "attributes.skills",
        "attributes.title",
        "attributes.jobTitle",
        "attributes.free",
        "attributes.",
        "github",
        "level",
        "name",
        "website",
        "employees",
        "founded",
        "type",
        "memberCount",
        "Id",
        "ID",
        " id",
        "email",
    ];
    prop_oneof![
        4 => prop::sample::select(NAMES).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn id_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        6 => prop::sample::select(&["c1", "c2", "o1", "o2", "new", "x"][..]).prop_map(|s| Some(json!(s))),
        2 => any::<String>().prop_map(|s| Some(json!(s))),
        1 => Just(None),
        1 => any_json().prop_map(Some),
    ]
}

/// A record: mostly plausible fields, any values, sometimes no id.
fn record() -> impl Strategy<Value = Map<String, Value>> {
    (
        id_value(),
        prop::collection::vec((field_name(), any_json()), 0..5),
        prop::collection::vec(
            prop_oneof![
                "[a-zA-Z]{1,4}@[a-z]{1,4}\\.io",
                Just("dup@example.com".to_owned()),
                Just("DUP@example.com".to_owned()),
                Just("ada@example.com".to_owned()),
                Just("not an email".to_owned()),
            ],
            0..3,
        ),
    )
        .prop_map(|(id, fields, emails)| {
            let mut m = Map::new();
            if let Some(id) = id {
                m.insert("id".into(), id);
            }
            if !emails.is_empty() {
                m.insert("emails".into(), json!(emails));
            }
            for (k, v) in fields {
                m.insert(k, v);
            }
            m
        })
}

/// How records are laid out in bytes, for any format.
#[derive(Debug, Clone)]
struct Layout {
    bom: bool,
    crlf: bool,
    pretty: bool,
    blank_lines: bool,
    /// For CSV: cells dropped from or added to rows (row, +/-).
    ragged: Vec<(prop::sample::Index, bool)>,
    buffer: usize,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 0..2),
        prop_oneof![Just(8192usize), 1usize..64],
    )
        .prop_map(|(bom, crlf, pretty, blank_lines, ragged, buffer)| Layout {
            bom,
            crlf,
            pretty,
            blank_lines,
            ragged,
            buffer,
        })
}

/// A CSV cell for a JSON value, as a user's spreadsheet would hold it.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

fn encode(format: Format, records: &[Map<String, Value>], l: &Layout) -> Vec<u8> {
    let nl = if l.crlf { "\r\n" } else { "\n" };
    let mut text = String::new();
    if l.bom {
        text.push('\u{feff}');
    }
    match format {
        Format::Json => {
            let v = Value::Array(records.iter().cloned().map(Value::Object).collect());
            let body = if l.pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            // JSON strings hold no raw newline, so this only changes the layout.
            text.push_str(&body.replace('\n', nl));
        }
        Format::Ndjson => {
            for r in records {
                text.push_str(&serde_json::to_string(r).unwrap());
                text.push_str(nl);
                if l.blank_lines {
                    text.push_str(nl);
                }
            }
        }
        Format::Csv => {
            let mut header: Vec<String> = Vec::new();
            for r in records {
                for k in r.keys() {
                    if !header.contains(k) {
                        header.push(k.clone());
                    }
                }
            }
            let mut rows: Vec<Vec<String>> = records
                .iter()
                .map(|r| {
                    header
                        .iter()
                        .map(|h| r.get(h).map(cell).unwrap_or_default())
                        .collect()
                })
                .collect();
            for (i, add) in &l.ragged {
                if rows.is_empty() {
                    break;
                }
                let at = i.index(rows.len());
                let row = &mut rows[at];
                if *add {
                    row.push("extra".into());
                } else {
                    row.pop();
                }
            }
            let mut w = ::csv::WriterBuilder::new()
                .flexible(true)
                .terminator(if l.crlf {
                    ::csv::Terminator::CRLF
                } else {
                    ::csv::Terminator::Any(b'\n')
                })
                .from_writer(Vec::new());
            w.write_record(&header).unwrap();
            for row in rows {
                w.write_record(&row).unwrap();
            }
            text.push_str(&String::from_utf8(w.into_inner().unwrap()).unwrap());
        }
    }
    text.into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_are_imported_or_refused_naming_where(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            any::<String>().prop_map(String::into_bytes),
            // Nearly valid: a valid start, then anything.
            (prop::sample::select(&["[{\"id\":\"a\"", "{\"id\":\"a\"}\n", "id,emails\r\na,", "\u{feff}[", "[\n{\"id\":\"c1\"},"][..]),
             prop::collection::vec(any::<u8>(), 0..40))
                .prop_map(|(start, rest)| [start.as_bytes(), &rest].concat()),
        ],
        format in prop::sample::select(&FORMATS[..]),
        contacts in any::<bool>(),
        buffer in 1usize..64,
    ) {
        let kind = if contacts { Entity::Contact } else { Entity::Organization };
        import_or_refuse(kind, format, &bytes, buffer)?;
    }

    #[test]
    fn any_records_are_imported_or_refused_naming_where(
        records in prop::collection::vec(record(), 0..6),
        format in prop::sample::select(&FORMATS[..]),
        contacts in any::<bool>(),
        l in layout(),
    ) {
        let kind = if contacts { Entity::Contact } else { Entity::Organization };
        let bytes = encode(format, &records, &l);
        if let Some(summary) = import_or_refuse(kind, format, &bytes, l.buffer)? {
            if format != Format::Csv {
                prop_assert_eq!(summary.imported, records.len() as u64);
            }
            prop_assert_eq!(summary.imported, summary.created + summary.updated);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Valid records round-trip

/// Text with something visible in it and no `;` (the list separator of CSV cells).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ,.'\"_-]{0,12}",
        any::<String>(),
        "[\\PC]{0,8}",
        Just("line one\nline \"two\"\r\nthree".to_owned()),
    ]
    .prop_filter("blank or holding `;`", |s| {
        !s.trim().is_empty() && !s.contains(';')
    })
}

/// A list item: trimmed (CSV trims `;`-separated items).
fn item() -> impl Strategy<Value = String> {
    text().prop_map(|s| s.trim().to_owned())
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |n| n.is_finite()),
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64),
        Just(0.0),
    ]
}

/// (as written, as stored): any offset in, UTC `…Z` out.
fn datetime() -> impl Strategy<Value = (String, String)> {
    (
        -62_135_596_800i64..253_402_214_400,
        prop_oneof![Just(0u32), 0u32..1_000_000_000],
        -1439i32..1440,
    )
        .prop_map(|(s, ns, off)| {
            let t = DateTime::from_timestamp(s, ns).unwrap_or(DateTime::UNIX_EPOCH);
            let offset =
                FixedOffset::east_opt(off * 60).unwrap_or(FixedOffset::east_opt(0).unwrap());
            (
                t.with_timezone(&offset)
                    .to_rfc3339_opts(SecondsFormat::AutoSi, false),
                t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            )
        })
        .prop_filter(
            "a year of four digits in UTC and in the offset",
            |(w, _)| DateTime::parse_from_rfc3339(w).is_ok(),
        )
}

fn email() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._+-]{1,8}@[a-zA-Z0-9-]{1,8}\\.[a-z]{2,3}"
}

fn emails() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(email(), 0..4).prop_map(|v| {
        let mut out: Vec<String> = Vec::new();
        for e in v {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&e)) {
                out.push(e);
            }
        }
        out
    })
}

/// A declared attribute's value: (as written in JSON, as stored).
fn attribute(ty: ValueType) -> BoxedStrategy<(Value, Value)> {
    match ty {
        ValueType::String => text().prop_map(|s| (json!(s), json!(s))).boxed(),
        ValueType::Number => number()
            .prop_map(|n| {
                let v = serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number);
                (v.clone(), v)
            })
            .boxed(),
        ValueType::Bool => any::<bool>().prop_map(|b| (json!(b), json!(b))).boxed(),
        ValueType::Date => (1i32..=9999, 1u32..=12, 1u32..=28)
            .prop_map(|(y, m, d)| {
                let day = NaiveDate::from_ymd_opt(y, m, d)
                    .unwrap()
                    .format("%Y-%m-%d")
                    .to_string();
                (json!(day), json!(day))
            })
            .boxed(),
        ValueType::Datetime => datetime().prop_map(|(w, s)| (json!(w), json!(s))).boxed(),
        ValueType::List => prop::collection::vec(item(), 1..4)
            .prop_map(|v| (json!(v), json!(v)))
            .boxed(),
    }
}

fn attributes() -> impl Strategy<Value = Vec<(String, Value, Value)>> {
    let declared: Vec<(String, ValueType)> = declared().into_iter().collect();
    let each: Vec<_> = declared
        .into_iter()
        .map(|(name, ty)| {
            prop::option::of(attribute(ty)).prop_map(move |v| v.map(|(w, s)| (name.clone(), w, s)))
        })
        .collect();
    (each, prop::option::of(text())).prop_map(|(v, job)| {
        let mut out: Vec<_> = v.into_iter().flatten().collect();
        if let Some(job) = job {
            out.push(("jobTitle".into(), json!(job), json!(job)));
        }
        out
    })
}

/// A contact as written (JSON object) and as it must be stored.
#[allow(clippy::type_complexity)]
fn contact(org_ids: Vec<String>) -> impl Strategy<Value = (Map<String, Value>, Contact)> {
    (
        emails(),
        prop::option::of(text()),
        prop::collection::btree_map("[a-z][a-z0-9_-]{0,6}", text(), 0..3),
        attributes(),
        prop::sample::subsequence(org_ids.clone(), 0..=org_ids.len()),
        prop::option::of(number()),
        prop::option::of(number()),
        prop::option::of(datetime()),
        prop::option::of(datetime()),
        prop::collection::vec(item(), 0..3),
    )
        .prop_map(
            |(emails, name, identities, attrs, orgs, score, reach, joined, last, tags)| {
                let mut c = Contact::new("");
                let mut m = Map::new();
                c.emails.clone_from(&emails);
                if !emails.is_empty() {
                    m.insert("emails".into(), json!(emails));
                }
                if let Some(n) = name {
                    m.insert("displayName".into(), json!(n));
                    c.display_name = Some(n);
                }
                if !identities.is_empty() {
                    m.insert("identities".into(), json!(identities));
                }
                c.identities = identities;
                let mut a = Map::new();
                for (name, written, stored) in attrs {
                    a.insert(name.clone(), written);
                    c.attributes.insert(name, stored);
                }
                if !a.is_empty() {
                    m.insert("attributes".into(), Value::Object(a));
                }
                if !orgs.is_empty() {
                    m.insert("organizations".into(), json!(orgs));
                }
                c.organizations = orgs;
                for (key, n, slot) in [
                    ("score", score, &mut c.score),
                    ("reach", reach, &mut c.reach),
                ] {
                    if let Some(n) = n {
                        m.insert(
                            key.into(),
                            serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
                        );
                        *slot = Some(n);
                    }
                }
                for (key, d, slot) in [
                    ("joinedAt", joined, &mut c.joined_at),
                    ("lastActive", last, &mut c.last_active),
                ] {
                    if let Some((written, stored)) = d {
                        m.insert(key.into(), json!(written));
                        *slot = Some(stored);
                    }
                }
                if !tags.is_empty() {
                    m.insert("tags".into(), json!(tags));
                }
                c.tags = tags;
                (m, c)
            },
        )
}

/// An organization as written and as it must be stored.
fn organization() -> impl Strategy<Value = (Map<String, Value>, Organization)> {
    (
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(number()),
        prop::option::of(datetime()),
        prop::collection::vec(item(), 0..3),
        emails(),
    )
        .prop_map(
            |(name, website, industry, employees, joined, tags, emails)| {
                let mut o = Organization::new("");
                let mut m = Map::new();
                for (key, v, slot) in [
                    ("name", name, &mut o.name),
                    ("website", website, &mut o.website),
                    ("industry", industry, &mut o.industry),
                ] {
                    if let Some(v) = v {
                        m.insert(key.into(), json!(v));
                        *slot = Some(v);
                    }
                }
                if let Some(n) = employees {
                    m.insert(
                        "employees".into(),
                        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
                    );
                    o.employees = Some(n);
                }
                if let Some((written, stored)) = joined {
                    m.insert("joinedAt".into(), json!(written));
                    o.joined_at = Some(stored);
                }
                if !tags.is_empty() {
                    m.insert("tags".into(), json!(tags));
                }
                o.tags = tags;
                if !emails.is_empty() {
                    m.insert("emails".into(), json!(emails));
                }
                o.emails = emails;
                (m, o)
            },
        )
}

/// Record ids: unique, trimmed, with something visible.
fn ids(max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set(item(), 0..max)
        .prop_map(|s| s.into_iter().collect::<BTreeSet<_>>().into_iter().collect())
}

#[allow(clippy::type_complexity)]
fn dataset() -> impl Strategy<
    Value = (
        Vec<(Map<String, Value>, Organization)>,
        Vec<(Map<String, Value>, Contact)>,
    ),
> {
    (ids(4), ids(6)).prop_flat_map(|(org_ids, contact_ids)| {
        let orgs: Vec<_> = org_ids
            .iter()
            .map(|id| {
                let id = id.clone();
                organization().prop_map(move |(fields, mut o)| {
                    o.id.clone_from(&id);
                    (with_id(&id, fields), o)
                })
            })
            .collect();
        let people: Vec<_> = contact_ids
            .iter()
            .map(|id| {
                let id = id.clone();
                contact(org_ids.clone()).prop_map(move |(fields, mut c)| {
                    c.id.clone_from(&id);
                    (with_id(&id, fields), c)
                })
            })
            .collect();
        (orgs, people)
    })
}

/// A record's fields with its `id` first.
fn with_id(id: &str, fields: Map<String, Value>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.extend(fields);
    m
}

/// A record flattened into CSV columns (`attributes.level`, `identities.github`).
fn flatten(m: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in m {
        match (k.as_str(), v) {
            ("identities" | "attributes", Value::Object(inner)) => {
                for (name, v) in inner {
                    out.insert(format!("{k}.{name}"), v.clone());
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// A CSV cell of a valid value: numbers written so they parse back to the same number.
fn valid_cell(v: &Value) -> String {
    match v {
        Value::Number(n) => n.as_f64().map(|f| format!("{f}")).unwrap_or_default(),
        other => cell(other),
    }
}

fn encode_valid(format: Format, records: &[Map<String, Value>], l: &Layout) -> Vec<u8> {
    if format != Format::Csv {
        return encode(
            format,
            records,
            &Layout {
                ragged: Vec::new(),
                ..l.clone()
            },
        );
    }
    let flat: Vec<Map<String, Value>> = records
        .iter()
        .map(|r| {
            flatten(r)
                .into_iter()
                .map(|(k, v)| (k, Value::String(valid_cell(&v))))
                .collect()
        })
        .collect();
    encode(
        Format::Csv,
        &flat,
        &Layout {
            ragged: Vec::new(),
            ..l.clone()
        },
    )
}

/// Import valid records: every one is created (a CSV of none has no header row to read).
fn created_all(
    store: &mut Store,
    entity: Entity,
    format: Format,
    bytes: &[u8],
    buffer: usize,
    n: usize,
) -> Result<(), TestCaseError> {
    match run(store, entity, format, bytes, buffer) {
        Ok(s) => prop_assert_eq!(s.created, n as u64),
        Err(e) if format == Format::Csv && n == 0 => {
            let msg = format!("{e:#}");
            prop_assert!(msg.starts_with("line 1"), "{}", msg);
        }
        Err(e) => {
            let input = String::from_utf8_lossy(bytes);
            return Err(TestCaseError::fail(format!("{e:#}\n{input}")));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn valid_records_come_back_from_the_store_as_they_went_in(
        (orgs, people) in dataset(),
        org_format in prop::sample::select(&FORMATS[..]),
        format in prop::sample::select(&FORMATS[..]),
        l in layout(),
    ) {
        let mut store = Store::open_in_memory().unwrap();
        let org_records: Vec<_> = orgs.iter().map(|(m, _)| m.clone()).collect();
        let bytes = encode_valid(org_format, &org_records, &l);
        created_all(&mut store, Entity::Organization, org_format, &bytes, l.buffer, orgs.len())?;
        let mut want_orgs: Vec<Organization> = orgs.into_iter().map(|(_, o)| o).collect();
        want_orgs.sort_by(|a, b| a.id.cmp(&b.id));
        prop_assert_eq!(organizations::all(store.conn()).unwrap(), want_orgs);

        let records: Vec<_> = people.iter().map(|(m, _)| m.clone()).collect();
        let bytes = encode_valid(format, &records, &l);
        created_all(&mut store, Entity::Contact, format, &bytes, l.buffer, people.len())?;
        let mut want: Vec<Contact> = people.into_iter().map(|(_, c)| c).collect();
        want.sort_by(|a, b| a.id.cmp(&b.id));
        prop_assert_eq!(contacts::all(store.conn()).unwrap(), want);

        // The same input again updates every record and changes nothing.
        let before = contacts::all(store.conn()).unwrap();
        if !records.is_empty() {
            let s = run(&mut store, Entity::Contact, format, &bytes, l.buffer).unwrap();
            prop_assert_eq!((s.created, s.updated), (0, records.len() as u64));
        }
        prop_assert_eq!(contacts::all(store.conn()).unwrap(), before);
    }
}

#[test]
fn a_byte_order_mark_is_accepted_by_every_format_and_any_buffer() {
    for (format, text) in [
        (Format::Json, "\u{feff}[{\"id\":\"a\"}]"),
        (Format::Ndjson, "\u{feff}{\"id\":\"a\"}\n"),
        (Format::Csv, "\u{feff}id,displayName\na,Ada\n"),
    ] {
        for buffer in [1, 2, 3, 64] {
            let mut store = Store::open_in_memory().unwrap();
            let s = run(&mut store, Entity::Contact, format, text.as_bytes(), buffer)
                .unwrap_or_else(|e| panic!("{format:?}, buffer {buffer}: {e:#}"));
            assert_eq!(s.created, 1);
        }
    }
}

#[test]
fn numbers_keep_every_digit() {
    let mut store = Store::open_in_memory().unwrap();
    let text = r#"[{"id":"a","score":-3.8315253975704855e70,"attributes":{"level":-3.8315253975704855e70}}]"#;
    run(
        &mut store,
        Entity::Contact,
        Format::Json,
        text.as_bytes(),
        64,
    )
    .unwrap();
    let c = contacts::get(store.conn(), "a").unwrap().unwrap();
    assert_eq!(c.score, Some(-3.831_525_397_570_485_5e70));
    assert_eq!(
        c.attributes["level"].as_f64(),
        Some(-3.831_525_397_570_485_5e70)
    );
}

#[test]
fn a_record_much_longer_than_the_read_buffer_is_read_in_linear_time() {
    // Decoding the element again after every 64 bytes would take minutes: 16 values at
    // HubSpot's limit make a record of about 1 MiB.
    let attrs: Vec<String> = (0..15)
        .map(|i| format!("\"a{i}\":\"{}\"", "x".repeat(65_000)))
        .collect();
    let text = format!("[{{\"id\":\"a\",\"attributes\":{{{}}}}}]", attrs.join(","));
    let mut store = Store::open_in_memory().unwrap();
    let started = std::time::Instant::now();
    run(
        &mut store,
        Entity::Contact,
        Format::Json,
        text.as_bytes(),
        64,
    )
    .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let c = contacts::get(store.conn(), "a").unwrap().unwrap();
    assert_eq!(c.attributes.len(), 15);
}

#[test]
fn a_record_over_the_record_limit_is_refused_before_it_is_held_whole() {
    let bio = "x".repeat(64 << 20);
    for (format, text) in [
        (
            Format::Json,
            format!("[{{\"id\":\"a\",\"attributes\":{{\"bio\":\"{bio}\"}}}}]"),
        ),
        (
            Format::Ndjson,
            format!("{{\"id\":\"a\",\"attributes\":{{\"bio\":\"{bio}\"}}}}\n"),
        ),
    ] {
        let mut store = Store::open_in_memory().unwrap();
        let err = run(
            &mut store,
            Entity::Contact,
            format,
            text.as_bytes(),
            1 << 16,
        )
        .unwrap_err();
        assert!(err.to_string().contains("longer than 1 MiB"), "{err}");
        assert!(contacts::get(store.conn(), "a").unwrap().is_none());
    }
}

/// One wrong value put into a valid record: (field path, value as JSON, the words the error must
/// hold).
const BREAKS: &[(&str, &str, &str)] = &[
    ("score", "\"lots\"", "field `score`"),
    ("emails", "[\"not an email\"]", "field `emails`"),
    ("joinedAt", "\"yesterday\"", "field `joinedAt`"),
    ("attributes.level", "\"high\"", "field `attributes.level`"),
    (
        "attributes.birthday",
        "\"2024-02-30\"",
        "field `attributes.birthday`",
    ),
    ("organizations", "[\"nowhere\"]", "field `organizations`"),
    ("nickname", "\"Ada\"", "nickname"),
];

/// CSV of flattened records, and the line each record starts on.
fn csv_with_lines(records: &[Map<String, Value>], l: &Layout) -> (Vec<u8>, Vec<u64>) {
    let flat: Vec<Map<String, Value>> = records.iter().map(flatten).collect();
    let mut header: Vec<String> = Vec::new();
    for r in &flat {
        for k in r.keys() {
            if !header.contains(k) {
                header.push(k.clone());
            }
        }
    }
    let mut out: Vec<u8> = if l.bom { "\u{feff}".into() } else { Vec::new() };
    let mut starts = Vec::new();
    let terminator = if l.crlf {
        ::csv::Terminator::CRLF
    } else {
        ::csv::Terminator::Any(b'\n')
    };
    let write = |row: Vec<String>, out: &mut Vec<u8>| {
        let mut w = ::csv::WriterBuilder::new()
            .terminator(terminator)
            .from_writer(Vec::new());
        w.write_record(&row).unwrap();
        out.extend(w.into_inner().unwrap());
    };
    write(header.clone(), &mut out);
    for r in &flat {
        starts.push(1 + out.iter().filter(|&&b| b == b'\n').count() as u64);
        let row = header
            .iter()
            .map(|h| r.get(h).map(valid_cell).unwrap_or_default())
            .collect();
        write(row, &mut out);
    }
    (out, starts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_wrong_value_is_refused_at_its_record_and_nothing_is_imported(
        people in ids(6).prop_flat_map(|ids| {
            ids.into_iter()
                .map(|id| contact(Vec::new()).prop_map(move |(fields, _)| {
                    let mut m = Map::new();
                    m.insert("id".into(), json!(id));
                    m.extend(fields);
                    m
                }))
                .collect::<Vec<_>>()
        }),
        at in any::<prop::sample::Index>(),
        (field, value, words) in prop::sample::select(BREAKS),
        format in prop::sample::select(&FORMATS[..]),
        l in layout(),
    ) {
        prop_assume!(!people.is_empty());
        let mut people = people;
        let k = at.index(people.len());
        let value: Value = serde_json::from_str(value).unwrap();
        match field.split_once('.') {
            Some((parent, name)) => {
                let inner = people[k].entry(parent).or_insert_with(|| json!({}));
                inner.as_object_mut().unwrap().insert(name.into(), value);
            }
            None => {
                people[k].insert(field.into(), value);
            }
        }
        let (bytes, want) = match format {
            Format::Json => (encode_valid(format, &people, &l), format!("record {} (id ", k + 1)),
            Format::Ndjson => {
                let line = if l.blank_lines { 2 * k + 1 } else { k + 1 };
                (encode_valid(format, &people, &l), format!("line {line}: "))
            }
            Format::Csv => {
                let (bytes, starts) = csv_with_lines(&people, &l);
                (bytes, format!("line {}: ", starts[k]))
            }
        };
        // An unknown CSV column is refused at the header row, before any record.
        let (want, words) = if format == Format::Csv && field == "nickname" {
            ("line 1: ".to_owned(), "column `nickname`")
        } else {
            (want, words)
        };
        let mut store = Store::open_in_memory().unwrap();
        let e = match run(&mut store, Entity::Contact, format, &bytes, l.buffer) {
            Ok(_) => return Err(TestCaseError::fail(format!("imported:\n{}", String::from_utf8_lossy(&bytes)))),
            Err(e) => format!("{e:#}"),
        };
        prop_assert!(e.starts_with(&want), "want {:?} in: {}", want, e);
        prop_assert!(e.contains(words), "want {:?} in: {}", words, e);
        prop_assert!(contacts::all(store.conn()).unwrap().is_empty());
    }
}

#[test]
fn csv_errors_name_the_line_an_editor_shows_whatever_the_line_ends() {
    for nl in ["\n", "\r\n"] {
        let text = [
            "id,displayName,score",
            "a,\"two",
            "lines\",1",
            "b,Bob,lots",
            "c,Cy,1,extra",
            "",
        ]
        .join(nl);
        let mut store = Store::open_in_memory().unwrap();
        let e = run(&mut store, Entity::Contact, Format::Csv, text.as_bytes(), 7).unwrap_err();
        assert!(
            format!("{e:#}").starts_with("line 4: field `score`"),
            "{nl:?}: {e:#}"
        );
        let text = text.replace("lots", "2");
        let e = run(&mut store, Entity::Contact, Format::Csv, text.as_bytes(), 7).unwrap_err();
        assert!(
            format!("{e:#}").starts_with("line 5: has 4 cells"),
            "{nl:?}: {e:#}"
        );
    }
}
