//! What the sandbox HubSpot holds: records, properties, lists, associations, tokens.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{json, Map, Value};

use super::config::SandboxConfig;
use super::limits::Limits;
use super::properties::{self, Property};
use super::LoggedRequest;

/// Contacts or companies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectType {
    Contacts,
    Companies,
}

impl ObjectType {
    /// Accepts the names HubSpot accepts in paths: `contacts`, `contact`, `0-1`, ...
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "contacts" | "contact" | "0-1" => Some(Self::Contacts),
            "companies" | "company" | "0-2" => Some(Self::Companies),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Companies => "companies",
        }
    }

    pub fn type_id(self) -> &'static str {
        match self {
            Self::Contacts => "0-1",
            Self::Companies => "0-2",
        }
    }

    /// `CONTACT` / `COMPANY`, as in HubSpot's messages.
    pub fn upper(self) -> &'static str {
        match self {
            Self::Contacts => "CONTACT",
            Self::Companies => "COMPANY",
        }
    }

    pub fn lastmodified(self) -> &'static str {
        match self {
            Self::Contacts => "lastmodifieddate",
            Self::Companies => "hs_lastmodifieddate",
        }
    }

    /// Properties returned when a read names none.
    pub fn default_properties(self) -> &'static [&'static str] {
        match self {
            Self::Contacts => &[
                "createdate",
                "email",
                "firstname",
                "hs_object_id",
                "lastmodifieddate",
                "lastname",
            ],
            Self::Companies => &[
                "createdate",
                "domain",
                "hs_lastmodifieddate",
                "hs_object_id",
                "name",
            ],
        }
    }

    /// Properties always returned, whatever was asked.
    pub fn always_properties(self) -> &'static [&'static str] {
        match self {
            Self::Contacts => &["createdate", "hs_object_id", "lastmodifieddate"],
            Self::Companies => &["createdate", "hs_object_id", "hs_lastmodifieddate"],
        }
    }

    pub fn index(self) -> usize {
        match self {
            Self::Contacts => 0,
            Self::Companies => 1,
        }
    }
}

/// ISO 8601 with milliseconds and `Z`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// One contact or company.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: u64,
    pub props: HashMap<String, String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    /// Set when this record was merged into another one (it is then archived).
    pub merged_into: Option<u64>,
    /// When each property last changed value, for `propertiesWithHistory`; a property not
    /// here has had its value since the record was created.
    pub changed: HashMap<String, DateTime<Utc>>,
}

impl Record {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.props
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn is_live(&self) -> bool {
        self.archived_at.is_none()
    }

    /// `propertiesWithHistory` for `names`: each property's versions, newest first. Only the
    /// current version is kept here (what hubsync reads: its value and when it was set); a
    /// property without a value has no versions.
    pub fn history_json(&self, names: &[String]) -> Value {
        let mut out = Map::new();
        for n in names {
            let versions = match self.get(n) {
                Some(v) => vec![json!({
                    "value": v,
                    "timestamp": iso(self.changed.get(n).copied().unwrap_or(self.created)),
                    "sourceType": "API",
                })],
                None => Vec::new(),
            };
            out.insert(n.clone(), Value::Array(versions));
        }
        Value::Object(out)
    }

    /// Every e-mail that identifies this contact: primary and additional, lowercased.
    pub fn emails(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(e) = self.get("email") {
            out.push(e.trim().to_lowercase());
        }
        if let Some(extra) = self.get("hs_additional_emails") {
            out.extend(
                extra
                    .split(';')
                    .map(|e| e.trim().to_lowercase())
                    .filter(|e| !e.is_empty()),
            );
        }
        out
    }

    /// The API form. `names`: the properties asked for (`None` = the defaults).
    pub fn to_json(
        &self,
        object: ObjectType,
        defs: &PropertySet,
        names: Option<&[String]>,
    ) -> Value {
        let mut props = Map::new();
        let mut put = |name: &str| {
            if props.contains_key(name) {
                return;
            }
            match self.get(name) {
                Some(v) => {
                    props.insert(name.to_string(), Value::String(v.to_string()));
                }
                None if defs.get(name).is_some() => {
                    props.insert(name.to_string(), Value::Null);
                }
                None => {}
            }
        };
        match names {
            Some(names) if !names.is_empty() => {
                for n in names {
                    put(n);
                }
                for n in object.always_properties() {
                    put(n);
                }
            }
            _ => {
                for n in object.default_properties() {
                    put(n);
                }
            }
        }
        let mut v = json!({
            "id": self.id.to_string(),
            "properties": props,
            "createdAt": iso(self.created),
            "updatedAt": iso(self.updated),
            "archived": self.archived_at.is_some(),
        });
        if let (Some(at), Some(map)) = (self.archived_at, v.as_object_mut()) {
            map.insert("archivedAt".into(), Value::String(iso(at)));
        }
        v
    }

    /// Every property with a value (for write answers and the state dump).
    pub fn all_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .props
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        names.sort();
        names
    }
}

/// The property definitions of one object type.
#[derive(Debug, Default)]
pub struct PropertySet {
    pub list: Vec<Property>,
    pub by_name: HashMap<String, usize>,
}

impl PropertySet {
    pub fn get(&self, name: &str) -> Option<&Property> {
        self.by_name.get(name).map(|&i| &self.list[i])
    }

    pub fn add(&mut self, p: Property) {
        self.by_name.insert(p.name.clone(), self.list.len());
        self.list.push(p);
    }
}

/// The records of one object type.
#[derive(Debug, Default)]
pub struct Store {
    pub records: BTreeMap<u64, Record>,
    /// Live contacts by lowercased e-mail (primary and additional).
    pub email_index: HashMap<String, u64>,
}

impl Store {
    /// The live record with this id, following merges to the surviving record.
    pub fn resolve(&self, id: u64) -> Option<&Record> {
        let mut r = self.records.get(&id)?;
        for _ in 0..16 {
            match r.merged_into {
                Some(next) => r = self.records.get(&next)?,
                None => break,
            }
        }
        r.is_live().then_some(r)
    }

    pub fn by_email(&self, email: &str) -> Option<u64> {
        self.email_index.get(&email.trim().to_lowercase()).copied()
    }

    pub fn reindex(&mut self, id: u64, old: &[String]) {
        for e in old {
            if self.email_index.get(e) == Some(&id) {
                self.email_index.remove(e);
            }
        }
        if let Some(r) = self.records.get(&id) {
            if r.is_live() {
                for e in r.emails() {
                    self.email_index.insert(e, id);
                }
            }
        }
    }
}

/// A contact list.
#[derive(Debug, Clone)]
pub struct List {
    pub id: u64,
    pub name: String,
    pub object: ObjectType,
    pub processing_type: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub filter_branch: Option<Value>,
    /// Members by record id, with when they were added.
    pub members: BTreeMap<u64, DateTime<Utc>>,
}

impl List {
    pub fn to_json(&self, portal_user: u64) -> Value {
        json!({
            "listId": self.id.to_string(),
            "listVersion": 1,
            "name": self.name,
            "objectTypeId": self.object.type_id(),
            "processingType": self.processing_type,
            "processingStatus": "COMPLETE",
            "createdAt": iso(self.created),
            "updatedAt": iso(self.updated),
            "filtersUpdatedAt": iso(self.created),
            "createdById": portal_user.to_string(),
            "updatedById": portal_user.to_string(),
            "size": self.members.len(),
            "additionalProperties": {
                "hs_list_size": self.members.len().to_string(),
                "hs_last_record_added_at": self.members.values().max().map(|t| iso(*t)),
            },
            "filterBranch": self.filter_branch,
        })
    }
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub scopes: Vec<String>,
    pub expires: DateTime<Utc>,
    /// The refresh token it came from (`None` for static tokens).
    pub refresh: Option<String>,
    pub user_id: u64,
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub scopes: Vec<String>,
    pub user_id: u64,
}

#[derive(Debug, Clone)]
pub struct AuthCode {
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub expires: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct Tokens {
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, RefreshToken>,
    pub codes: HashMap<String, AuthCode>,
    /// Static tokens never expire.
    pub statics: HashMap<String, Vec<String>>,
}

/// Cached ordered search matches, keyed by the query without paging.
#[derive(Debug, Default)]
pub struct SearchCache {
    pub entries: Vec<(String, u64, std::sync::Arc<Vec<u64>>)>,
}

/// Everything behind the sandbox's lock.
pub struct Inner {
    pub cfg: SandboxConfig,
    pub rng: StdRng,
    pub next_id: u64,
    pub stores: [Store; 2],
    pub props: [PropertySet; 2],
    /// Property groups created through the API (groups of existing properties exist too).
    pub groups: [BTreeSet<String>; 2],
    pub lists: BTreeMap<u64, List>,
    pub next_list_id: u64,
    /// contact id → company ids (type 279 both ways: 279 contact→company, 280 company→contact).
    pub contact_companies: HashMap<u64, BTreeSet<u64>>,
    pub company_contacts: HashMap<u64, BTreeSet<u64>>,
    pub tokens: Tokens,
    pub limits: Limits,
    pub log: Vec<LoggedRequest>,
    pub search_cache: SearchCache,
    /// Bumped on every write; search cache entries from older generations are stale.
    pub generation: u64,
    /// The last timestamp handed out, so `lastmodifieddate` never goes backwards or repeats.
    pub last_now: DateTime<Utc>,
    /// Batch upsert inputs applied per key (lowercased `id`): how often a client wrote each
    /// record, which a test can check beyond what the sandbox ends up holding.
    pub upserts_applied: HashMap<String, u32>,
}

impl Inner {
    pub fn new(cfg: SandboxConfig) -> Self {
        let now = Utc::now();
        let mut props: [PropertySet; 2] = Default::default();
        for object in [ObjectType::Contacts, ObjectType::Companies] {
            for p in properties::defaults(object, now) {
                props[object.index()].add(p);
            }
        }
        let mut tokens = Tokens::default();
        for (t, scopes) in &cfg.static_tokens {
            tokens.statics.insert(t.clone(), scopes.clone());
        }
        let limits = Limits::new(&cfg);
        Self {
            rng: StdRng::seed_from_u64(cfg.seed),
            cfg,
            next_id: 1001,
            stores: Default::default(),
            props,
            groups: Default::default(),
            lists: BTreeMap::new(),
            next_list_id: 1,
            contact_companies: HashMap::new(),
            company_contacts: HashMap::new(),
            tokens,
            limits,
            log: Vec::new(),
            search_cache: SearchCache::default(),
            generation: 0,
            last_now: now,
            upserts_applied: HashMap::new(),
        }
    }

    /// Now, in whole milliseconds, never before a timestamp handed out earlier. Writes in the
    /// same millisecond share it, as records of one HubSpot batch do.
    pub fn now(&mut self) -> DateTime<Utc> {
        let now = Utc::now();
        let ms = chrono::TimeZone::timestamp_millis_opt(&Utc, now.timestamp_millis())
            .single()
            .unwrap_or(now);
        self.last_now = self.last_now.max(ms);
        self.last_now
    }

    pub fn store(&self, o: ObjectType) -> &Store {
        &self.stores[o.index()]
    }

    pub fn store_mut(&mut self, o: ObjectType) -> &mut Store {
        &mut self.stores[o.index()]
    }

    pub fn defs(&self, o: ObjectType) -> &PropertySet {
        &self.props[o.index()]
    }

    pub fn random_token(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| char::from(CHARS[self.rng.gen_range(0..CHARS.len())]))
            .collect()
    }

    /// Creates a record with already-validated values. Returns its id.
    pub fn create_record(
        &mut self,
        o: ObjectType,
        values: HashMap<String, String>,
        id: Option<u64>,
    ) -> u64 {
        let id = id.unwrap_or(self.next_id);
        self.next_id = self.next_id.max(id + 1);
        let now = self.now();
        let mut props = values;
        props.retain(|_, v| !v.is_empty());
        props.insert("hs_object_id".into(), id.to_string());
        props.insert("createdate".into(), iso(now));
        props.insert(o.lastmodified().into(), iso(now));
        let record = Record {
            id,
            props,
            created: now,
            updated: now,
            archived_at: None,
            merged_into: None,
            changed: HashMap::new(),
        };
        let store = self.store_mut(o);
        store.records.insert(id, record);
        if o == ObjectType::Contacts {
            store.reindex(id, &[]);
        }
        self.generation += 1;
        id
    }

    /// Writes already-validated values to a live record and bumps its modification date.
    pub fn update_record(&mut self, o: ObjectType, id: u64, values: HashMap<String, String>) {
        let now = self.now();
        let store = self.store_mut(o);
        let Some(r) = store.records.get_mut(&id) else {
            return;
        };
        let old = r.emails();
        for (k, v) in values {
            if r.props.get(&k).map_or(v.is_empty(), |old| *old == v) {
                continue;
            }
            r.changed.insert(k.clone(), now);
            if v.is_empty() {
                r.props.remove(&k);
            } else {
                r.props.insert(k, v);
            }
        }
        r.updated = now;
        r.props.insert(o.lastmodified().into(), iso(now));
        if o == ObjectType::Contacts {
            store.reindex(id, &old);
        }
        self.generation += 1;
    }

    pub fn archive_record(&mut self, o: ObjectType, id: u64) -> bool {
        let now = self.now();
        let store = self.store_mut(o);
        let Some(r) = store.records.get_mut(&id) else {
            return false;
        };
        if !r.is_live() {
            return false;
        }
        let old = r.emails();
        r.archived_at = Some(now);
        store.reindex(id, &old);
        for list in self.lists.values_mut() {
            if list.object == o {
                list.members.remove(&id);
            }
        }
        self.generation += 1;
        true
    }

    /// Merges `secondary` into `primary`, as a user merging two records in HubSpot would:
    /// the secondary's id and e-mail now lead to the primary.
    pub fn merge_records(&mut self, o: ObjectType, primary: u64, secondary: u64) -> bool {
        if primary == secondary {
            return false;
        }
        let (Some(p), Some(s)) = (
            self.store(o).resolve(primary).cloned(),
            self.store(o).resolve(secondary).cloned(),
        ) else {
            return false;
        };
        let now = self.now();
        let store = self.store_mut(o);
        let s_emails = s.emails();
        if let Some(r) = store.records.get_mut(&s.id) {
            r.archived_at = Some(now);
            r.merged_into = Some(p.id);
        }
        store.reindex(s.id, &s_emails);
        let old = p.emails();
        if let Some(r) = store.records.get_mut(&p.id) {
            let mut merged: Vec<String> = r
                .get("hs_merged_object_ids")
                .map(|v| v.split(';').map(str::to_string).collect())
                .unwrap_or_default();
            merged.push(s.id.to_string());
            r.props
                .insert("hs_merged_object_ids".into(), merged.join(";"));
            if o == ObjectType::Contacts {
                let mut extra: Vec<String> = r
                    .get("hs_additional_emails")
                    .map(|v| v.split(';').map(str::to_string).collect())
                    .unwrap_or_default();
                extra.extend(s_emails);
                r.props
                    .insert("hs_additional_emails".into(), extra.join(";"));
            }
            for (k, v) in &s.props {
                if !r.props.contains_key(k) && !v.is_empty() {
                    r.props.insert(k.clone(), v.clone());
                    r.changed.insert(k.clone(), now);
                }
            }
            r.props.insert("hs_object_id".into(), p.id.to_string());
            r.updated = now;
            r.props.insert(o.lastmodified().into(), iso(now));
        }
        store.reindex(p.id, &old);
        // Memberships and associations move to the survivor.
        for list in self.lists.values_mut() {
            if list.object == o {
                if let Some(t) = list.members.remove(&s.id) {
                    list.members.entry(p.id).or_insert(t);
                }
            }
        }
        let (from, to) = match o {
            ObjectType::Contacts => (&mut self.contact_companies, &mut self.company_contacts),
            ObjectType::Companies => (&mut self.company_contacts, &mut self.contact_companies),
        };
        if let Some(others) = from.remove(&s.id) {
            for other in &others {
                if let Some(back) = to.get_mut(other) {
                    back.remove(&s.id);
                    back.insert(p.id);
                }
            }
            from.entry(p.id).or_default().extend(others);
        }
        self.generation += 1;
        true
    }

    pub fn associate(&mut self, contact: u64, company: u64) {
        self.contact_companies
            .entry(contact)
            .or_default()
            .insert(company);
        self.company_contacts
            .entry(company)
            .or_default()
            .insert(contact);
        self.generation += 1;
    }

    /// What HubSpot holds, for tests and `GET /__sandbox/state`.
    pub fn dump(&self) -> Value {
        let records = |o: ObjectType| -> Vec<Value> {
            let defs = self.defs(o);
            self.store(o)
                .records
                .values()
                .map(|r| {
                    let mut v = r.to_json(o, defs, Some(&r.all_names()));
                    if let (Some(m), Some(map)) = (r.merged_into, v.as_object_mut()) {
                        map.insert("mergedInto".into(), Value::String(m.to_string()));
                    }
                    v
                })
                .collect()
        };
        let lists: Vec<Value> = self
            .lists
            .values()
            .map(|l| {
                let mut v = l.to_json(self.cfg.portal_id);
                if let Some(map) = v.as_object_mut() {
                    map.insert(
                        "members".into(),
                        Value::Array(
                            l.members
                                .keys()
                                .map(|id| Value::String(id.to_string()))
                                .collect(),
                        ),
                    );
                }
                v
            })
            .collect();
        let mut associations = Vec::new();
        for (contact, companies) in &self.contact_companies {
            for company in companies {
                associations.push(json!({
                    "contact": contact.to_string(),
                    "company": company.to_string(),
                    "associationTypeId": 279,
                }));
            }
        }
        associations.sort_by(|a, b| {
            (a["contact"].as_str(), a["company"].as_str())
                .cmp(&(b["contact"].as_str(), b["company"].as_str()))
        });
        let props = |o: ObjectType| -> Vec<Value> {
            self.defs(o).list.iter().map(Property::to_json).collect()
        };
        json!({
            "portalId": self.cfg.portal_id,
            "contacts": records(ObjectType::Contacts),
            "companies": records(ObjectType::Companies),
            "lists": lists,
            "associations": associations,
            "properties": {
                "contacts": props(ObjectType::Contacts),
                "companies": props(ObjectType::Companies),
            },
        })
    }
}
