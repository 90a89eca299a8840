-- hubsync store, schema 1. Migrations are append-only: never edit a released file, add 0002_….sql.
-- Times are RFC 3339 UTC text (`2024-05-01T12:00:00Z`). JSON columns hold compact JSON text.

-- Local contacts. E-mails (in order, the first is primary) and organization ids are JSON lists;
-- identities and custom attributes are JSON objects (attribute values keep their JSON type).
CREATE TABLE contacts (
  id                                   TEXT PRIMARY KEY NOT NULL,
  emails                               TEXT NOT NULL DEFAULT '[]',
  display_name                         TEXT,
  identities                           TEXT NOT NULL DEFAULT '{}',
  attributes                           TEXT NOT NULL DEFAULT '{}',
  organizations                        TEXT NOT NULL DEFAULT '[]',
  score                                REAL,
  reach                                REAL,
  activity_count                       REAL,
  active_days_count                    REAL,
  average_sentiment                    REAL,
  number_of_open_source_contributions  REAL,
  joined_at                            TEXT,
  last_active                          TEXT,
  created_at                           TEXT,
  tags                                 TEXT NOT NULL DEFAULT '[]',
  updated_at                           TEXT NOT NULL
);

-- Lookup of contacts by e-mail: one row per (normalised e-mail, contact), kept in step with
-- contacts.emails. email_norm is trimmed and lowercase.
CREATE TABLE contact_emails (
  email_norm  TEXT NOT NULL,
  contact_id  TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  PRIMARY KEY (email_norm, contact_id)
) WITHOUT ROWID;

-- Local organizations. name_norm: trimmed, lowercase, inner whitespace collapsed.
-- domain: the website normalised as HubSpot's `domain` (no scheme, no www., no path).
CREATE TABLE organizations (
  id                 TEXT PRIMARY KEY NOT NULL,
  name               TEXT,
  name_norm          TEXT,
  website            TEXT,
  domain             TEXT,
  description        TEXT,
  location           TEXT,
  logo               TEXT,
  headline           TEXT,
  size               TEXT,
  url                TEXT,
  industry           TEXT,
  type               TEXT,
  employees          REAL,
  founded            REAL,
  github             TEXT,
  twitter            TEXT,
  linkedin           TEXT,
  crunchbase         TEXT,
  revenue_range_min  REAL,
  revenue_range_max  REAL,
  member_count       REAL,
  activity_count     REAL,
  joined_at          TEXT,
  last_active        TEXT,
  tags               TEXT NOT NULL DEFAULT '[]',
  emails             TEXT NOT NULL DEFAULT '[]',
  updated_at         TEXT NOT NULL
);
CREATE INDEX organizations_name_norm ON organizations(name_norm);
CREATE INDEX organizations_domain ON organizations(domain);

-- Contact ↔ organization membership, kept in step with contacts.organizations (which holds the
-- contact's order); this table answers "who belongs to this organization".
CREATE TABLE contact_organizations (
  organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  contact_id       TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  PRIMARY KEY (organization_id, contact_id)
) WITHOUT ROWID;

-- Sync state of a local record: its HubSpot id (once known), the hash of what was last pushed,
-- and whether it is marked for sync ('manual' or 'automation:<name>'; NULL = not marked).
CREATE TABLE hubspot_links (
  entity          TEXT NOT NULL CHECK (entity IN ('contact','organization')),
  local_id        TEXT NOT NULL,
  hubspot_id      TEXT,
  content_hash    TEXT,
  last_pushed_at  TEXT,
  last_pulled_at  TEXT,
  marked_by       TEXT,
  marked_at       TEXT,
  linked_at       TEXT,
  PRIMARY KEY (entity, local_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX hubspot_links_hubspot_id ON hubspot_links(entity, hubspot_id) WHERE hubspot_id IS NOT NULL;
CREATE INDEX hubspot_links_marked ON hubspot_links(entity) WHERE marked_by IS NOT NULL;

-- HubSpot properties, as last fetched by `map refresh`.
CREATE TABLE property_cache (
  object_type TEXT NOT NULL CHECK (object_type IN ('contacts','companies')),
  name        TEXT NOT NULL,
  type        TEXT NOT NULL,
  field_type  TEXT NOT NULL,
  label       TEXT NOT NULL DEFAULT '',
  json        TEXT NOT NULL,          -- the full HubSpot property object
  fetched_at  TEXT NOT NULL,
  PRIMARY KEY (object_type, name)
);

-- HubSpot contact lists, as last fetched.
CREATE TABLE lists_cache (
  list_id TEXT PRIMARY KEY, name TEXT NOT NULL, processing_type TEXT NOT NULL, size INTEGER, json TEXT NOT NULL, fetched_at TEXT NOT NULL
);

-- Every pull, push, automation run and sync. counts is a JSON object.
CREATE TABLE runs (
  id           INTEGER PRIMARY KEY,
  kind         TEXT NOT NULL,
  parent_id    INTEGER REFERENCES runs(id),
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  status       TEXT NOT NULL DEFAULT 'running',
  counts       TEXT NOT NULL DEFAULT '{}',
  error        TEXT
);
CREATE INDEX runs_kind ON runs(kind, id);

-- Automations: filters (JSON array of filter expressions) matched all/any, and a HubSpot list.
CREATE TABLE automations (
  id             INTEGER PRIMARY KEY,
  name           TEXT NOT NULL UNIQUE,
  entity         TEXT NOT NULL CHECK (entity IN ('contact','organization')),
  match_mode     TEXT NOT NULL CHECK (match_mode IN ('all','any')),
  filters        TEXT NOT NULL,
  list_id        TEXT NOT NULL,
  list_name      TEXT NOT NULL DEFAULT '',
  sync_contacts  INTEGER NOT NULL DEFAULT 0,
  paused         INTEGER NOT NULL DEFAULT 0,
  created_at     TEXT NOT NULL,
  last_run_id    INTEGER REFERENCES runs(id),
  last_run_at    TEXT
);

-- Records an automation has matched, and whether they were added to its list yet.
CREATE TABLE automation_members (
  automation_id  INTEGER NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
  entity         TEXT NOT NULL CHECK (entity IN ('contact','organization')),
  local_id       TEXT NOT NULL,
  matched_at     TEXT NOT NULL,
  added_to_list_at TEXT,
  PRIMARY KEY (automation_id, entity, local_id)
) WITHOUT ROWID;

-- Field-level log of what data-in changed locally; old/new are JSON values (NULL = absent).
CREATE TABLE history (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES runs(id),
  entity      TEXT NOT NULL CHECK (entity IN ('contact','organization')),
  local_id    TEXT NOT NULL,
  hubspot_id  TEXT,
  field       TEXT NOT NULL,
  old         TEXT,
  new         TEXT,
  at          TEXT NOT NULL,
  undone_by   INTEGER REFERENCES runs(id)
);
CREATE INDEX history_run ON history(run_id);
CREATE INDEX history_record ON history(entity, local_id);

-- Records a run could not send, retried by the next run.
CREATE TABLE failed_records (
  entity           TEXT NOT NULL CHECK (entity IN ('contact','organization')),
  local_id         TEXT NOT NULL,
  operation        TEXT NOT NULL DEFAULT 'push',
  error            TEXT NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 1,
  run_id           INTEGER REFERENCES runs(id),
  first_failed_at  TEXT NOT NULL,
  last_failed_at   TEXT NOT NULL,
  PRIMARY KEY (entity, local_id, operation)
) WITHOUT ROWID;

-- Resumable state per run kind, e.g. ('pull', 'contacts.watermark') → '2024-05-01T12:00:00Z'.
CREATE TABLE checkpoints (
  kind        TEXT NOT NULL,
  key         TEXT NOT NULL,
  value       TEXT NOT NULL,
  run_id      INTEGER REFERENCES runs(id),
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
