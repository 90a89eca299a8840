-- hubsync store, schema 2: the three-way rule (SPEC §6).
--
-- The base of a linked record: per HubSpot property, the value both sides last agreed on, in
-- the form push sends it (a HubSpot property value string), as one JSON object per record
-- (`{"property": "value", ...}`; one row keeps a record's reads and writes to one statement).
-- Written in the transaction of the push commit or the pull apply that made both sides agree.
-- A record without a base (a store from schema 1, or a record never synced) gets one derived at
-- its next sync.
CREATE TABLE sync_base (
  entity     TEXT NOT NULL CHECK (entity IN ('contact','organization')),
  local_id   TEXT NOT NULL,
  base       TEXT NOT NULL,
  agreed_at  TEXT NOT NULL,
  PRIMARY KEY (entity, local_id)
) WITHOUT ROWID;

-- A field edited on both sides since they last agreed: what each side held, the base, and
-- which value was kept (`hubspot` or `local`), as JSON. NULL for a plain data-in change.
ALTER TABLE history ADD COLUMN conflict TEXT;

-- When a local record was last edited locally (import, undo); data-in doesn't move it. The
-- `newest` conflict policy compares it with HubSpot's timestamp of the property.
ALTER TABLE contacts ADD COLUMN edited_at TEXT;
ALTER TABLE organizations ADD COLUMN edited_at TEXT;
UPDATE contacts SET edited_at = updated_at;
UPDATE organizations SET edited_at = updated_at;
