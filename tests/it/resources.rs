//! Tests: the resource calls later commands build on (objects, search, properties, lists,
//! associations), against the sandbox over real HTTP, in both path styles.

use std::collections::BTreeMap;

use hubsync::hubspot::models::{
    AssociationInput, Filter, FilterGroup, ObjectInput, Operator, PropertyCreate, SearchRequest,
};
use hubsync::hubspot::objects::BatchWrite;
use hubsync::hubspot::paging::collect_all;
use hubsync::hubspot::ApiVersion;
use hubsync::hubspot::{
    associations, lists, objects, properties, search, Auth, Client, ObjectType, Secret,
};
use hubsync_sandbox::{Sandbox, SandboxConfig};

const TOKEN: &str = "pat-na1-resources";

fn setup(version: ApiVersion) -> (Sandbox, Client, tokio::runtime::Runtime) {
    let sb = Sandbox::start(SandboxConfig::unlimited().with_static_token(TOKEN)).expect("sandbox");
    let client = Client::new(&sb.url(), version, Auth::Static(Secret::new(TOKEN))).expect("client");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    (sb, client, rt)
}

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn upsert_input(email: &str, first: &str) -> ObjectInput {
    ObjectInput {
        id: Some(email.to_owned()),
        id_property: Some("email".to_owned()),
        properties: props(&[("email", email), ("firstname", first)]),
        object_write_trace_id: None,
        associations: None,
    }
}

#[test]
fn upsert_by_email_creates_then_updates() {
    let (sb, client, rt) = setup(ApiVersion::default());
    rt.block_on(async {
        let inputs = vec![upsert_input("ada@example.com", "Ada")];
        let BatchWrite::Done { results, .. } = objects::batch_write(
            &client,
            ObjectType::Contacts,
            objects::Write::Upsert,
            &inputs,
        )
        .await
        .expect("upsert") else {
            panic!("rejected");
        };
        assert_eq!(results[0].new, Some(true));
        let inputs = vec![upsert_input("ADA@example.com", "Augusta")];
        let BatchWrite::Done { results, .. } = objects::batch_write(
            &client,
            ObjectType::Contacts,
            objects::Write::Upsert,
            &inputs,
        )
        .await
        .expect("upsert") else {
            panic!("rejected");
        };
        assert_eq!(results[0].new, Some(false));
    });
    let c = sb.contact_by_email("ada@example.com").expect("in HubSpot");
    assert_eq!(c["properties"]["firstname"], "Augusta");
    assert_eq!(
        sb.count("POST", "/crm/objects/2026-03/contacts/batch/upsert"),
        2
    );
}

#[test]
fn batch_create_reports_bad_inputs_per_trace_id_or_rejects_the_batch() {
    let (sb, client, rt) = setup(ApiVersion::V3);
    rt.block_on(async {
        let good = |name: &str, trace: Option<&str>| ObjectInput {
            properties: props(&[("name", name), ("domain", "acme.io")]),
            object_write_trace_id: trace.map(str::to_owned),
            ..ObjectInput::default()
        };
        let bad = |trace: Option<&str>| ObjectInput {
            properties: props(&[("name", "Bad"), ("no_such_property", "x")]),
            object_write_trace_id: trace.map(str::to_owned),
            ..ObjectInput::default()
        };
        // Without trace ids one bad input fails the whole batch: split it.
        let r = objects::batch_write(
            &client,
            ObjectType::Companies,
            objects::Write::Create,
            &[good("Acme", None), bad(None)],
        )
        .await
        .expect("answer");
        let BatchWrite::Rejected(e) = r else {
            panic!("expected the batch to be rejected: {r:?}");
        };
        assert_eq!(e.status, 400);
        assert_eq!(e.category.as_deref(), Some("VALIDATION_ERROR"));

        // With a trace id on every input the good ones are written (207).
        let r = objects::batch_write(
            &client,
            ObjectType::Companies,
            objects::Write::Create,
            &[good("Acme", Some("0")), bad(Some("1"))],
        )
        .await
        .expect("answer");
        let BatchWrite::Done {
            status,
            results,
            errors,
        } = r
        else {
            panic!("expected 207");
        };
        assert_eq!(status, 207);
        assert_eq!(results.len(), 1);
        assert_eq!(errors[0].trace_ids(), vec!["1"]);
    });
    assert_eq!(
        sb.count("POST", "/crm/v3/objects/companies/batch/create"),
        2
    );
}

#[test]
fn pages_batch_reads_and_searches() {
    let (sb, client, rt) = setup(ApiVersion::default());
    let mut ids = Vec::new();
    for i in 0..130 {
        ids.push(
            sb.create_record(
                "contacts",
                &serde_json::json!({"email": format!("p{i:03}@example.com")}),
            )
            .expect("record"),
        );
    }
    rt.block_on(async {
        let all = collect_all(|after| {
            let client = &client;
            async move {
                objects::list_page(
                    client,
                    ObjectType::Contacts,
                    &["email".into()],
                    after.as_deref(),
                    50,
                )
                .await
            }
        })
        .await
        .expect("pages");
        assert_eq!(all.len(), 130);

        let wanted = vec![ids[3].clone(), "999999999".to_owned()];
        let r = objects::batch_read(
            &client,
            ObjectType::Contacts,
            &wanted,
            &["email".into()],
            None,
        )
        .await
        .expect("batch read");
        assert_eq!(r.results.len(), 1);
        assert_eq!(r.results[0].prop("email"), Some("p003@example.com"));
        assert_eq!(r.errors[0].ids(), vec!["999999999"]);

        let body = SearchRequest {
            filter_groups: vec![FilterGroup {
                filters: vec![Filter::new("email", Operator::Eq, "P007@example.com")],
            }],
            properties: vec!["email".into()],
            limit: 10,
            ..SearchRequest::default()
        };
        let r = search::search(&client, ObjectType::Contacts, &body)
            .await
            .expect("search");
        assert_eq!(r.total, 1);
        assert_eq!(r.results[0].id, ids[7]);
    });
    // Three pages of 50: the pager stopped when the cursor was absent.
    assert_eq!(sb.count("GET", "/crm/objects/2026-03/contacts"), 3);
}

#[test]
fn properties_are_listed_and_created() {
    let (sb, client, rt) = setup(ApiVersion::default());
    rt.block_on(async {
        let before = properties::list(&client, ObjectType::Contacts)
            .await
            .expect("properties");
        assert!(before
            .iter()
            .any(|p| p.name == "email" && p.kind == "string"));
        let created = properties::create(
            &client,
            ObjectType::Contacts,
            &PropertyCreate {
                name: "gitmesh_score".into(),
                label: "GitMesh score".into(),
                kind: "number".into(),
                field_type: "number".into(),
                group_name: "contactinformation".into(),
                description: None,
                options: Vec::new(),
            },
        )
        .await
        .expect("create");
        assert_eq!(created.name, "gitmesh_score");
        let after = properties::list(&client, ObjectType::Contacts)
            .await
            .expect("properties");
        assert!(after
            .iter()
            .any(|p| p.name == "gitmesh_score" && p.kind == "number"));
    });
    assert_eq!(sb.count("POST", "/crm/properties/2026-03/contacts"), 1);
}

#[test]
fn lists_and_memberships() {
    let (sb, client, rt) = setup(ApiVersion::V3);
    let a = sb
        .create_record("contacts", &serde_json::json!({"email": "a@example.com"}))
        .expect("record");
    let b = sb
        .create_record("contacts", &serde_json::json!({"email": "b@example.com"}))
        .expect("record");
    rt.block_on(async {
        let list = lists::create(&client, "Champions", "MANUAL")
            .await
            .expect("create");
        assert!(list.is_static());
        let found = lists::get_by_name(&client, "champions")
            .await
            .expect("by name");
        assert_eq!(found.map(|l| l.list_id), Some(list.list_id.clone()));
        assert!(lists::get_by_name(&client, "nope")
            .await
            .expect("by name")
            .is_none());

        let change = lists::change_members(
            &client,
            &list.list_id,
            lists::MembershipEdit::Add,
            &[a.clone(), b.clone(), "424242".into()],
        )
        .await
        .expect("add");
        assert_eq!(change.records_ids_added.len(), 2);
        assert_eq!(change.record_ids_missing, vec!["424242".to_owned()]);
        let mut members = lists::members(&client, &list.list_id)
            .await
            .expect("members");
        members.sort();
        let mut want = vec![a.clone(), b.clone()];
        want.sort();
        assert_eq!(members, want);
        lists::change_members(
            &client,
            &list.list_id,
            lists::MembershipEdit::Remove,
            std::slice::from_ref(&a),
        )
        .await
        .expect("remove");
        assert_eq!(
            lists::members(&client, &list.list_id)
                .await
                .expect("members"),
            vec![b.clone()]
        );
        let got = lists::get(&client, &list.list_id)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(got.name, "Champions");
        assert!(lists::get(&client, "987654").await.expect("get").is_none());
    });
    assert_eq!(sb.count("PUT", "/memberships/add"), 1);
}

#[test]
fn contacts_are_associated_to_companies() {
    let (sb, client, rt) = setup(ApiVersion::default());
    let contact = sb
        .create_record("contacts", &serde_json::json!({"email": "a@example.com"}))
        .expect("record");
    let company = sb
        .create_record(
            "companies",
            &serde_json::json!({"name": "Acme", "domain": "acme.io"}),
        )
        .expect("record");
    rt.block_on(async {
        let r = associations::associate_default(
            &client,
            ObjectType::Contacts,
            ObjectType::Companies,
            &[AssociationInput::new(&contact, &company)],
        )
        .await
        .expect("associate");
        assert_eq!(r.results.len(), 1);
    });
    let state = sb.state().to_string();
    assert!(state.contains(&contact) && state.contains(&company));
    assert_eq!(
        sb.count(
            "POST",
            "/crm/associations/2026-03/contacts/companies/batch/associate/default"
        ),
        1
    );
}

/// An `IN` search matching more than HubSpot's 10,000-result cap reads the first 10,000 and
/// stops before the page HubSpot would refuse with a 400; the values are chunked by count.
#[test]
fn an_in_search_stops_at_the_result_cap() {
    let (sb, client, rt) = setup(ApiVersion::default());
    let companies: Vec<serde_json::Value> = (0..10_050)
        .map(|i| serde_json::json!({"properties": {"name": format!("Co {i}"), "domain": "same.example"}}))
        .chain((0..150).map(|i| {
            serde_json::json!({"properties": {"name": format!("Other {i}"), "domain": format!("d{i}.example")}})
        }))
        .collect();
    sb.seed_json(&serde_json::json!({ "companies": companies }))
        .expect("seed");
    // 151 values: two IN queries (100 values at most each).
    let values: Vec<String> = std::iter::once("same.example".to_owned())
        .chain((0..150).map(|i| format!("d{i}.example")))
        .collect();
    let mut read = 0usize;
    rt.block_on(search::any_of(
        &client,
        ObjectType::Companies,
        "domain",
        &values,
        &["domain".to_owned()],
        2_400,
        |page| -> Result<(), hubsync::hubspot::Error> {
            read += page.len();
            Ok(())
        },
    ))
    .expect("no 400 past the cap");
    // The first query matches 10,149 (10,000 can be read); the second 51.
    assert_eq!(read, 10_000 + 51);
    let refused = sb
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/search") && r.status >= 400)
        .count();
    assert_eq!(refused, 0);
}
