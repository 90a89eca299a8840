//! Round trips of the store's smaller tables: automations, history, runs.

use std::collections::BTreeMap;

use serde_json::json;

use super::{automations, history, runs, Entity, Store};

/// `f` with a fresh in-memory store.
fn with_store(f: impl FnOnce(&rusqlite::Connection)) {
    let store = Store::open_in_memory().unwrap();
    f(store.conn());
}

#[test]
fn automations_round_trip() {
    with_store(|c| {
        let filters = vec!["score>=5".to_owned()];
        let id = automations::insert(
            c,
            &automations::NewAutomation {
                name: "champions",
                entity: Entity::Contact,
                match_all: true,
                filters: &filters,
                list_id: "12",
                list_name: "Champions",
                sync_contacts: false,
            },
        )
        .unwrap();
        let a = automations::get(c, "champions").unwrap().unwrap();
        assert_eq!((a.id, a.filters.clone(), a.paused), (id, filters, false));
        assert!(automations::set_paused(c, "champions", true).unwrap());
        assert!(automations::get(c, "champions").unwrap().unwrap().paused);
        automations::record_match(c, id, Entity::Contact, "c1").unwrap();
        assert!(automations::added(c, id, Entity::Contact)
            .unwrap()
            .is_empty());
        automations::record_added(c, id, Entity::Contact, "c1").unwrap();
        automations::record_added(c, id, Entity::Contact, "c2").unwrap();
        assert_eq!(automations::added(c, id, Entity::Contact).unwrap().len(), 2);
        assert!(automations::remove(c, "champions").unwrap());
        assert!(!automations::remove(c, "champions").unwrap());
        assert!(automations::all(c).unwrap().is_empty());
    });
}

#[test]
fn entries_round_trip_with_filters() {
    with_store(|c| {
        let run = runs::start(c, "pull", None).unwrap();
        history::record(
            c,
            run,
            Entity::Contact,
            "a",
            Some("7"),
            "displayName",
            None,
            Some(&json!("Ada")),
            None,
        )
        .unwrap();
        history::record(
            c,
            run,
            Entity::Organization,
            "o",
            Some("9"),
            "employees",
            Some(&json!(10)),
            Some(&json!(12)),
            None,
        )
        .unwrap();
        let all = history::list(c, &history::Filter::default()).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].old.clone(), all[0].new.clone()),
            (None, Some(json!("Ada")))
        );
        let orgs = history::list(
            c,
            &history::Filter {
                entity: Some(Entity::Organization),
                ..history::Filter::default()
            },
        )
        .unwrap();
        assert_eq!(orgs[0].old, Some(json!(10)));
        assert_eq!(
            history::changed_since(c, Entity::Contact, "a", "displayName", all[0].row_id).unwrap(),
            None
        );
        history::mark_undone(c, all[0].row_id, run).unwrap();
        assert_eq!(
            history::list(c, &history::Filter::default()).unwrap()[0].undone_by,
            Some(run)
        );
    });
}

#[test]
fn runs_failures_and_checkpoints_round_trip() {
    with_store(|c| {
        let id = runs::start(c, "push", None).unwrap();
        runs::record_failure(c, Entity::Contact, "c1", "push", "bad option", id).unwrap();
        runs::record_failure(c, Entity::Contact, "c1", "push", "still bad", id).unwrap();
        let f = runs::failures(c).unwrap();
        assert_eq!(
            (f.len(), f[0].attempts, f[0].error.as_str()),
            (1, 2, "still bad")
        );
        assert_eq!(
            runs::failed_ids(c, Entity::Contact, "push").unwrap(),
            vec!["c1"]
        );
        runs::clear_failure(c, Entity::Contact, "c1", "push").unwrap();
        assert!(runs::failures(c).unwrap().is_empty());
        let mut counts = BTreeMap::new();
        counts.insert("created".to_owned(), 3);
        runs::finish(c, id, "ok", &counts, None).unwrap();
        let last = runs::last_finished(c, "push", &["ok"]).unwrap().unwrap();
        assert_eq!((last.id, last.counts["created"].as_u64()), (id, Some(3)));
        assert!(runs::last_finished(c, "pull", &["ok"]).unwrap().is_none());
        runs::set_checkpoint(c, "pull", "contacts", "1", id).unwrap();
        runs::set_checkpoint(c, "pull", "contacts", "2", id).unwrap();
        assert_eq!(
            runs::checkpoint(c, "pull", "contacts").unwrap().as_deref(),
            Some("2")
        );
        runs::clear_checkpoint(c, "pull", "contacts").unwrap();
        assert_eq!(runs::checkpoint(c, "pull", "contacts").unwrap(), None);
    });
}

#[test]
fn a_selection_is_numbered_linked_first_and_paged_from_its_table() {
    use super::{links, selection, Mark};
    with_store(|c| {
        // Linked: l1, l2 (marked); unlinked: a, b (marked); f failed last time; n named.
        for id in ["l1", "l2"] {
            links::record_push(
                c,
                Entity::Contact,
                id,
                &format!("hs-{id}"),
                "h",
                &Mark::Manual,
            )
            .unwrap();
        }
        for id in ["a", "b"] {
            links::mark(c, Entity::Contact, id, &Mark::Manual).unwrap();
        }
        let run = runs::start(c, "push", None).unwrap();
        runs::record_failure(c, Entity::Contact, "f", "push", "bad", run).unwrap();
        selection::reset(c).unwrap();
        selection::add(c, Entity::Contact, ["n", "a"]).unwrap();
        selection::add_marked_and_failed(c, Entity::Contact, "push").unwrap();
        assert_eq!(selection::number(c, Entity::Contact).unwrap(), 6);
        let (first, last) = selection::page(c, Entity::Contact, 0, 4).unwrap();
        assert_eq!(first, ["l1", "l2", "a", "b"]);
        let (rest, _) = selection::page(c, Entity::Contact, last, 4).unwrap();
        assert_eq!(rest, ["f", "n"]);
        // Keys planned on one page are seen by the next.
        let planned: std::collections::HashMap<String, String> =
            [("ada@x.io".to_owned(), "a".to_owned())].into();
        selection::remember_keys(c, Entity::Contact, &planned).unwrap();
        let seen = selection::keys_seen(c, Entity::Contact, ["ada@x.io", "bob@x.io"]).unwrap();
        assert_eq!(seen, planned);
        // What one push reports, the next of the run knows; a new selection keeps it.
        selection::reset_reported(c).unwrap();
        selection::report_all(c).unwrap();
        selection::reset(c).unwrap();
        assert!(selection::reported(c, Entity::Contact, "f").unwrap());
        assert!(!selection::reported(c, Entity::Organization, "f").unwrap());
        assert!(selection::keys_seen(c, Entity::Contact, ["ada@x.io"])
            .unwrap()
            .is_empty());
    });
}
