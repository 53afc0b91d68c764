//! The reply side of the request path: the body type every reply carries before access logging,
//! and [`error_response`], the one place an error becomes a reply.

use crate::error::ApiError;
use bytes::Bytes;
use http::Response;
use http_body_util::{Either, Full};

/// A reply body before access logging: the cluster's stream, or one the shim built.
pub type RespBody = Either<crate::upstream::PooledBody, Full<Bytes>>;

/// The one place an error becomes a reply.
pub fn error_response(e: &ApiError) -> Response<RespBody> {
    // The text can quote the caller (a module uid, a path) or the cluster: escaped.
    let text = || crate::escape::escape(&e.to_string()).into_owned();
    match e.blame {
        crate::error::Blame::Client => tracing::debug!(error = %text(), "request refused"),
        crate::error::Blame::Upstream => tracing::warn!(error = %text(), "upstream failure"),
        crate::error::Blame::Shim => tracing::error!(error = %text(), "internal error"),
    }
    e.to_response::<Full<Bytes>>().map(Either::Right)
}
