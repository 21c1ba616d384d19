//! `GET /assets/*`: the embedded files at their content-hashed paths.

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    response::{IntoResponse, Response},
};
use sluice_console_pages::assets;

use crate::error::ConsoleError;

pub async fn get(req: Request) -> Response {
    let Some(asset) = assets::lookup(req.uri().path()) else {
        return ConsoleError::NotFound.into_response();
    };
    let mut resp = asset.body.into_response();
    for (name, value) in asset.headers() {
        if let Ok(value) = HeaderValue::from_str(value) {
            resp.headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    resp
}
