//! Typed errors of the HubSpot client. `Auth` (a person must connect again) and `TryLater`
//! (waiting helps) are told apart so the caller can pick an exit code; this module knows
//! nothing of processes.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// Everything the HubSpot client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// HubSpot answered with a non-success status that is not retried.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// A response body did not have the expected shape.
    #[error("unexpected {what} from HubSpot at `{path}`: {message}")]
    Decode {
        what: String,
        path: String,
        message: String,
    },
    /// The API base can't be used (malformed, or plain http to another machine).
    #[error("the HubSpot API base {0}")]
    BadBase(String),
    /// The request could not be sent (bad base URL, TLS setup, …), not retried.
    #[error("cannot reach HubSpot at {base}: {message}")]
    Transport { base: String, message: String },
    /// Authentication needed: not connected, the token was refused, a scope is missing.
    #[error("{0}")]
    Auth(String),
    /// HubSpot asks to come back later: the daily limit, or still unavailable after retries.
    #[error("{0}")]
    TryLater(String),
    /// The token store failed.
    #[error("{0}")]
    Store(String),
}

impl Error {
    pub(crate) fn auth(msg: impl Into<String>) -> Self {
        Error::Auth(msg.into())
    }

    pub(crate) fn try_later(msg: impl Into<String>) -> Self {
        Error::TryLater(msg.into())
    }

    /// Whether the run must stop here: a person must connect again, or waiting helps.
    #[must_use]
    pub fn stops(&self) -> bool {
        matches!(self, Error::Auth(_) | Error::TryLater(_))
    }

    /// HubSpot's error, when this is one.
    #[must_use]
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// The HTTP status of HubSpot's answer, when this is an API error.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        self.api().map(|e| e.status)
    }
}

/// HubSpot's error body (API.md §3), plus the HTTP status.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub sub_category: Option<serde_json::Value>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// `DAILY`, `TEN_SECONDLY_ROLLING`, … on 429s.
    #[serde(default)]
    pub policy_name: Option<String>,
    #[serde(default)]
    pub error_type: Option<String>,
    #[serde(default)]
    pub context: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub errors: Vec<ErrorDetail>,
    /// OAuth errors: RFC 6749 `error` and `error_description`, legacy `status`.
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default, rename = "error_description")]
    pub error_description: Option<String>,
}

/// One item of an error's `errors[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub context: BTreeMap<String, serde_json::Value>,
}

impl ApiError {
    /// Parse an error body; a body that isn't HubSpot's JSON keeps its first line as the message.
    #[must_use]
    pub fn from_body(status: u16, body: &[u8], correlation_header: Option<&str>) -> Self {
        let mut e = serde_json::from_slice::<ApiError>(body).unwrap_or_else(|_| {
            let text = String::from_utf8_lossy(body);
            let first = text.lines().next().unwrap_or("").trim();
            ApiError {
                message: first.chars().take(200).collect(),
                ..ApiError::default()
            }
        });
        e.status = status;
        if e.message.is_empty() {
            if let Some(d) = &e.error_description {
                e.message.clone_from(d);
            }
        }
        if e.correlation_id.is_none() {
            e.correlation_id = correlation_header.map(str::to_owned);
        }
        e
    }

    /// The scopes HubSpot says are missing (403 `MISSING_SCOPES`).
    #[must_use]
    pub fn missing_scopes(&self) -> Vec<String> {
        let mut out = Vec::new();
        for d in &self.errors {
            for key in ["requiredGranularScopes", "requiredScopes"] {
                if let Some(serde_json::Value::Array(v)) = d.context.get(key) {
                    out.extend(v.iter().filter_map(|s| s.as_str().map(str::to_owned)));
                }
            }
        }
        for key in ["requiredGranularScopes", "requiredScopes"] {
            if let Some(v) = self.context.get(key) {
                out.extend(v.iter().cloned());
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HubSpot answered {}", self.status)?;
        if let Some(c) = self.category.as_deref().or(self.error.as_deref()) {
            write!(f, " {c}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        for d in self.errors.iter().take(3) {
            if !d.message.is_empty() && d.message != self.message {
                write!(f, "; {}", d.message)?;
            }
        }
        if let Some(id) = &self.correlation_id {
            write!(f, " (correlation id {id})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_category_message_and_correlation_id() {
        let body = br#"{"status":"error","message":"Property values were not valid","category":"VALIDATION_ERROR","correlationId":"abc-1","errors":[{"message":"discount was not a valid number","code":"INVALID_INTEGER"}]}"#;
        let e = ApiError::from_body(400, body, None);
        assert_eq!(e.category.as_deref(), Some("VALIDATION_ERROR"));
        assert_eq!(e.correlation_id.as_deref(), Some("abc-1"));
        let text = e.to_string();
        assert!(text.contains("400 VALIDATION_ERROR: Property values were not valid"));
        assert!(text.contains("discount was not a valid number"));
        assert!(text.contains("correlation id abc-1"));
    }

    #[test]
    fn names_missing_scopes() {
        let body = br#"{"status":"error","message":"This app hasn't been granted all required scopes to make this call.","category":"MISSING_SCOPES","errors":[{"message":"One or more of the following scopes are required.","context":{"requiredGranularScopes":["crm.lists.write"]}}]}"#;
        let e = ApiError::from_body(403, body, Some("hdr"));
        assert_eq!(e.missing_scopes(), vec!["crm.lists.write".to_owned()]);
        assert_eq!(e.correlation_id.as_deref(), Some("hdr"));
    }

    #[test]
    fn oauth_error_body() {
        let body = br#"{"error":"invalid_grant","error_description":"refresh token is invalid, expired or revoked","status":"BAD_REFRESH_TOKEN"}"#;
        let e = ApiError::from_body(400, body, None);
        assert_eq!(e.error.as_deref(), Some("invalid_grant"));
        assert_eq!(e.message, "refresh token is invalid, expired or revoked");
    }

    #[test]
    fn non_json_body() {
        let e = ApiError::from_body(502, b"<html>Bad gateway</html>\nmore", None);
        assert_eq!(e.message, "<html>Bad gateway</html>");
    }
}
