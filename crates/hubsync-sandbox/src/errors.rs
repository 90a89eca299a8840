//! HubSpot-shaped error answers.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// An error answer: a status and a HubSpot error body.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Value,
}

/// A correlation id in HubSpot's (UUID) form.
pub fn correlation_id() -> String {
    let a: u128 = rand::random();
    let h = format!("{a:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

impl ApiError {
    pub fn new(status: StatusCode, category: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({
                "status": "error",
                "message": message.into(),
                "correlationId": correlation_id(),
                "category": category,
            }),
        }
    }

    /// Adds a field to the body.
    #[must_use]
    pub fn with(mut self, key: &str, value: Value) -> Self {
        if let Some(map) = self.body.as_object_mut() {
            map.insert(key.to_string(), value);
        }
        self
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "CONFLICT", message)
    }

    /// A body that did not decode: names the JSON path that failed.
    pub fn bad_json(err: &impl std::fmt::Display) -> Self {
        Self::validation(format!("Invalid input JSON: {err}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let id = self
            .body
            .get("correlationId")
            .and_then(Value::as_str)
            .and_then(|s| HeaderValue::from_str(s).ok());
        let mut r = (self.status, axum::Json(self.body)).into_response();
        if let Some(id) = id {
            r.headers_mut().insert("x-hubspot-correlation-id", id);
        }
        r
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Decodes a JSON body, naming the path of the field that failed.
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| ApiError::bad_json(&e))
}

/// HubSpot's specs mark some request fields required that its prose calls optional (API.md §9);
/// the sandbox takes the stricter reading and refuses a body without them (400, naming the
/// field). `top`: keys of the body; `per_input`: keys of every `inputs[]` item.
pub fn require_fields(body: &[u8], top: &[&str], per_input: &[&str]) -> ApiResult<()> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Ok(()); // `parse` reports malformed JSON
    };
    for k in top {
        if v.get(*k).is_none() {
            return Err(ApiError::validation(format!(
                "the request body misses the required field `{k}`"
            )));
        }
    }
    for (i, input) in v["inputs"].as_array().into_iter().flatten().enumerate() {
        for k in per_input {
            if input.get(*k).is_none() {
                return Err(ApiError::validation(format!(
                    "inputs[{i}] misses the required field `{k}`"
                )));
            }
        }
    }
    Ok(())
}
