//! What a failed exchange with a node is blamed on, read from its cause chain: the caller's
//! broken body (4xx), a TLS failure explained with its fix, a timeout (504), any other connect
//! or reset failure (502).

use super::{CallerBodyError, SendError};
use crate::error::ApiError;
use crate::tls;
use http::StatusCode;

/// Who a failed exchange is blamed on, from its cause chain: the caller's broken request body
/// is the caller's (400), a TLS failure is the cluster's connection set-up explained with its
/// fix (502), a timeout inside the connector is 504, any other connect or reset failure 502.
pub(super) fn classify_failure(e: &SendError) -> ApiError {
    let mut chain = String::new();
    let mut timed_out = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = match e {
        SendError::Connect(inner) => Some(inner.as_ref()),
        SendError::Http(inner) => Some(inner),
    };
    while let Some(s) = source {
        if let Some(caller) = s.downcast_ref::<CallerBodyError>() {
            return caller_body_failed(caller);
        }
        if let Some(tls) = rustls_error(s) {
            return ApiError::upstream_unavailable(format!(
                "TLS with the cluster failed: {}",
                tls::explain(tls)
            ));
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            timed_out |= io.kind() == std::io::ErrorKind::TimedOut;
        }
        let text = s.to_string();
        timed_out |= text.contains("timed out");
        chain.push_str(": ");
        chain.push_str(&text);
        source = s.source();
    }
    if timed_out {
        ApiError::upstream_timeout(format!("connecting to the cluster timed out{chain}"))
    } else {
        ApiError::upstream_unavailable(format!("the cluster is unreachable{chain}"))
    }
}

/// A rustls error at this level of a chain: itself, or wrapped in `io::Error`s (tokio-rustls
/// wraps it in one, hyper-rustls in another, and `io::Error::source` skips the wrapped error).
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut level = e;
    loop {
        if let Some(tls) = level.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        level = level.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
}

/// The caller's pass-through body broke (malformed chunked coding, a hang-up half-way): the
/// request was never whole, so it is the caller's 400, whatever the cluster made of the part
/// it got.
fn caller_body_failed(e: &CallerBodyError) -> ApiError {
    match e {
        CallerBodyError::TooLarge(limit) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                format!("the request body is larger than the {limit}-byte limit"),
            )
        }
        CallerBodyError::Stalled(_) => {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                e.to_string(),
            )
        }
        CallerBodyError::Read(_) => {}
    }
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause.push_str(": ");
        cause.push_str(&s.to_string());
        source = s.source();
    }
    ApiError::bad_request(
        "invalid_request",
        format!("the request body could not be read{cause}"),
    )
}
