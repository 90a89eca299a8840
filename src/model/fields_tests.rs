//! The field tables against everything that must follow them: the records' get/set, the
//! mapping catalogue and the store's columns.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::*;
use crate::mapping::catalogue::{self, Unmappable};
use crate::mapping::EntitySection;
use crate::model::{Contact, Entity, Organization};

fn sample(f: &Field) -> Value {
    match (f.path, f.ty) {
        ("emails", _) => json!(["ada@example.org"]),
        ("organizations", _) => json!(["org-1"]),
        ("website", _) => json!("https://example.org"),
        (_, ValueType::List) => json!(["a", "b"]),
        (_, ValueType::Number) => json!(3.5),
        (_, ValueType::Datetime) => json!("2024-03-05T10:00:00Z"),
        (_, ValueType::Date) => json!("2024-03-05"),
        (_, ValueType::Bool) => json!(true),
        (_, ValueType::String) => json!("x"),
    }
}

/// Every field of the table can be set and read back by its path, and reading is stable.
fn round_trip<R: Default>(
    table: &[Field],
    get: impl Fn(&R, &str) -> Option<Value>,
    set: impl Fn(&mut R, &str, Value) -> Result<(), crate::model::FieldError>,
) {
    for f in table {
        let mut r = R::default();
        assert_eq!(
            get(&r, f.path),
            None,
            "{} is set on an empty record",
            f.path
        );
        set(&mut r, f.path, sample(f)).unwrap_or_else(|e| panic!("set {}: {e}", f.path));
        let read = get(&r, f.path).unwrap_or_else(|| panic!("{} reads back empty", f.path));
        set(&mut r, f.path, read.clone()).unwrap();
        assert_eq!(get(&r, f.path), Some(read), "{} is not stable", f.path);
    }
}

#[test]
fn every_field_of_the_tables_has_get_and_set() {
    round_trip::<Contact>(CONTACT_FIELDS, Contact::field, Contact::set_field);
    round_trip::<Organization>(
        ORGANIZATION_FIELDS,
        Organization::field,
        Organization::set_field,
    );
    // A path outside the table is refused.
    assert!(Contact::default()
        .set_field("nickname", json!("x"))
        .is_err());
    assert!(Organization::default()
        .set_field("nickname", json!("x"))
        .is_err());
}

#[test]
fn the_catalogue_is_the_table() {
    let section = EntitySection::default();
    for entity in Entity::ALL {
        let listed: Vec<String> = catalogue::fields(entity, &section)
            .into_iter()
            .map(|f| f.path)
            .filter(|p| !p.contains('.'))
            .collect();
        let mapped: Vec<&str> = of(entity)
            .iter()
            .filter(|f| matches!(f.role, Role::Mapped(_)))
            .map(|f| f.path)
            .collect();
        let mut a: Vec<&str> = listed.iter().map(String::as_str).collect();
        let mut b = mapped.clone();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(
            a, b,
            "{entity}: the catalogue lists other fields than the table"
        );
        for f in of(entity) {
            let found = catalogue::lookup(entity, &section, f.path);
            match f.role {
                Role::Mapped(dir) => {
                    let local = found.unwrap_or_else(|e| panic!("{}: {e:?}", f.path));
                    assert_eq!((local.ty, local.direction), (f.ty, dir), "{}", f.path);
                }
                Role::Reserved(why) => {
                    assert_eq!(found, Err(Unmappable::Reserved(why)), "{}", f.path);
                }
            }
        }
    }
}

fn snake(path: &str) -> String {
    let mut out = String::new();
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn the_store_has_a_column_for_every_field_and_no_field_without_one() {
    let store = crate::store::Store::open_in_memory().unwrap();
    // Columns that are not fields: the key, nested maps, and bookkeeping.
    let bookkeeping = [
        "id",
        "identities",
        "attributes",
        "updated_at",
        "edited_at",
        "name_norm",
        "domain",
    ];
    for (table, fields) in [
        ("contacts", CONTACT_FIELDS),
        ("organizations", ORGANIZATION_FIELDS),
    ] {
        let mut stmt = store
            .conn()
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap();
        let columns: BTreeSet<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let expected: BTreeSet<String> = fields.iter().map(|f| snake(f.path)).collect();
        let missing: Vec<_> = expected.difference(&columns).collect();
        assert!(missing.is_empty(), "{table} has no column for {missing:?}");
        let extra: Vec<_> = columns
            .iter()
            .filter(|c| !expected.contains(*c) && !bookkeeping.contains(&c.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "{table} has columns no field declares: {extra:?}"
        );
    }
}
