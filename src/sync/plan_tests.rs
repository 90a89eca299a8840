use super::*;
use crate::mapping::{FieldSpec, ValueType};
use crate::model::Entity;
use serde_json::json;

static NO_LINKS: std::sync::LazyLock<HashMap<String, Link>> =
    std::sync::LazyLock::new(HashMap::new);
static NO_BASES: std::sync::LazyLock<HashMap<String, Base>> =
    std::sync::LazyLock::new(HashMap::new);

/// A page of records never pushed (no links, no bases), planned with default options.
fn page<'a>(section: &'a EntitySection, props: &'a HashMap<String, CachedProperty>) -> Page<'a> {
    Page {
        links: &NO_LINKS,
        bases: &NO_BASES,
        section,
        props,
        opts: PlanOptions::default(),
    }
}

fn prop(name: &str, type_: &str, field_type: &str, options: &[&str]) -> CachedProperty {
    serde_json::from_value(json!({
        "name": name, "type": type_, "fieldType": field_type,
        "options": options.iter().map(|o| json!({"value": o, "label": o})).collect::<Vec<_>>()
    }))
    .unwrap()
}

fn contact_props() -> HashMap<String, CachedProperty> {
    [
        prop("gitmesh_display_name", "string", "text", &[]),
        prop(
            "gitmesh_seniority",
            "enumeration",
            "select",
            &["Junior", "Senior"],
        ),
        prop("gitmesh_score", "number", "number", &[]),
        prop("gitmesh_joined_at", "datetime", "date", &[]),
        prop("gitmesh_last_active", "date", "date", &[]),
        prop("gitmesh_tags", "enumeration", "checkbox", &["a", "b"]),
        prop("gitmesh_is_hiring", "bool", "booleancheckbox", &[]),
    ]
    .into_iter()
    .map(|p| (p.name.clone(), p))
    .collect()
}

fn contact_section() -> EntitySection {
    let mut s = EntitySection {
        enabled: true,
        ..EntitySection::default()
    };
    s.attributes
        .insert("seniorityLevel".into(), ValueType::String);
    s.attributes.insert("isHiring".into(), ValueType::Bool);
    for (f, p) in [
        ("displayName", "gitmesh_display_name"),
        ("attributes.seniorityLevel", "gitmesh_seniority"),
        ("attributes.isHiring", "gitmesh_is_hiring"),
        ("score", "gitmesh_score"),
        ("joinedAt", "gitmesh_joined_at"),
        ("lastActive", "gitmesh_last_active"),
        ("tags", "gitmesh_tags"),
    ] {
        s.fields.push((f.into(), FieldSpec::Short(p.into())));
    }
    s
}

fn contact(v: Value) -> Contact {
    serde_json::from_value(v).unwrap()
}

fn link(id: &str, hubspot: Option<&str>, hash: Option<&str>) -> Link {
    Link {
        entity: Entity::Contact,
        local_id: id.into(),
        hubspot_id: hubspot.map(Into::into),
        content_hash: hash.map(Into::into),
        last_pushed_at: None,
        last_pulled_at: None,
        marked: None,
        marked_at: None,
    }
}

#[test]
fn contacts_are_formatted_per_property_type() {
    let c = contact(json!({
        "id": "c1", "emails": ["  Ada@Example.COM ", "ada@work.example"], "displayName": "Ada",
        "attributes": {"seniorityLevel": "senior", "isHiring": true},
        "organizations": ["o1", "o2", "o1"], "score": 7.0,
        "joinedAt": "2019-06-10T07:38:18+02:00", "lastActive": "2025-09-04T23:23:10-05:00",
        "tags": ["a", "b"]
    }));
    let companies: HashMap<String, String> = [("o1".to_owned(), "901".to_owned())].into();
    let ops = plan_contacts(
        &mut HashMap::new(),
        &[c],
        page(&contact_section(), &contact_props()),
        &companies,
    );
    let PushOp::Send(item) = &ops[0] else {
        panic!("{ops:?}")
    };
    let expected: BTreeMap<String, String> = [
        ("email", "ada@example.com"),
        ("gitmesh_display_name", "Ada"),
        ("gitmesh_seniority", "Senior"),
        ("gitmesh_is_hiring", "true"),
        ("gitmesh_score", "7"),
        ("gitmesh_joined_at", "2019-06-10T05:38:18.000Z"),
        ("gitmesh_last_active", "2025-09-05"),
        ("gitmesh_tags", "a;b"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(item.properties, expected);
    assert_eq!(item.key, "ada@example.com");
    assert_eq!(item.companies, vec!["901".to_owned()]);
}

#[test]
fn contact_cases() {
    let props = contact_props();
    let section = contact_section();
    let base = contact(json!({"id": "c1", "emails": ["a@x.io"], "displayName": "A"}));
    let sent = plan_contacts(
        &mut HashMap::new(),
        std::slice::from_ref(&base),
        page(&section, &props),
        &HashMap::new(),
    );
    let PushOp::Send(item) = &sent[0] else {
        panic!()
    };
    let hash = item.hash.clone();
    // (case, contact, link, force, expected kind)
    let cases: Vec<(&str, Contact, Option<Link>, bool, &str)> = vec![
        ("new", base.clone(), None, false, "send"),
        (
            "linked, same hash",
            base.clone(),
            Some(link("c1", Some("5"), Some(&hash))),
            false,
            "unchanged",
        ),
        (
            "same hash but forced",
            base.clone(),
            Some(link("c1", Some("5"), Some(&hash))),
            true,
            "send",
        ),
        (
            "hash but no HubSpot id",
            base.clone(),
            Some(link("c1", None, Some(&hash))),
            false,
            "send",
        ),
        (
            "changed",
            contact(json!({"id": "c1", "emails": ["a@x.io"], "displayName": "B"})),
            Some(link("c1", Some("5"), Some(&hash))),
            false,
            "send",
        ),
        (
            "no e-mail",
            contact(json!({"id": "c1", "emails": []})),
            None,
            false,
            "skip",
        ),
        (
            "blank e-mail",
            contact(json!({"id": "c1", "emails": ["  "]})),
            None,
            false,
            "skip",
        ),
        (
            "bad option",
            contact(
                json!({"id": "c1", "emails": ["a@x.io"], "attributes": {"seniorityLevel": "Wizard"}}),
            ),
            None,
            false,
            "fail",
        ),
    ];
    for (name, c, l, force, want) in cases {
        let links: HashMap<String, Link> = l.into_iter().map(|l| ("c1".into(), l)).collect();
        let ops = plan_contacts(
            &mut HashMap::new(),
            &[c],
            Page {
                links: &links,
                opts: PlanOptions { force },
                ..page(&section, &props)
            },
            &HashMap::new(),
        );
        let got = match &ops[0] {
            PushOp::Send(_) => "send",
            PushOp::Unchanged { .. } => "unchanged",
            PushOp::Skip { .. } => "skip",
            PushOp::Fail { .. } => "fail",
        };
        assert_eq!(got, want, "case {name}: {ops:?}");
    }
}

#[test]
fn a_bad_enumeration_value_names_field_and_options() {
    let c = contact(
        json!({"id": "c1", "emails": ["a@x.io"], "attributes": {"seniorityLevel": "Wizard"}}),
    );
    let ops = plan_contacts(
        &mut HashMap::new(),
        &[c],
        page(&contact_section(), &contact_props()),
        &HashMap::new(),
    );
    let PushOp::Fail { error, .. } = &ops[0] else {
        panic!("{ops:?}")
    };
    assert!(error.contains("attributes.seniorityLevel"), "{error}");
    assert!(
        error.contains("Wizard") && error.contains("Junior"),
        "{error}"
    );
}

#[test]
fn duplicate_identities_are_skipped_after_the_first() {
    let a = contact(json!({"id": "c1", "emails": ["A@x.io"]}));
    let b = contact(json!({"id": "c2", "emails": ["a@X.io "]}));
    let ops = plan_contacts(
        &mut HashMap::new(),
        &[a, b],
        page(&EntitySection::default(), &HashMap::new()),
        &HashMap::new(),
    );
    assert!(matches!(ops[0], PushOp::Send(_)));
    assert!(matches!(&ops[1], PushOp::Skip { reason, .. } if reason.contains("c1")));

    let org = |id: &str, w: Option<&str>| {
        let mut o = Organization::new(id);
        o.name = Some(format!("Org {id}"));
        o.website = w.map(Into::into);
        o
    };
    let ops = plan_organizations(
        &mut HashMap::new(),
        &[
            org("o1", Some("https://www.acme.io")),
            org("o2", Some("http://acme.io/about")),
            org("o3", None),
            org("o4", Some("https://blog.acme.io")),
        ],
        page(&EntitySection::default(), &HashMap::new()),
    );
    let kinds: Vec<&str> = ops
        .iter()
        .map(|o| match o {
            PushOp::Send(i) => i.key.as_str(),
            PushOp::Skip { .. } => "skip",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, vec!["acme.io", "skip", "skip", "blog.acme.io"]);
    let PushOp::Send(i) = &ops[0] else { panic!() };
    assert_eq!(i.properties.get("name").map(String::as_str), Some("Org o1"));
}

#[test]
fn the_hash_covers_values_and_association_targets_only() {
    let p = |v: &str| -> BTreeMap<String, String> { [("a".into(), v.into())].into() };
    assert_eq!(content_hash(&p("1"), &[]), content_hash(&p("1"), &[]));
    assert_ne!(content_hash(&p("1"), &[]), content_hash(&p("2"), &[]));
    assert_ne!(
        content_hash(&p("1"), &[]),
        content_hash(&p("1"), &["9".into()])
    );
    assert_eq!(
        content_hash(&p("1"), &["9".into(), "8".into()]),
        content_hash(&p("1"), &["8".into(), "9".into()])
    );
    // Concatenation ambiguity: ("ab","c") vs ("a","bc").
    let x: BTreeMap<String, String> = [("ab".into(), "c".into())].into();
    let y: BTreeMap<String, String> = [("a".into(), "bc".into())].into();
    assert_ne!(content_hash(&x, &[]), content_hash(&y, &[]));
}

#[test]
fn diff_ignores_hubspot_echo_formats() {
    let new: BTreeMap<String, String> = [
        ("n", "17"),
        ("d", "2024-01-02"),
        ("t", "2024-01-02T03:04:05.000Z"),
        ("s", "new"),
        ("e", "x"),
    ]
    .iter()
    .map(|(k, v)| ((*k).into(), (*v).into()))
    .collect();
    let cur: BTreeMap<String, Option<String>> = [
        ("n", Some("17.0")),
        ("d", Some("2024-01-02T00:00:00.000Z")),
        ("t", Some("2024-01-02T03:04:05Z")),
        ("s", Some("old")),
        ("e", None),
    ]
    .iter()
    .map(|(k, v)| ((*k).into(), v.map(Into::into)))
    .collect();
    let changes: Vec<String> = diff(&new, &cur).into_iter().map(|c| c.property).collect();
    assert_eq!(changes, vec!["e", "s"]);
}

#[test]
fn a_linked_contact_sends_only_what_moved_from_its_base() {
    let props = contact_props();
    let section = contact_section();
    let c = contact(
        json!({"id": "c1", "emails": ["a@x.io"], "displayName": "Ada L.",
        "attributes": {"seniorityLevel": "Senior"}, "score": 3}),
    );
    let links = HashMap::from([("c1".to_owned(), link("c1", Some("7"), Some("old")))]);
    let plan = |bases: &HashMap<String, Base>, force: bool| {
        plan_contacts(
            &mut HashMap::new(),
            std::slice::from_ref(&c),
            Page {
                links: &links,
                bases,
                opts: PlanOptions { force },
                ..page(&section, &props)
            },
            &HashMap::new(),
        )
        .pop()
        .unwrap()
    };
    let agreed: Base = [
        ("email", "a@x.io"),
        ("gitmesh_display_name", "Ada"),
        ("gitmesh_seniority", "Senior"),
        ("gitmesh_score", "3"),
        (base::COMPANIES, ""),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let bases = HashMap::from([("c1".to_owned(), agreed.clone())]);
    let PushOp::Send(item) = plan(&bases, false) else {
        panic!("the renamed contact is sent")
    };
    assert_eq!(item.changed, Some(vec!["gitmesh_display_name".to_owned()]));
    let sent: Vec<String> = item.update_properties().into_keys().collect();
    assert_eq!(sent, ["gitmesh_display_name"]);
    // After the acknowledgement, the base holds what was sent.
    assert_eq!(
        item.agreed(false, false)
            .get("gitmesh_display_name")
            .map(String::as_str),
        Some("Ada L.")
    );
    // `--force` sends everything.
    let PushOp::Send(item) = plan(&bases, true) else {
        panic!("forced")
    };
    assert_eq!(item.changed, None);

    // Nothing moved: unchanged, whatever the old content hash says.
    let mut same = agreed.clone();
    same.insert("gitmesh_display_name".into(), "Ada L.".into());
    let bases = HashMap::from([("c1".to_owned(), same.clone())]);
    assert!(matches!(
        plan(&bases, false),
        PushOp::Unchanged { base: None, .. }
    ));
    // Only the associations changed: sent, with one property for the update.
    let mut moved = same.clone();
    moved.insert(base::COMPANIES.into(), "901".into());
    let bases = HashMap::from([("c1".to_owned(), moved)]);
    let PushOp::Send(item) = plan(&bases, false) else {
        panic!("the association change is sent")
    };
    assert_eq!(item.changed.as_ref().map(Vec::len), Some(1));

    // No base yet (a store from before it existed): a matching content hash makes the
    // values sent the base; another hash sends everything.
    let PushOp::Send(item) = plan(&HashMap::new(), false) else {
        panic!("no base, stale hash: sent")
    };
    assert_eq!(item.changed, None);
    let links = HashMap::from([(
        "c1".to_owned(),
        link("c1", Some("7"), Some(item.hash.as_str())),
    )]);
    let op = plan_contacts(
        &mut HashMap::new(),
        std::slice::from_ref(&c),
        Page {
            links: &links,
            ..page(&section, &props)
        },
        &HashMap::new(),
    )
    .pop()
    .unwrap();
    let PushOp::Unchanged { base: Some(b), .. } = op else {
        panic!("derived base: {op:?}")
    };
    assert_eq!(
        b.get("gitmesh_display_name").map(String::as_str),
        Some("Ada L.")
    );
    assert_eq!(b.get(base::COMPANIES).map(String::as_str), Some(""));
}

#[test]
fn a_pull_only_field_is_never_sent() {
    let props = contact_props();
    let mut section = contact_section();
    for (path, spec) in &mut section.fields {
        if path == "displayName" {
            *spec = serde_yaml::from_str("{property: gitmesh_display_name, push: never}").unwrap();
        }
    }
    let c = contact(json!({"id": "c1", "emails": ["a@x.io"], "displayName": "Ada"}));
    let PushOp::Send(item) = plan_contacts(
        &mut HashMap::new(),
        &[c],
        page(&section, &props),
        &HashMap::new(),
    )
    .pop()
    .unwrap() else {
        panic!("sent")
    };
    assert!(!item.properties.contains_key("gitmesh_display_name"));
}
