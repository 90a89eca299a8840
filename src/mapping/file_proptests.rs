//! Property tests of the mapping file: any text, and the example file with lines deleted,
//! duplicated or replaced, is parsed or refused without a panic, a refusal names the file and,
//! when the problem is on a line, that line; `map check` and `map show` work on whatever parses.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::mapping::check::{check, table, Properties};
use crate::mapping::property::CachedProperty;

use super::EXAMPLE;
const ORIGIN: &str = "m.yaml";

/// Lines that are valid, nearly valid or plainly wrong in a mapping file.
const TOKENS: &[&str] = &[
    "version: 2",
    "version: x",
    "version: -1",
    "version: 99999999999999999999",
    "refresh_period: 0h",
    "refresh_period: 99999999999999999999d",
    "refresh_period: 18446744073709551615d",
    "refresh_period: 213503982334602d",
    "refresh_period: 5124095576030432h",
    "refresh_period: 1y",
    "refresh_period: ",
    "refresh_period: [1]",
    "api_version: v4",
    "api_version: v3",
    "contacts:",
    "contacts: 7",
    "organizations: []",
    "  enabled: maybe",
    "  enabled: true",
    "  fields:",
    "  fields: {}",
    "  fields: []",
    "  attributes:",
    "    level: number",
    "    level: float",
    "    x.y: string",
    "    score: email",
    "    email: email",
    "    id: whatever",
    "    emails: e",
    "    attributes.level: gitmesh_level",
    "    attributes.nope: gitmesh_nope",
    "    identities.: p",
    "    identities.git hub: p",
    "    displayName: gitmesh_display_name",
    "    displayName:",
    "      property: p",
    "      pull: sometimes",
    "      pull: never",
    "      extra: 1",
    "    - a",
    "- a",
    "{",
    "[",
    "]",
    "}",
    "&a x",
    "*a",
    "*b",
    "!!binary aGk=",
    "? complex",
    ":",
    "'",
    "\"",
    "\t",
    "~",
    "null",
    "%YAML 1.2",
    "---",
    "...",
    "\u{feff}version: 1",
    "    ünïcödé: 名前",
    "    \"quoted.key\": prop",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete(prop::sample::Index),
    Duplicate(prop::sample::Index),
    Replace(prop::sample::Index, String),
    Insert(prop::sample::Index, String),
    /// Keep the key and indentation, replace what follows `:`.
    Value(prop::sample::Index, String),
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(TOKENS).prop_map(str::to_owned),
        1 => any::<String>(),
        1 => "[ a-z:{}\\[\\],&*!|>'\"#-]{0,12}",
    ]
}

/// What may follow `key:` on a line.
fn value() -> impl Strategy<Value = String> {
    const VALUES: &[&str] = &[
        "",
        " ",
        " x",
        " 1",
        " -1",
        " 2",
        " 0",
        " true",
        " [a]",
        " {a: b}",
        " ~",
        " &x 1",
        " *x",
        " string",
        " list",
        " never",
        " v3",
        " 0d",
        " 99999999999999999999h",
    ];
    prop_oneof![
        prop::sample::select(VALUES).prop_map(str::to_owned),
        any::<String>().prop_map(|s| format!(" {s}")),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let i = any::<prop::sample::Index>();
    prop_oneof![
        i.clone().prop_map(Edit::Delete),
        i.clone().prop_map(Edit::Duplicate),
        (i.clone(), token()).prop_map(|(i, t)| Edit::Replace(i, t)),
        (i.clone(), token()).prop_map(|(i, t)| Edit::Insert(i, t)),
        (i, value()).prop_map(|(i, t)| Edit::Value(i, t)),
    ]
}

fn apply(edits: &[Edit]) -> String {
    let mut lines: Vec<String> = EXAMPLE.lines().map(str::to_owned).collect();
    for e in edits {
        if lines.is_empty() {
            break;
        }
        match e {
            Edit::Delete(i) => {
                lines.remove(i.index(lines.len()));
            }
            Edit::Duplicate(i) => {
                let at = i.index(lines.len());
                lines.insert(at, lines[at].clone());
            }
            Edit::Replace(i, t) => {
                let at = i.index(lines.len());
                lines[at] = t.clone();
            }
            Edit::Insert(i, t) => lines.insert(i.index(lines.len() + 1), t.clone()),
            Edit::Value(i, t) => {
                let at = i.index(lines.len());
                if let Some(colon) = lines[at].find(':') {
                    lines[at] = format!("{}{t}", &lines[at][..=colon]);
                }
            }
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

fn cached(name: &str, type_: &str, field_type: &str) -> CachedProperty {
    serde_json::from_value(json!({
        "name": name, "type": type_, "fieldType": field_type,
        "options": [{"value": "Senior", "label": "Senior"}],
        "calculated": name.ends_with("score"),
        "hubspotDefined": !name.starts_with("gitmesh_"),
    }))
    .unwrap()
}

/// Some of the properties the example maps, with a mix of types.
fn properties() -> Properties {
    Properties::new(
        vec![
            cached("gitmesh_display_name", "string", "text"),
            cached("gitmesh_github", "string", "text"),
            cached("gitmesh_seniority", "enumeration", "select"),
            cached("gitmesh_is_hiring", "bool", "booleancheckbox"),
            cached("gitmesh_score", "number", "number"),
            cached("gitmesh_joined_at", "string", "text"),
            cached("jobtitle", "string", "text"),
            cached("email", "string", "text"),
        ],
        vec![
            cached("gitmesh_description", "string", "textarea"),
            cached("numberofemployees", "number", "number"),
            cached("name", "string", "text"),
        ],
    )
}

/// A refusal names the file; when it points at a line, the line exists.
fn check_refusal(text: &str, e: &anyhow::Error) -> Result<Option<usize>, TestCaseError> {
    let msg = format!("{e:#}");
    prop_assert!(msg.starts_with(ORIGIN), "{}", msg);
    let rest = &msg[ORIGIN.len()..];
    let line = rest
        .strip_prefix(':')
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<usize>().ok());
    if let Some(l) = line {
        prop_assert!(
            l >= 1 && l <= text.lines().count().max(1) + 1,
            "line {} of {} in {}",
            l,
            text.lines().count(),
            msg
        );
    }
    Ok(line)
}

/// `map check` and `map show` on a parsed file: no panic, and every line they point at holds
/// the field they name.
fn check_checks(mapping: &Mapping) -> Result<(), TestCaseError> {
    for props in [Properties::default(), properties()] {
        for p in check(mapping, &props) {
            prop_assert!(!p.message.is_empty());
            if let (Some(l), Some(key)) = (p.line, p.field.rsplit('.').next()) {
                let src = mapping.source.lines().nth(l - 1).unwrap_or("");
                if p.field != "fields" {
                    prop_assert!(src.contains(key), "{} points at line {}: {:?}", p, l, src);
                }
            }
        }
        let _ = table(mapping, &props);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_is_parsed_or_refused_naming_the_file(text in prop_oneof![
        any::<String>(),
        prop::collection::vec(token(), 0..12).prop_map(|l| l.join("\n")),
    ]) {
        match Mapping::parse(&text, ORIGIN) {
            Ok(m) => check_checks(&m)?,
            Err(e) => { check_refusal(&text, &e)?; }
        }
    }

    #[test]
    fn an_edited_example_is_parsed_or_refused_at_its_line(edits in prop::collection::vec(edit(), 1..4)) {
        let text = apply(&edits);
        match Mapping::parse(&text, ORIGIN) {
            Ok(m) => {
                check_checks(&m)?;
                // A finding about a field written on a line of its own points at that line.
                for p in check(&m, &properties()) {
                    let own_line = format!("    {}:", p.field);
                    let written = m.source.lines().filter(|l| l.starts_with(&own_line)).count();
                    prop_assert!(p.line.is_some() || written != 1, "{} has no line in:\n{}", p, m.source);
                }
            }
            Err(e) => {
                let line = check_refusal(&text, &e)?;
                prop_assert!(line.is_some(), "no line in: {:#}\n--- file:\n{}", e, text);
            }
        }
    }

    #[test]
    fn any_value_of_any_key_is_taken_or_refused_at_its_line(
        pick in any::<prop::sample::Index>(),
        value in value(),
    ) {
        let mut lines: Vec<String> = EXAMPLE.lines().map(str::to_owned).collect();
        let keys: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].contains(':') && !lines[i].trim_start().starts_with('#'))
            .collect();
        let at = keys[pick.index(keys.len())];
        if let Some(colon) = lines[at].find(':') {
            lines[at] = format!("{}{value}", &lines[at][..=colon]);
        }
        let text = lines.join("\n");
        if let Err(e) = Mapping::parse(&text, ORIGIN) {
            let line = check_refusal(&text, &e)?;
            prop_assert!(line.is_some(), "no line in: {:#}\n--- line {}: {}", e, at + 1, lines[at]);
        }
    }

    #[test]
    fn any_refresh_period_is_taken_or_refused_at_its_line(
        n in prop_oneof![any::<u64>(), 0u64..1000, Just(u64::MAX / 60 + 1), Just(u64::MAX / 86_400 + 1)],
        unit in prop::sample::select(&["s", "m", "h", "d", "", "y", " h", "é"][..]),
        junk in prop_oneof![Just(String::new()), any::<String>()],
    ) {
        let period = format!("{n}{unit}{junk}");
        let quoted = format!("'{}'", period.replace('\'', "''"));
        let text = EXAMPLE.replace("refresh_period: 8h", &format!("refresh_period: {quoted}"));
        match Mapping::parse(&text, ORIGIN) {
            Ok(m) => {
                let secs = m.refresh_period().as_secs();
                let per = match unit.trim() { "s" => 1, "m" => 60, "h" => 3600, _ => 86_400 };
                prop_assert_eq!(Some(secs), n.checked_mul(per), "{}", period);
            }
            Err(e) => {
                let msg = format!("{e:#}");
                // Either YAML cannot read the value or the period is refused: line 14 both ways.
                prop_assert!(msg.starts_with("m.yaml:14:"), "{}", msg);
            }
        }
    }
}

#[test]
fn the_example_parses_and_checks_clean_without_properties() {
    let m = Mapping::parse(EXAMPLE, ORIGIN).unwrap();
    // Without cached properties the only finding is that nothing can be checked.
    let found = check(&m, &Properties::default());
    assert!(!found.is_empty());
    assert!(found.iter().all(|p| p.field == "fields"), "{found:?}");
}

/// The 1-based line of the first line of `text` starting with `prefix`.
fn line_starting(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(prefix))
        .map(|i| i + 1)
        .unwrap()
}

#[test]
fn a_byte_order_mark_at_the_start_is_ignored() {
    let m = Mapping::parse(&format!("\u{feff}{EXAMPLE}"), ORIGIN).unwrap();
    assert_eq!(m.refresh_period().as_secs(), 8 * 3600);
    assert_eq!(
        m.line_of("contacts", "fields", "score"),
        Some(line_starting(EXAMPLE, "    score:"))
    );
}

#[test]
fn refusals_of_whole_file_settings_name_their_line() {
    let e = parse_period("213503982334602d").unwrap_err();
    assert!(e.to_string().contains("too long a period"), "{e}");
    let text = EXAMPLE.replace("version: 1", "version: 2");
    let e = Mapping::parse(&text, ORIGIN).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("m.yaml:8: mapping file version 2"),
        "{e}"
    );
    let text = EXAMPLE.replace("organizations:\n", "---\norganizations:\n");
    let e = Mapping::parse(&text, ORIGIN).unwrap_err();
    let at = line_starting(EXAMPLE, "organizations:");
    assert!(
        e.to_string()
            .starts_with(&format!("m.yaml:{at}: a second YAML document starts here")),
        "{e}"
    );
}
