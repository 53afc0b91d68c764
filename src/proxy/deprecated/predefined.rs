//! F2's reply side on the request path (API-CATALOGUE §9.2; the pure core is
//! [`crate::rules::fields::predefined`]): a `GET /v1/roles` or `GET /v1/redis_acls` is passed
//! through as usual, its reply is read (bounded, by [`super::reply_read::read`], the path F14
//! reads by), the removed predefined names it lacks are recorded, and the bytes read go to the
//! caller unchanged.
//!
//! Decisions:
//! - `[rules.field_predefined_roles] mode = "off"`: [`crate::proxy::handle`] never reaches this
//!   module; any other mode observes (F2 never acts).
//! - Over [`MAX_REPLY`] (1 MiB), compressed, not JSON by type or by bytes, unsized, no budget:
//!   the reply as it came, counted in `field_bodies_skipped{reason="reply_…"}` as F14's are.
//! - The record (rule `field_predefined_roles`, `observed`, `detail.predefined_absent`, and
//!   `why` below the gate or on an unknown version): once per caller, route and status per
//!   `rules.stats_v1.audit_window`, with a `count` ([`super::reply_read::audit`]).
//! - The version: `rules.rs_version` or the cached one; never looked up (an observe-only rule
//!   needs none, and a look-up would cost every reader a second call).

use super::fields::version_for;
use super::reply_read::{self, Head, Seen};
use super::Boxed;
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::proxy::forward;
use crate::rules::fields::predefined::{absent, worth_recording, List, MAX_REPLY};
use crate::rules::Version;
use http::{Request, Response};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

pub use crate::rules::fields::predefined::RULE;

/// Runs a read of one of F2's lists (see the module's decisions).
pub fn dispatch(app: Arc<App>, conn: ConnInfo, req: Request<Incoming>, list: List) -> Boxed {
    Box::pin(async move {
        let (arrived, started) = (SystemTime::now(), Instant::now());
        let (mut parts, body) = req.into_parts();
        let version = version_for(&app, &conn, &mut parts, false).await.version();
        let head = Head::new(&parts, list.route(), (arrived, started));
        let req = Request::from_parts(parts, body);
        let resp = forward::pass_through(&app, conn.clone(), req).await;
        let (parts, bytes, reservation) = match reply_read::read(&app, resp, MAX_REPLY).await {
            Ok(read) => read,
            Err(as_it_came) => return as_it_came,
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Err(_) => app.metrics.field_body_skipped("reply_not_json"),
            Ok(reply) => record(&app, (&conn, &head), list, version, &reply),
        }
        drop(reservation);
        Response::from_parts(parts, Either::Right(Full::new(bytes)))
    })
}

/// Records the names a parsed reply lacks, where worth it (see the module's decisions).
fn record(
    app: &Arc<App>,
    (conn, head): (&ConnInfo, &Head),
    list: List,
    version: Option<Version>,
    reply: &Value,
) {
    let Some(gone) = absent(list, reply) else {
        return;
    };
    let Some(why) = worth_recording(&gone, version) else {
        return;
    };
    let mut detail = json!({ "predefined_absent": gone });
    if let (Some(why), Some(d)) = (why, detail.as_object_mut()) {
        d.insert("why".into(), json!(why));
    }
    let seen = Seen {
        rule: RULE,
        action: "observed",
        version,
        bdb_uid: None,
        detail,
    };
    reply_read::audit(app, conn, head, seen);
}
