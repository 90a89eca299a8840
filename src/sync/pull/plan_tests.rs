use super::*;
use crate::model::{Contact, Organization};
use serde_json::json;

fn prop(name: &str, type_: &str, field_type: &str) -> CachedProperty {
    serde_json::from_value(json!({"name": name, "type": type_, "fieldType": field_type})).unwrap()
}

fn field(path: &str, property: &str, ty: ValueType, policy: PullPolicy) -> PullField {
    let p = match ty {
        ValueType::Number => prop(property, "number", "number"),
        ValueType::Bool => prop(property, "bool", "booleancheckbox"),
        _ => prop(property, "string", "text"),
    };
    PullField {
        path: path.into(),
        ty,
        property: property.into(),
        policy,
        rule: Rule {
            pull: policy,
            push: crate::mapping::PushPolicy::Always,
            conflict: crate::mapping::ConflictPolicy::Hubspot,
        },
        prop: p,
    }
}

fn hs(id: &str, props: &[(&str, &str)]) -> SimplePublicObject {
    SimplePublicObject {
        id: id.into(),
        properties: props
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
            .collect(),
        created_at: None,
        updated_at: None,
        archived: false,
        properties_with_history: None,
        associations: None,
        new: None,
    }
}

fn contact(id: &str, emails: &[&str]) -> Contact {
    let mut c = Contact::new(id);
    c.emails = emails.iter().map(|e| (*e).to_owned()).collect();
    c
}

fn contacts_index(cs: Vec<Contact>, links: &[(&str, &str)]) -> LocalIndex<Contact> {
    let mut idx = LocalIndex::default();
    for c in cs {
        for e in &c.emails {
            idx.by_key
                .entry(normalize_email(e))
                .or_insert_with(Vec::new)
                .push(c.id.clone());
        }
        idx.records.insert(c.id.clone(), c);
    }
    for (l, h) in links {
        idx.links.insert((*h).to_owned(), (*l).to_owned());
        idx.linked.insert((*l).to_owned(), (*h).to_owned());
    }
    idx
}

fn orgs_index(os: Vec<Organization>) -> LocalIndex<Organization> {
    let mut idx = LocalIndex::default();
    for o in os {
        if let Some(n) = &o.name {
            idx.by_key
                .entry(normalize_name(n))
                .or_insert_with(Vec::new)
                .push(o.id.clone());
        }
        idx.records.insert(o.id.clone(), o);
    }
    idx
}

fn display() -> Vec<PullField> {
    vec![field(
        "displayName",
        "dn",
        ValueType::String,
        PullPolicy::Overwrite,
    )]
}

/// (local id, HubSpot id, how, relinked) of each match.
fn matched<L>(p: &Plan<L>) -> Vec<(&str, &str, Via, bool)> {
    p.matches
        .iter()
        .map(|m| (m.local_id.as_str(), m.hubspot_id.as_str(), m.via, m.relink))
        .collect()
}

#[test]
fn contacts_match_by_any_email_ignoring_case_and_by_additional_emails() {
    let idx = contacts_index(
        vec![
            contact("a", &["ada@example.com"]),
            contact("g", &["old@x.org", "grace.hopper@example.org"]),
        ],
        &[],
    );
    let recs = [
        hs("1", &[("email", " ADA@Example.com "), ("dn", "Ada")]),
        hs(
            "2",
            &[
                ("email", "grace@initech.com"),
                ("hs_additional_emails", "x@y.z;Grace.Hopper@example.org"),
                ("dn", "Grace"),
            ],
        ),
        hs("3", &[("email", "nobody@example.com"), ("dn", "Nobody")]),
    ];
    let p = plan(Entity::Contact, &display(), &recs, &[], &idx);
    assert_eq!(
        matched(&p),
        [("a", "1", Via::Key, true), ("g", "2", Via::Key, true)]
    );
    assert_eq!(p.unmatched, ["3"]);
    assert!(p.conflicts.is_empty());
    assert_eq!(p.matches[0].changes[0].new, json!("Ada"));
}

#[test]
fn two_local_contacts_sharing_an_email_conflict_and_nothing_is_touched() {
    let idx = contacts_index(
        vec![
            contact("a", &["same@example.com"]),
            contact("b", &["Same@example.com"]),
        ],
        &[],
    );
    let p = plan(
        Entity::Contact,
        &display(),
        &[hs("1", &[("email", "same@example.com"), ("dn", "X")])],
        &[],
        &idx,
    );
    assert!(p.matches.is_empty());
    assert_eq!(p.conflicts.len(), 1);
    assert_eq!(p.conflicts[0].local_ids, ["a", "b"]);
    assert_eq!(p.conflicts[0].hubspot_ids, ["1"]);
}

#[test]
fn one_local_contact_claimed_by_two_hubspot_contacts_is_a_conflict() {
    let idx = contacts_index(vec![contact("a", &["one@x.io", "two@x.io"])], &[]);
    let p = plan(
        Entity::Contact,
        &display(),
        &[hs("1", &[("email", "one@x.io"), ("dn", "One")])],
        &[hs("2", &[("email", "two@x.io")])],
        &idx,
    );
    assert!(p.matches.is_empty());
    assert_eq!(p.conflicts[0].hubspot_ids, ["1", "2"]);
}

#[test]
fn a_stored_link_wins_and_a_merge_moves_it_to_the_survivor() {
    let idx = contacts_index(
        vec![contact("a", &["a@x.io"]), contact("b", &["b@x.io"])],
        &[("a", "10"), ("b", "20")],
    );
    let recs = [
        // Linked to a, e-mail changed in HubSpot: still a.
        hs("10", &[("email", "changed@x.io"), ("dn", "A")]),
        // 20 was merged into 30.
        hs(
            "30",
            &[
                ("email", "b@x.io"),
                ("hs_merged_object_ids", "20"),
                ("dn", "B"),
            ],
        ),
    ];
    let p = plan(Entity::Contact, &display(), &recs, &[], &idx);
    assert_eq!(
        matched(&p),
        [("a", "10", Via::Link, false), ("b", "30", Via::Merge, true)]
    );
}

#[test]
fn a_key_match_on_a_record_linked_elsewhere_is_a_conflict() {
    let idx = contacts_index(vec![contact("a", &["a@x.io"])], &[("a", "10")]);
    let p = plan(
        Entity::Contact,
        &display(),
        &[hs("11", &[("email", "a@x.io"), ("dn", "A2")])],
        &[],
        &idx,
    );
    assert!(p.matches.is_empty());
    assert!(p.conflicts[0]
        .message
        .contains("linked to HubSpot contact 10"));
}

#[test]
fn organizations_match_normalised_names_and_duplicates_on_either_side_conflict() {
    let mut acme = Organization::new("o1");
    acme.name = Some("Acme   Robotics".into());
    let mut ini = Organization::new("o2");
    ini.name = Some("Initech".into());
    let mut ini2 = Organization::new("o3");
    ini2.name = Some(" initech ".into());
    let mut glob = Organization::new("o4");
    glob.name = Some("Globex".into());
    let idx = orgs_index(vec![acme, ini, ini2, glob]);
    let f = [field(
        "description",
        "description",
        ValueType::String,
        PullPolicy::Overwrite,
    )];
    let recs = [
        hs(
            "1",
            &[("name", "ACME robotics "), ("description", "Robots")],
        ),
        hs("2", &[("name", "Initech"), ("description", "TPS")]),
        hs("3", &[("name", "Globex"), ("description", "G1")]),
        hs("4", &[("name", "globex"), ("description", "G2")]),
    ];
    let p = plan(Entity::Organization, &f, &recs, &[], &idx);
    assert_eq!(p.matches.len(), 1);
    assert_eq!(
        (
            p.matches[0].local_id.as_str(),
            p.matches[0].hubspot_id.as_str()
        ),
        ("o1", "1")
    );
    assert_eq!(p.conflicts.len(), 2, "{:?}", p.conflicts);
    let locals: Vec<&Vec<String>> = p.conflicts.iter().map(|c| &c.local_ids).collect();
    assert!(locals.contains(&&vec!["o2".to_owned(), "o3".to_owned()]));
    let hubspot: Vec<&Vec<String>> = p.conflicts.iter().map(|c| &c.hubspot_ids).collect();
    assert!(hubspot.contains(&&vec!["3".to_owned(), "4".to_owned()]));
}

#[test]
fn pull_policies_and_empty_values() {
    let mut c = contact("a", &["a@x.io"]);
    c.display_name = Some("Local".into());
    c.identities.insert("github".into(), "local-gh".into());
    let fields = [
        field(
            "displayName",
            "dn",
            ValueType::String,
            PullPolicy::Overwrite,
        ),
        field(
            "identities.github",
            "gh",
            ValueType::String,
            PullPolicy::FillEmpty,
        ),
        field(
            "attributes.jobTitle",
            "jt",
            ValueType::String,
            PullPolicy::FillEmpty,
        ),
        field(
            "identities.twitter",
            "tw",
            ValueType::String,
            PullPolicy::Overwrite,
        ),
        field(
            "attributes.level",
            "lv",
            ValueType::Number,
            PullPolicy::Overwrite,
        ),
    ];
    c.attributes.insert("level".into(), json!(3));
    type Case<'a> = (
        &'a [(&'a str, &'a str)],
        &'a [(&'a str, Option<Value>, Value)],
    );
    let cases: &[Case<'_>] = &[
        // Overwrite replaces; fill-empty fills only an empty field.
        (
            &[("dn", "Remote"), ("gh", "remote-gh"), ("jt", "CTO")],
            &[
                ("displayName", Some(json!("Local")), json!("Remote")),
                ("attributes.jobTitle", None, json!("CTO")),
            ],
        ),
        // Empty HubSpot values never erase.
        (&[("dn", ""), ("tw", "  ")], &[]),
        // Same value, different spelling of a number: unchanged.
        (&[("lv", "3"), ("dn", "Local")], &[]),
        (
            &[("lv", "4.5")],
            &[("attributes.level", Some(json!(3)), json!(4.5))],
        ),
    ];
    for (props, want) in cases {
        let FieldPlan {
            changes,
            updated,
            problems,
            ..
        } = field_changes(&fields, &hs("1", props), &c, &Base::new(), &|_| None);
        assert!(problems.is_empty(), "{problems:?}");
        let got: Vec<(&str, Option<Value>, Value)> = changes
            .iter()
            .map(|ch| (ch.field.as_str(), ch.old.clone(), ch.new.clone()))
            .collect();
        let want: Vec<(&str, Option<Value>, Value)> = want.to_vec();
        assert_eq!(got, want, "{props:?}");
        for ch in &changes {
            assert_eq!(updated.field(&ch.field), Some(ch.new.clone()));
        }
    }
    // A value that does not fit the field is reported and the field left alone.
    let FieldPlan {
        changes, problems, ..
    } = field_changes(
        &fields,
        &hs("1", &[("lv", "lots")]),
        &c,
        &Base::new(),
        &|_| None,
    );
    assert!(changes.is_empty());
    assert!(problems[0].contains("attributes.level"), "{problems:?}");
}
