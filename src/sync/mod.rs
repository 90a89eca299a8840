//! The sync engine: plans, push, pull, automations, runs and locks.

pub mod automations;
pub mod cancel;
pub mod cycle;
pub mod filter;
pub mod lock;
pub mod plan;
pub mod progress;
pub mod properties;
pub mod pull;
pub mod push;
pub mod run;
pub mod summary;
pub mod three_way;
pub mod undo;

/// The HubSpot object a local record kind is kept in: contacts in contacts, organizations in
/// companies.
impl From<crate::model::Entity> for crate::hubspot::ObjectType {
    fn from(entity: crate::model::Entity) -> Self {
        match entity {
            crate::model::Entity::Contact => Self::Contacts,
            crate::model::Entity::Organization => Self::Companies,
        }
    }
}
