//! The full read through both budgets, against the sandbox, with HubSpot changing under it.

use std::cell::{Cell, RefCell};

use hubsync_sandbox::{Sandbox, SandboxConfig};
use serde_json::json;

use super::{Half, Meet, Reader};
use crate::hubspot::secret::Secret;
use crate::hubspot::{ApiVersion, Auth, Client};
use crate::mapping::Entity;
use crate::sync::progress::{NoProgress, Progress};
use crate::sync::pull::stage::Stage;

const TOKEN: &str = "read-tests-token";

/// A progress display that edits HubSpot after the first page kept: it creates contacts
/// and archives some the read has not reached yet. It counts the records kept (a record kept
/// twice counts twice).
struct Meddler<'a> {
    sb: &'a Sandbox,
    unread: Vec<String>,
    pages: Cell<u32>,
    kept: Cell<u64>,
    created: RefCell<Vec<String>>,
}

impl Progress for Meddler<'_> {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, n: u64) {
        self.kept.set(self.kept.get() + n);
        self.pages.set(self.pages.get() + 1);
        if self.pages.get() != 1 {
            return;
        }
        for i in 0..3 {
            let id = self
                .sb
                .create_record(
                    "contacts",
                    &json!({"email": format!("new{i}@during.example")}),
                )
                .expect("create");
            self.created.borrow_mut().push(id);
        }
        for id in &self.unread {
            self.sb.archive("contacts", id).expect("archive");
        }
    }
    fn finish(&self) {}
}

/// Read every contact of `sb` as a full pull does: the ids staged.
fn full_read(sb: &Sandbox, progress: &dyn Progress) -> Vec<String> {
    let conn = rusqlite::Connection::open_in_memory().expect("db");
    let stage = Stage::new(&conn).expect("stage");
    let client =
        Client::new(&sb.url(), ApiVersion::V3, Auth::Static(Secret::new(TOKEN))).expect("client");
    let reader = Reader::new(&client, Entity::Contact, &[], progress, &stage);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(reader.read_all()).expect("read");
    let mut staged: Vec<String> = Vec::new();
    let mut cursor = super::super::stage::Cursor::default();
    loop {
        let page = stage.page(true, &mut cursor, 500).expect("page");
        if page.is_empty() {
            break;
        }
        staged.extend(page.into_iter().map(|r| r.id));
    }
    staged
}

#[test]
fn a_full_read_meets_in_the_middle_and_reads_each_record_once() {
    let sb = Sandbox::start(SandboxConfig::unlimited().with_static_token(TOKEN)).expect("start");
    let ids: Vec<String> = (0..2_000)
        .map(|i| {
            sb.create_record("contacts", &json!({"email": format!("c{i}@read.example")}))
                .expect("create")
        })
        .collect();
    // Archived once the read has begun: ids in the middle, which neither end reaches first.
    let unread = vec![ids[980].clone(), ids[1_020].clone()];
    let meddler = Meddler {
        sb: &sb,
        unread: unread.clone(),
        pages: Cell::new(0),
        kept: Cell::new(0),
        created: RefCell::new(Vec::new()),
    };
    let mut got = full_read(&sb, &meddler);
    let kept = meddler.kept.get();

    let mut want: Vec<String> = ids
        .iter()
        .filter(|id| !unread.contains(id))
        .cloned()
        .chain(meddler.created.borrow().iter().cloned())
        .collect();
    want.sort();
    got.sort();
    let missing: Vec<&String> = want.iter().filter(|id| !got.contains(id)).collect();
    let extra: Vec<&String> = got.iter().filter(|id| !want.contains(id)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "every live record, the new ones too, and no archived one: missing {missing:?}, extra {extra:?}"
    );
    assert_eq!(kept, want.len() as u64, "nothing read twice");
    // Both budgets did the work: lists of 100 from the bottom, searches of 200 from the top.
    let lists = sb.count("GET", "/objects/contacts");
    let searches = sb.count("POST", "/objects/contacts/search");
    assert!(
        lists >= 2 && searches >= 2,
        "{lists} lists, {searches} searches"
    );
    assert!(lists + searches <= 18, "{lists} lists, {searches} searches");
}

#[test]
fn a_small_full_read_leaves_the_ten_second_budget_alone() {
    let sb = Sandbox::start(SandboxConfig::unlimited().with_static_token(TOKEN)).expect("start");
    for i in 0..300 {
        sb.create_record("contacts", &json!({"email": format!("s{i}@read.example")}))
            .expect("create");
    }
    let staged = full_read(&sb, &NoProgress);
    assert_eq!(staged.len(), 300);
    assert_eq!(sb.count("GET", "/objects/contacts"), 0, "no list call");
    // Two descending pages, and the one for records created meanwhile.
    assert_eq!(sb.count("POST", "/objects/contacts/search"), 3);
}

#[test]
fn the_halves_meet_when_their_ranges_touch_or_one_runs_out() {
    let mut m = Meet::default();
    assert!(!m.met());
    m.low = Some(10);
    m.high = Some(12);
    assert!(!m.met(), "id 11 is unread");
    m.low = Some(11);
    assert!(m.met());
    let mut m = Meet {
        search: Half::Stalled,
        ..Meet::default()
    };
    assert!(!m.met() && m.list_goes_on() && !m.search_goes_on());
    m.list = Half::Exhausted;
    assert!(m.met() && !m.list_goes_on());
}

fn records(ids: &[u64]) -> Vec<crate::hubspot::models::SimplePublicObject> {
    ids.iter()
        .map(|id| serde_json::from_value(json!({"id": id.to_string()})).expect("record"))
        .collect()
}

fn ids_of(records: &[crate::hubspot::models::SimplePublicObject]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
}

#[test]
fn each_half_keeps_only_what_the_other_has_not_read() {
    use crate::hubspot::ObjectType;
    let o = ObjectType::Contacts;
    let mut m = Meet::default();
    let top = m
        .searched(records(&[90, 80, 70]), None, true, o)
        .expect("search");
    assert_eq!(ids_of(&top), ["90", "80", "70"]);
    assert_eq!((m.top, m.high), (Some(90), Some(70)));
    // A list page that reached into the search's range keeps only what lies below it.
    let low = m.listed(records(&[10, 20, 75]), true, o).expect("list");
    assert_eq!(ids_of(&low), ["10", "20"]);
    assert!(m.met());
    // And a search page that reached into the list's range.
    let mut m = Meet {
        low: Some(40),
        ..Meet::default()
    };
    let page = m.searched(records(&[60, 50, 40, 30]), Some(61), true, o);
    assert_eq!(ids_of(&page.expect("search")), ["60", "50"]);
    assert!(m.met());
}

#[test]
fn a_half_whose_pages_stop_moving_leaves_the_rest_to_the_other() {
    use crate::hubspot::ObjectType;
    let o = ObjectType::Contacts;
    let mut m = Meet::default();
    m.listed(records(&[1, 2]), true, o).expect("list");
    // The same page again (a server ignoring `after`): the list stops, the search goes on.
    let again = m.listed(records(&[1, 2]), true, o).expect("list");
    assert_eq!(m.list, Half::Stalled);
    assert!(m.search_goes_on() && !m.list_goes_on());
    assert!(again.len() == 2, "kept; the stage holds each record once");
    // A search ignoring its bound stalls too.
    let mut m = Meet::default();
    m.searched(records(&[9, 8]), None, true, o).expect("search");
    m.searched(records(&[9, 8]), Some(8), true, o)
        .expect("search");
    assert_eq!(m.search, Half::Stalled);
    assert!(m.list_goes_on());
    // An id that is not a number is an error, not a panic.
    let bad: Vec<crate::hubspot::models::SimplePublicObject> =
        vec![serde_json::from_value(json!({"id": "abc"})).expect("record")];
    assert!(m.listed(bad, true, o).is_err());
}
