//! How a deprecated call enters ([`super::dispatch`]): its credentials' fingerprint, whether
//! the cluster accepted them recently, and its place in its address's bound of unverified
//! calls.

use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::proxy::callers;

/// A call as it enters: its credentials' fingerprint, whether the cluster accepted them
/// recently, and its place in its address's bound of unverified calls (or the refusal).
pub struct Entry {
    pub fingerprint: Option<callers::Fingerprint>,
    pub verified: bool,
    pub(super) place: Option<callers::Place>,
    pub refused: Option<ApiError>,
    /// Its intent record is already written ([`version::intent_before_look_up`]).
    pub intended: bool,
}

impl Entry {
    pub(super) fn new(app: &App, conn: &ConnInfo, headers: &http::HeaderMap) -> Entry {
        let fingerprint = app.callers.fingerprint(headers);
        let verified = app.callers.is_verified(fingerprint);
        let audit = &app.config.audit;
        let ip = crate::audit::forwarded::client(
            conn.peer.ip(),
            headers,
            audit.trust_forwarded_for,
            &audit.trusted_proxies,
        )
        .unwrap_or_else(|| conn.peer.ip());
        let (place, refused) = match app.callers.enter(ip, verified) {
            Ok(place) => (place, None),
            Err(e) => {
                app.metrics.deprecated_refused("unverified_per_ip");
                (None, Some(e))
            }
        };
        Entry {
            fingerprint,
            verified,
            place,
            refused,
            intended: false,
        }
    }
}
