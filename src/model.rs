//! Local contacts and organizations.
