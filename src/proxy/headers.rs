//! Header rules for forwarding, as pure functions over `HeaderMap`: hop-by-hop removal
//! (RFC 9110 §7.6.1) and the `X-Forwarded-*` family.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use std::net::IpAddr;

/// Hop-by-hop fields named by RFC 9110 §7.6.1 plus the legacy ones proxies still see
/// (`Keep-Alive`, `Proxy-Connection`) and the proxy-auth pair (RFC 9110 §11.7), which belong to
/// this hop only. `Content-Length` is deliberately not here: it describes the message and
/// hyper re-frames the body from it.
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Removes hop-by-hop fields, including every field the `Connection` header lists
/// (RFC 9110 §7.6.1: "a proxy or gateway MUST ... remove any header or trailer field
/// ... listed in the Connection header field").
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Listed names first: they are read from the Connection field we are about to drop.
    if headers.contains_key(header::CONNECTION) {
        let listed: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        for name in listed {
            headers.remove(&name);
        }
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

/// What the shim knows about the downstream hop, for the forwarding headers.
#[derive(Debug, Clone, Copy)]
pub struct Hop<'a> {
    pub client_ip: IpAddr,
    pub tls: bool,
    /// The Host the client addressed (Host header, or the HTTP/2 `:authority`).
    pub host: Option<&'a str>,
}

/// Which forwarding headers to write.
#[derive(Debug, Clone, Copy)]
pub struct ForwardingRules {
    pub x_forwarded_for: bool,
    pub x_forwarded_proto: bool,
    pub x_forwarded_host: bool,
}

/// Appends the client to `X-Forwarded-For` (keeping earlier hops, folded into one field) and
/// sets `X-Forwarded-Proto`/`X-Forwarded-Host` to what this hop saw.
pub fn add_forwarding(headers: &mut HeaderMap, hop: Hop<'_>, rules: ForwardingRules) {
    if rules.x_forwarded_for {
        let ip = hop.client_ip.to_string();
        let mut joined = String::new();
        for v in headers.get_all(&X_FORWARDED_FOR) {
            if let Ok(s) = v.to_str() {
                joined.push_str(s);
                joined.push_str(", ");
            }
        }
        joined.push_str(&ip);
        if let Ok(v) = HeaderValue::from_str(&joined) {
            headers.insert(X_FORWARDED_FOR.clone(), v);
        }
    }
    if rules.x_forwarded_proto {
        let proto = if hop.tls { "https" } else { "http" };
        headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
    }
    if rules.x_forwarded_host {
        if let Some(v) = hop.host.and_then(|h| HeaderValue::from_str(h).ok()) {
            headers.insert(X_FORWARDED_HOST.clone(), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn hop_by_hop_fields_are_removed_end_to_end_fields_kept() {
        let mut h = map(&[
            ("connection", "keep-alive"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("te", "trailers"),
            ("upgrade", "h2c"),
            ("proxy-authorization", "Basic eA=="),
            ("authorization", "Basic dXNlcjpwYXNz"),
            ("content-length", "12"),
            ("x-custom", "1"),
        ]);
        strip_hop_by_hop(&mut h);
        // HeaderMap does not keep insertion order across removals: compare as a set.
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["authorization", "content-length", "x-custom"]);
    }

    #[test]
    fn fields_listed_in_connection_are_removed() {
        let mut h = map(&[
            ("connection", "X-Secret, x-other"),
            ("connection", "close"),
            ("x-secret", "s"),
            ("x-other", "o"),
            ("x-kept", "k"),
        ]);
        strip_hop_by_hop(&mut h);
        assert!(h.get("x-secret").is_none());
        assert!(h.get("x-other").is_none());
        assert_eq!(h.get("x-kept").unwrap(), "k");
        assert!(h.get("connection").is_none());
    }

    #[test]
    fn garbage_in_connection_is_ignored_not_fatal() {
        let mut h = map(&[("connection", ", ,,bad header name,"), ("x-kept", "k")]);
        strip_hop_by_hop(&mut h);
        assert_eq!(h.get("x-kept").unwrap(), "k");
    }

    const ALL: ForwardingRules = ForwardingRules {
        x_forwarded_for: true,
        x_forwarded_proto: true,
        x_forwarded_host: true,
    };

    #[test]
    fn forwarded_for_appends_to_earlier_hops() {
        let mut h = map(&[
            ("x-forwarded-for", "10.0.0.1"),
            ("x-forwarded-for", "10.0.0.2"),
        ]);
        let hop = Hop {
            client_ip: "192.0.2.7".parse().unwrap(),
            tls: true,
            host: Some("shim.example:9443"),
        };
        add_forwarding(&mut h, hop, ALL);
        assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 10.0.0.2, 192.0.2.7");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "shim.example:9443");
    }

    #[test]
    fn forwarding_headers_can_be_switched_off_and_proto_overwritten() {
        let mut h = map(&[("x-forwarded-proto", "https")]);
        let hop = Hop {
            client_ip: "::1".parse().unwrap(),
            tls: false,
            host: None,
        };
        add_forwarding(
            &mut h,
            hop,
            ForwardingRules {
                x_forwarded_for: false,
                ..ALL
            },
        );
        assert!(h.get("x-forwarded-for").is_none());
        assert_eq!(h["x-forwarded-proto"], "http");
        assert!(h.get("x-forwarded-host").is_none());
    }
}
