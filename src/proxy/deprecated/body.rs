//! The request bodies the executor reads whole: the old module-upgrade route's (API.md §5, its
//! `Content-Type` checked leniently, at most `shim.max_body_size`) and the built-in rewrites'
//! (R1 64 KiB, R3 1 MiB), all read by one bounded reader within the request timeout and the
//! process-wide buffer budget.

use crate::error::ApiError;
use crate::proxy::budget::{Reservation, Work};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use std::time::Duration;

/// Reads a body whole, refusing more than `limit` bytes (413) — early from `Content-Length`
/// when it is declared, else while streaming — a body that sends nothing for `idle` (408, `listen.body_idle_timeout`), and one the
/// process-wide budget has no room for (503, before more of it is read): a declared length is
/// reserved up front, else each chunk before it is kept. `limit_name` ends the 413's text
/// after "the N-byte limit": `(shim.max_body_size)`, `of PUT /v1/cluster/update_cert (1 MiB)`.
/// [`read_body`] with the app's `listen.body_idle_timeout` and budget: the bodies the envelope
/// reads before the gate (R1, R13, R17).
pub(super) async fn read_small(
    app: &crate::proxy::app::App,
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
    limit_name: &str,
) -> Result<(Bytes, Reservation), ApiError> {
    let idle = app.config.listen.body_idle_timeout;
    read_body(headers, body, limit, limit_name, idle, &app.work).await
}

pub(super) async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
    limit_name: &str,
    idle: Duration,
    work: &std::sync::Arc<Work>,
) -> Result<(Bytes, Reservation), ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
            format!("the request body is larger than the {limit}-byte limit {limit_name}"),
        )
    };
    let declared = match declared_len(headers, &body).map(usize::try_from) {
        None => 0,
        Some(Ok(n)) if n <= limit => n,
        Some(_) => return Err(too_large()),
    };
    let mut reservation = work.reserve(declared)?;
    let read = async {
        let mut body = body;
        let mut buf = BytesMut::with_capacity(declared);
        while let Some(data) = next_data(&mut body, idle).await? {
            let total = buf.len().saturating_add(data.len());
            if total > limit {
                return Err(too_large());
            }
            reservation.grow_to(total)?;
            buf.extend_from_slice(&data);
        }
        Ok(buf.freeze())
    };
    Ok((read.await?, reservation))
}

/// The body's next data frame (trailers skipped), `None` at its end: a `408` when it sends
/// nothing for `idle` (issue 20: a body is bounded by its silence, not its total time), a `400`
/// when it breaks.
async fn next_data(body: &mut Incoming, idle: Duration) -> Result<Option<Bytes>, ApiError> {
    loop {
        let Ok(frame) = tokio::time::timeout(idle, body.frame()).await else {
            return Err(stalled(idle));
        };
        let Some(frame) = frame else { return Ok(None) };
        let frame = frame.map_err(|e| {
            ApiError::bad_request(
                "invalid_request",
                format!("the request body could not be read: {e}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            return Ok(Some(data));
        }
    }
}

/// The body's declared length: hyper's exact size hint, else `Content-Length`.
fn declared_len(headers: &HeaderMap, body: &Incoming) -> Option<u64> {
    body.size_hint().exact().or_else(|| {
        headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
    })
}

/// The client's `408` for a body that sent nothing for `idle`.
pub(super) fn stalled(idle: Duration) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!("the request body stalled: no byte for {idle:?} (listen.body_idle_timeout)"),
    )
}

/// Legacy tools send JSON under several labels (`curl -d` says form-urlencoded), and the old
/// route never checked; only types that cannot be JSON are refused.
pub(super) fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(http::header::CONTENT_TYPE) else {
        return Ok(());
    };
    // A value with bytes outside visible ASCII is not "no Content-Type": it names some type we
    // cannot read, so it falls to the refusal below instead of being taken for JSON.
    let ty = value
        .to_str()
        .unwrap_or("(unreadable)")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let jsonish = ty == "application/json"
        || ty.ends_with("+json")
        || ty == "application/x-www-form-urlencoded"
        || ty == "text/plain"
        || ty == "*/*"
        || ty.is_empty();
    if jsonish {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Content-Type {ty} cannot carry the JSON body this route takes; send application/json"),
        ))
    }
}

/// A body a field rule may inspect ([`read_inspectable`]).
pub(super) enum Inspectable {
    /// Read whole, within the limit and the budget; the body itself, ended, kept to send the
    /// bytes with the framing they came with ([`crate::upstream::CallerBody::with_prefix`]).
    Read(Bytes, Reservation, Incoming),
    /// Not read (a declared length over the limit, or no room in the budget): `reason`.
    Untouched(Incoming, &'static str),
    /// Read in part (an undeclared length that grew over the limit, or the budget ran out):
    /// what was read, then the rest, to stream on unchanged.
    Spilled(Bytes, Incoming, &'static str),
}

/// Reads a body for the field rules (API-CATALOGUE §1.3): whole when it fits `limit` and the
/// process-wide budget; otherwise it is handed back to stream through untouched, never
/// refused for its size (a `408` for silence and a `400` for a broken body stay, as on
/// pass-through).
pub(super) async fn read_inspectable(
    app: &crate::proxy::app::App,
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
) -> Result<Inspectable, ApiError> {
    let declared = match declared_len(headers, &body).map(usize::try_from) {
        None => 0,
        Some(Ok(n)) if n <= limit => n,
        Some(_) => return Ok(Inspectable::Untouched(body, "too_large")),
    };
    let Ok(mut reservation) = app.work.reserve(declared) else {
        return Ok(Inspectable::Untouched(body, "budget"));
    };
    let idle = app.config.listen.body_idle_timeout;
    let mut body = body;
    let mut buf = BytesMut::with_capacity(declared);
    while let Some(data) = next_data(&mut body, idle).await? {
        let total = buf.len().saturating_add(data.len());
        let spill = if total > limit {
            Some("too_large")
        } else {
            reservation.grow_to(total).err().map(|_| "budget")
        };
        buf.extend_from_slice(&data);
        if let Some(reason) = spill {
            return Ok(Inspectable::Spilled(buf.freeze(), body, reason));
        }
    }
    Ok(Inspectable::Read(buf.freeze(), reservation, body))
}

/// Reads and drops up to `limit` bytes of a body that is answered without being forwarded,
/// within the upstream request timeout, so that a keep-alive connection stays usable for a
/// small body; a larger or slower one is left unread (hyper then closes the connection).
pub(super) async fn discard(mut body: Incoming, limit: usize, app: &crate::proxy::app::App) {
    use http_body_util::BodyExt;
    let read = async {
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return };
            if let Some(data) = frame.data_ref() {
                seen = seen.saturating_add(data.len());
                if seen > limit {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(app.config.upstream.request_timeout, read).await;
}
