//! Extractors that fold the handlers' shared first lines: the CRM object of the path, and a
//! JSON body read the way HubSpot reads it (a refusal names the JSON path that failed).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::errors::{parse, ApiError};
use crate::state::ObjectType;

/// The `{object}` of the path (`contacts`, `companies`, `0-1`, `0-2`).
pub struct Object(pub ObjectType);

impl<S: Send + Sync> FromRequestParts<S> for Object {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::validation(e.to_string()))?;
        let name = params.get("object").map_or("", String::as_str);
        crate::objects::object_type(name).map(Object)
    }
}

/// A JSON request body of type `T`; an empty body reads as `{}`.
pub struct Input<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Input<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::validation(format!("cannot read the request body: {e}")))?;
        parse(&bytes).map(Input)
    }
}
