//! A string that never prints: tokens and the OAuth client secret.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A secret value. `Debug` and `Display` print `***`; the value is only reachable through
/// [`Secret::expose`], which the HTTP layer and the token stores call.
///
/// It deliberately does not implement `Serialize`: the token stores opt in with
/// `#[serde(serialize_with = "secret::expose_serialize")]`, so a secret can't end up in `--json`
/// output by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The real value, for an `Authorization` header, a token request or a token store.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Serialize the real value (token stores only).
pub(crate) fn expose_serialize<S: serde::Serializer>(
    s: &Secret,
    ser: S,
) -> Result<S::Ok, S::Error> {
    ser.serialize_str(&s.0)
}

/// Replace every occurrence of the given secrets in `text` with `***`.
#[must_use]
pub fn redact(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        // Very short values would redact unrelated text; real tokens are long.
        if s.0.len() >= 6 && out.contains(&s.0) {
            out = out.replace(&s.0, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("pat-na1-abcdef");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "pat-na1-abcdef");
    }

    #[test]
    fn redact_replaces_every_occurrence() {
        let s = Secret::new("na1-secret-token");
        let t = redact("a na1-secret-token b na1-secret-token", &[&s]);
        assert_eq!(t, "a *** b ***");
    }
}
