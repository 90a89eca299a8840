//! Every HubSpot API path is built here, for both path styles (SPEC §2, API.md "Versioning").

use std::fmt;

/// The CRM object types hubsync works with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectType {
    Contacts,
    Companies,
}

impl ObjectType {
    /// The plural name used in paths: `contacts`, `companies`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Contacts => "contacts",
            ObjectType::Companies => "companies",
        }
    }

    /// HubSpot's object type id: `0-1`, `0-2`.
    #[must_use]
    pub fn type_id(self) -> &'static str {
        match self {
            ObjectType::Contacts => "0-1",
            ObjectType::Companies => "0-2",
        }
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which generation of HubSpot's paths to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiVersion {
    /// Date-versioned paths, e.g. `/crm/objects/2026-03/contacts`.
    #[default]
    V2026_03,
    /// Legacy paths, e.g. `/crm/v3/objects/contacts`.
    V3,
}

/// Builds API paths for one path style. Nothing else in the crate writes a HubSpot path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiPaths {
    pub version: ApiVersion,
}

impl ApiPaths {
    #[must_use]
    pub fn new(version: ApiVersion) -> Self {
        Self { version }
    }

    /// `/crm/objects/2026-03/contacts` or `/crm/v3/objects/contacts`.
    #[must_use]
    pub fn objects(&self, t: ObjectType) -> String {
        self.crm("objects", "v3", t.as_str())
    }

    /// One record: `…/contacts/{id}`.
    #[must_use]
    pub fn object(&self, t: ObjectType, id: &str) -> String {
        format!("{}/{}", self.objects(t), encode(id))
    }

    /// A batch operation: `…/contacts/batch/{read|create|update|upsert}`.
    #[must_use]
    pub fn batch(&self, t: ObjectType, op: &str) -> String {
        format!("{}/batch/{op}", self.objects(t))
    }

    /// `…/contacts/search`.
    #[must_use]
    pub fn search(&self, t: ObjectType) -> String {
        format!("{}/search", self.objects(t))
    }

    /// `/crm/properties/2026-03/contacts` or `/crm/v3/properties/contacts`.
    #[must_use]
    pub fn properties(&self, t: ObjectType) -> String {
        self.crm("properties", "v3", t.as_str())
    }

    /// Property groups: `…/properties/…/contacts/groups`.
    #[must_use]
    pub fn property_groups(&self, t: ObjectType) -> String {
        format!("{}/groups", self.properties(t))
    }

    /// `/crm/lists/2026-03` or `/crm/v3/lists`.
    #[must_use]
    pub fn lists(&self) -> String {
        match self.version {
            ApiVersion::V2026_03 => "/crm/lists/2026-03".to_owned(),
            ApiVersion::V3 => "/crm/v3/lists".to_owned(),
        }
    }

    #[must_use]
    pub fn lists_search(&self) -> String {
        format!("{}/search", self.lists())
    }

    #[must_use]
    pub fn list(&self, id: &str) -> String {
        format!("{}/{}", self.lists(), encode(id))
    }

    /// `…/lists/object-type-id/0-1/name/{name}` (HubSpot matches the name case-insensitively).
    #[must_use]
    pub fn list_by_name(&self, t: ObjectType, name: &str) -> String {
        format!(
            "{}/object-type-id/{}/name/{}",
            self.lists(),
            t.type_id(),
            encode(name)
        )
    }

    /// `…/lists/{id}/memberships` and, with `op`, `…/memberships/{add|remove|add-and-remove}`.
    #[must_use]
    pub fn list_memberships(&self, id: &str, op: Option<&str>) -> String {
        match op {
            Some(op) => format!("{}/memberships/{op}", self.list(id)),
            None => format!("{}/memberships", self.list(id)),
        }
    }

    /// `/crm/associations/2026-03/contacts/companies/batch/associate/default` or the v4 form.
    #[must_use]
    pub fn associate_default(&self, from: ObjectType, to: ObjectType) -> String {
        let base = match self.version {
            ApiVersion::V2026_03 => "/crm/associations/2026-03".to_owned(),
            ApiVersion::V3 => "/crm/v4/associations".to_owned(),
        };
        format!("{base}/{from}/{to}/batch/associate/default")
    }

    /// The OAuth token endpoint (code exchange and refresh): `/oauth/2026-03/token` or
    /// `/oauth/v1/token`.
    #[must_use]
    pub fn oauth_token(&self) -> String {
        match self.version {
            ApiVersion::V2026_03 => "/oauth/2026-03/token".to_owned(),
            ApiVersion::V3 => "/oauth/v1/token".to_owned(),
        }
    }

    /// Access-token information (hub id, scopes). HubSpot documents this form only under v1.
    #[must_use]
    pub fn oauth_access_token_info(token: &str) -> String {
        format!("/oauth/v1/access-tokens/{}", encode(token))
    }

    /// Revoking a refresh token (`DELETE`). Documented only under v1.
    #[must_use]
    pub fn oauth_refresh_token(token: &str) -> String {
        format!("/oauth/v1/refresh-tokens/{}", encode(token))
    }

    fn crm(&self, family: &str, legacy: &str, rest: &str) -> String {
        match self.version {
            ApiVersion::V2026_03 => format!("/crm/{family}/2026-03/{rest}"),
            ApiVersion::V3 => format!("/crm/{legacy}/{family}/{rest}"),
        }
    }
}

/// Percent-encode one path segment.
fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_path_styles() {
        let new = ApiPaths::new(ApiVersion::V2026_03);
        let old = ApiPaths::new(ApiVersion::V3);
        let cases = [
            (
                new.objects(ObjectType::Contacts),
                "/crm/objects/2026-03/contacts",
            ),
            (
                old.objects(ObjectType::Contacts),
                "/crm/v3/objects/contacts",
            ),
            (
                new.batch(ObjectType::Companies, "upsert"),
                "/crm/objects/2026-03/companies/batch/upsert",
            ),
            (
                old.search(ObjectType::Companies),
                "/crm/v3/objects/companies/search",
            ),
            (
                new.properties(ObjectType::Contacts),
                "/crm/properties/2026-03/contacts",
            ),
            (
                old.property_groups(ObjectType::Contacts),
                "/crm/v3/properties/contacts/groups",
            ),
            (new.lists_search(), "/crm/lists/2026-03/search"),
            (old.list("42"), "/crm/v3/lists/42"),
            (
                old.list_by_name(ObjectType::Contacts, "Hot leads"),
                "/crm/v3/lists/object-type-id/0-1/name/Hot%20leads",
            ),
            (
                new.list_memberships("7", Some("add")),
                "/crm/lists/2026-03/7/memberships/add",
            ),
            (
                new.associate_default(ObjectType::Contacts, ObjectType::Companies),
                "/crm/associations/2026-03/contacts/companies/batch/associate/default",
            ),
            (
                old.associate_default(ObjectType::Contacts, ObjectType::Companies),
                "/crm/v4/associations/contacts/companies/batch/associate/default",
            ),
            (new.oauth_token(), "/oauth/2026-03/token"),
            (old.oauth_token(), "/oauth/v1/token"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn ids_are_encoded() {
        let p = ApiPaths::default();
        assert_eq!(
            p.object(ObjectType::Contacts, "a/b c"),
            "/crm/objects/2026-03/contacts/a%2Fb%20c"
        );
    }
}
