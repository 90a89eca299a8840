//! Contact or organization: the one model of a local record's kind.

use serde::Serialize;

/// The two kinds of local record: a contact (a HubSpot contact) or an organization (a HubSpot
/// company). The one model of "contact or organization" the whole crate shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    Contact,
    Organization,
}

impl Entity {
    /// Both, contacts first (the order runs use).
    pub const ALL: [Entity; 2] = [Entity::Contact, Entity::Organization];

    /// The singular name, as the store keeps it and reports print it (`contact`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Contact => "contact",
            Entity::Organization => "organization",
        }
    }

    /// Parse the stored form (`contact` / `organization`).
    #[must_use]
    pub fn from_db(s: &str) -> Entity {
        if s == "organization" {
            Entity::Organization
        } else {
            Entity::Contact
        }
    }

    /// The plural: the mapping file's section and the command word (`contacts`).
    #[must_use]
    pub fn section(self) -> &'static str {
        match self {
            Entity::Contact => "contacts",
            Entity::Organization => "organizations",
        }
    }

    /// The HubSpot object type (`contacts` / `companies`).
    #[must_use]
    pub fn hubspot_object(self) -> &'static str {
        match self {
            Entity::Contact => "contacts",
            Entity::Organization => "companies",
        }
    }

    /// HubSpot properties that hubsync itself sets from identity fields; never mappable.
    #[must_use]
    pub fn identity_properties(self) -> &'static [&'static str] {
        match self {
            Entity::Contact => &["email"],
            Entity::Organization => &["domain", "name"],
        }
    }
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
