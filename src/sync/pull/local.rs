//! The local side of pull, one implementation per kind of record.

use std::collections::HashMap;

use anyhow::Result;

use super::read::Echo;
use crate::model::{normalize_email, Contact, Organization, Record};
use crate::store::rows::{RecordWriter, Rows};
use crate::store::{contacts, organizations, Link, Store};
use crate::sync::plan::{self as push_plan, PushOp};

/// The local side of one entity, as pull needs it: loading and finding records by their
/// matching key, how push would plan one, and writing inside a transaction.
pub(crate) trait Local: Record + Rows {
    fn load(store: &Store, id: &str) -> Result<Option<Self>> {
        crate::store::rows::get(store.conn(), id)
    }
    fn ids_by_key(store: &Store, key: &str) -> Result<Vec<String>>;
    fn keys(&self) -> Vec<String>;
    /// How push would plan this record, given its link (see [`super::plan`]).
    fn plan_push(&self, link: &Link, echo: &Echo<'_>) -> PushOp;
    /// Reads and writes records of this kind inside a transaction.
    type Writer<'c>: RecordWriter<Self>;
    fn writer(conn: &rusqlite::Connection) -> Result<Self::Writer<'_>>;
}

impl Local for Contact {
    type Writer<'c> = contacts::Writer<'c>;
    fn writer(conn: &rusqlite::Connection) -> Result<Self::Writer<'_>> {
        contacts::Writer::new(conn)
    }

    fn ids_by_key(store: &Store, key: &str) -> Result<Vec<String>> {
        contacts::ids_by_email(store.conn(), key)
    }
    fn keys(&self) -> Vec<String> {
        self.emails.iter().map(|e| normalize_email(e)).collect()
    }
    fn plan_push(&self, link: &Link, echo: &Echo<'_>) -> PushOp {
        echo.plan(self, link, |page| {
            push_plan::plan_contacts(
                &mut HashMap::new(),
                std::slice::from_ref(self),
                page,
                &echo.companies,
            )
        })
    }
}

impl Local for Organization {
    type Writer<'c> = organizations::Writer<'c>;
    fn writer(conn: &rusqlite::Connection) -> Result<Self::Writer<'_>> {
        Ok(organizations::Writer(conn))
    }

    fn ids_by_key(store: &Store, key: &str) -> Result<Vec<String>> {
        organizations::ids_by_name(store.conn(), key)
    }
    fn keys(&self) -> Vec<String> {
        self.name
            .as_deref()
            .map(crate::model::normalize_name)
            .into_iter()
            .collect()
    }
    fn plan_push(&self, link: &Link, echo: &Echo<'_>) -> PushOp {
        echo.plan(self, link, |page| {
            push_plan::plan_organizations(&mut HashMap::new(), std::slice::from_ref(self), page)
        })
    }
}
