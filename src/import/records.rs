//! Turning imported JSON objects into stored contacts and organizations.

use std::collections::BTreeMap;

use rusqlite::{Connection, Statement};
use serde_json::{Map, Value};

use super::{Problem, Sink, SinkCounts};
use crate::mapping::ValueType;
use crate::model::{coerce, describe, Contact, Organization};
use crate::store::{base, contacts, organizations, Entity};

/// What every record has in common: the id, checked once per import. The ids seen so far are
/// kept in a temporary table (not in memory, which would grow with the input).
struct Ids<'a> {
    seen: Statement<'a>,
    created: u64,
    updated: u64,
}

impl<'a> Ids<'a> {
    fn new(conn: &'a Connection) -> anyhow::Result<Self> {
        conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS import_ids (id TEXT PRIMARY KEY) WITHOUT ROWID;
             DELETE FROM temp.import_ids;",
        )?;
        Ok(Self {
            seen: conn.prepare("INSERT OR IGNORE INTO temp.import_ids (id) VALUES (?1)")?,
            created: 0,
            updated: 0,
        })
    }

    /// Take the record's id out of it; refuse a missing, non-string or repeated id.
    fn take(&mut self, obj: &mut Map<String, Value>, what: &str) -> Result<String, Problem> {
        let id = match obj.shift_remove("id") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return Err(format!("field `id`: missing; every {what} needs an id"))
            }
            Some(v) => {
                return Err(format!(
                    "field `id`: expected a string, got {}",
                    describe(&v)
                ))
            }
        };
        let new = self
            .seen
            .execute([&id])
            .map_err(|e| format!("cannot check the id \"{id}\": {e}"))?;
        if new == 0 {
            return Err(format!(
                "field `id`: \"{id}\" appears more than once in this import"
            ));
        }
        Ok(id)
    }

    fn count(&mut self, existed: bool) {
        if existed {
            self.updated += 1;
        } else {
            self.created += 1;
        }
    }
}

/// HubSpot's limit on a property value, in characters.
pub const MAX_VALUE_CHARS: usize = 65_536;

/// Refuse a string value HubSpot could never hold (named by its field path).
fn check_lengths(obj: &Map<String, Value>, prefix: &str) -> Result<(), Problem> {
    for (key, value) in obj {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            // Bytes bound characters from above: count only when it may matter.
            Value::String(s)
                if s.len() > MAX_VALUE_CHARS && s.chars().count() > MAX_VALUE_CHARS =>
            {
                return Err(format!(
                    "field `{path}`: {} characters; HubSpot property values hold at most {MAX_VALUE_CHARS}",
                    s.chars().count()
                ));
            }
            Value::Object(inner) => check_lengths(inner, &path)?,
            Value::Array(items) => {
                for item in items {
                    if let Value::String(s) = item {
                        if s.len() > MAX_VALUE_CHARS && s.chars().count() > MAX_VALUE_CHARS {
                            return Err(format!(
                                "field `{path}`: a value of {} characters; HubSpot property values hold at most {MAX_VALUE_CHARS}",
                                s.chars().count()
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn db(e: &anyhow::Error) -> Problem {
    format!("cannot write to the store: {e:#}")
}

/// Contacts: built-in fields typed by the model, declared attributes by the mapping file.
pub(crate) struct Contacts<'a> {
    writer: contacts::Writer<'a>,
    attributes: &'a BTreeMap<String, ValueType>,
    ids: Ids<'a>,
}

impl<'a> Contacts<'a> {
    pub(crate) fn new(
        conn: &'a Connection,
        attributes: &'a BTreeMap<String, ValueType>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            writer: contacts::Writer::new(conn)?,
            attributes,
            ids: Ids::new(conn)?,
        })
    }

    /// An attribute, checked against its declared type when the mapping file declares one.
    fn set_attribute(
        &self,
        contact: &mut Contact,
        name: &str,
        value: Value,
    ) -> Result<(), Problem> {
        let value = match self.attributes.get(name) {
            Some(ty) => coerce(*ty, value).map_err(|m| {
                format!("field `attributes.{name}`: {m} (declared `{ty}` in the mapping file)")
            })?,
            None => value,
        };
        contact
            .set_attribute(name, value)
            .map_err(|e| e.to_string())
    }
}

impl Sink for Contacts<'_> {
    fn record(&mut self, mut obj: Map<String, Value>) -> Result<(), Problem> {
        check_lengths(&obj, "")?;
        let id = self.ids.take(&mut obj, "contact")?;
        let previous = self.writer.get(&id).map_err(|e| db(&e))?;
        let mut contact = previous.clone().unwrap_or_else(|| Contact::new(id));
        let orgs_given = obj.contains_key("organizations");
        for (key, value) in obj {
            match (key.as_str(), value) {
                ("identities", Value::Object(fields)) => {
                    for (name, v) in fields {
                        contact.set_identity(&name, v).map_err(|e| e.to_string())?;
                    }
                }
                ("attributes", Value::Object(fields)) => {
                    for (name, v) in fields {
                        self.set_attribute(&mut contact, &name, v)?;
                    }
                }
                (parent @ ("identities" | "attributes"), v @ Value::Null) => {
                    contact.set_field(parent, v).map_err(|e| e.to_string())?;
                }
                (parent @ ("identities" | "attributes"), v) => {
                    return Err(format!(
                        "field `{parent}`: expected an object, got {}",
                        describe(&v)
                    ));
                }
                (path, v) => match path.strip_prefix("attributes.") {
                    // A dotted key at the top level (as CSV columns are written) works too.
                    Some(name) => self.set_attribute(&mut contact, name, v)?,
                    None => contact.set_field(path, v).map_err(|e| e.to_string())?,
                },
            }
        }
        if orgs_given {
            for org in &contact.organizations {
                if !self.writer.organization_exists(org).map_err(|e| db(&e))? {
                    return Err(format!(
                        "field `organizations`: no organization with id \"{org}\" in the store; import organizations first"
                    ));
                }
            }
        }
        self.writer
            .upsert(&contact, previous.as_ref())
            .map_err(|e| db(&e))?;
        if previous.as_ref().is_some_and(|p| *p != contact) {
            // A local edit: the `newest` conflict policy needs its time.
            base::touch_local_edit(self.writer.conn(), Entity::Contact, &contact.id)
                .map_err(|e| db(&e))?;
        }
        self.ids.count(previous.is_some());
        Ok(())
    }

    fn column_type(&self, path: &str) -> Result<Option<ValueType>, Problem> {
        if path == "id" {
            return Ok(Some(ValueType::String));
        }
        if let Some(name) = path.strip_prefix("attributes.") {
            if let Some(ty) = self.attributes.get(name) {
                return Ok(Some(*ty));
            }
            if !name.is_empty() && !name.contains('.') {
                // Undeclared attributes are text in CSV (there is no JSON type to keep).
                return Ok(Some(ValueType::String));
            }
        }
        if path == "identities" || path == "attributes" {
            return Err(format!(
                "use one column per entry, e.g. `{path}.{}`",
                if path == "identities" {
                    "github"
                } else {
                    "jobTitle"
                }
            ));
        }
        Contact::builtin_type(path).map(Some).ok_or_else(|| {
            "not a contact field (columns are field paths such as emails, displayName, identities.github, attributes.jobTitle, score, tags)".to_owned()
        })
    }
}

impl SinkCounts for Contacts<'_> {
    fn as_sink(&mut self) -> &mut dyn Sink {
        self
    }
    fn counts(&self) -> (u64, u64) {
        (self.ids.created, self.ids.updated)
    }
}

/// Organizations: every field typed by the model.
pub(crate) struct Organizations<'a> {
    conn: &'a Connection,
    ids: Ids<'a>,
}

impl<'a> Organizations<'a> {
    pub(crate) fn new(conn: &'a Connection) -> anyhow::Result<Self> {
        Ok(Self {
            conn,
            ids: Ids::new(conn)?,
        })
    }
}

impl Sink for Organizations<'_> {
    fn record(&mut self, mut obj: Map<String, Value>) -> Result<(), Problem> {
        check_lengths(&obj, "")?;
        let id = self.ids.take(&mut obj, "organization")?;
        let existing = organizations::get(self.conn, &id).map_err(|e| db(&e))?;
        let existed = existing.is_some();
        let mut org = existing.clone().unwrap_or_else(|| Organization::new(id));
        for (key, value) in obj {
            org.set_field(&key, value).map_err(|e| e.to_string())?;
        }
        organizations::upsert(self.conn, &org).map_err(|e| db(&e))?;
        if existing.is_some_and(|p| p != org) {
            base::touch_local_edit(self.conn, Entity::Organization, &org.id).map_err(|e| db(&e))?;
        }
        self.ids.count(existed);
        Ok(())
    }

    fn column_type(&self, path: &str) -> Result<Option<ValueType>, Problem> {
        if path == "id" {
            return Ok(Some(ValueType::String));
        }
        Organization::builtin_type(path).map(Some).ok_or_else(|| {
            "not an organization field (columns are field paths such as name, website, employees, tags)".to_owned()
        })
    }
}

impl SinkCounts for Organizations<'_> {
    fn as_sink(&mut self) -> &mut dyn Sink {
        self
    }
    fn counts(&self) -> (u64, u64) {
        (self.ids.created, self.ids.updated)
    }
}
