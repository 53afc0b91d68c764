//! Header rules for forwarding, as pure functions over `HeaderMap`: hop-by-hop removal
//! (RFC 9110 §7.6.1), the `X-Forwarded-*` family, and which `Host` is acceptable (RFC 9112
//! §3.2).

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::Version;
use std::net::IpAddr;

pub use crate::config::Forwarding;

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
    // One pass over the names present costs less than hashing all nine (this runs twice per
    // proxied request, and most messages carry none of them, or only `Connection`).
    let present = headers.keys().fold(0u16, |mask, name| {
        HOP_BY_HOP
            .iter()
            .position(|h| h == name)
            .map_or(mask, |i| mask | 1 << i)
    });
    if present == 0 {
        // No `Connection` either, so nothing is listed.
        return;
    }
    // Listed names first: they are read from the Connection field we are about to drop
    // (`Connection` is `HOP_BY_HOP[0]`).
    if present & 1 != 0 {
        remove_listed(headers);
    }
    for (i, name) in HOP_BY_HOP.iter().enumerate() {
        if present & (1 << i) != 0 {
            headers.remove(name);
        }
    }
}

/// Removes the fields named in `Connection`. Names are looked up as `&str` (no `HeaderName`
/// allocated per token); unparsable tokens match nothing.
fn remove_listed(headers: &mut HeaderMap) {
    // Nearly always a single `Connection` field: take it by reference count, not by copying.
    let single = {
        let mut all = headers.get_all(header::CONNECTION).iter();
        match (all.next(), all.next()) {
            (Some(v), None) => Some(v.clone()),
            _ => None,
        }
    };
    match single {
        Some(v) => remove_names(headers, &v),
        None => {
            let values: Vec<HeaderValue> = headers
                .get_all(header::CONNECTION)
                .iter()
                .cloned()
                .collect();
            for v in &values {
                remove_names(headers, v);
            }
        }
    }
}

fn remove_names(headers: &mut HeaderMap, listed: &HeaderValue) {
    if let Ok(text) = listed.to_str() {
        for name in text.split(',').map(str::trim) {
            // The usual token: a connection option, and the field of that name is hop-by-hop
            // anyway (removed by the caller), so no look-up is needed.
            if name.eq_ignore_ascii_case("keep-alive") {
                continue;
            }
            headers.remove(name);
        }
    }
}

/// RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
/// HTTP/1.1 request message that lacks a Host header field and to any request message that
/// contains more than one Host header field line or a Host header field with an invalid field
/// value." Valid is `uri-host [":" port]` or empty; userinfo (`user:pw@`) never is. HTTP/1.0
/// may omit Host, and HTTP/2 names the authority in `:authority`.
pub fn host_problem(version: Version, headers: &HeaderMap) -> Option<&'static str> {
    let mut hosts = headers.get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if version == Version::HTTP_11 => {
            Some("an HTTP/1.1 request must carry a Host header (RFC 9112 §3.2)")
        }
        (None, _) => None,
        (Some(_), Some(_)) => Some("a request may carry only one Host header (RFC 9112 §3.2)"),
        (Some(host), None) if !valid_host(host) => {
            Some("the Host header must be host[:port], without userinfo (RFC 9112 §3.2)")
        }
        (Some(_), None) => None,
    }
}

/// `uri-host [":" port]` (RFC 3986 §3.2.2-3), checked in place: it runs on every HTTP/1.1
/// request, and parsing an `http::uri::Authority` copies the value first (measured: ~1.1k
/// instructions per request, most of `host_problem`).
fn valid_host(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    let (host, port) = if bytes.first() == Some(&b'[') {
        // IP-literal: `[` IPv6address / IPvFuture `]`.
        let Some(end) = bytes.iter().position(|&c| c == b']') else {
            return false;
        };
        let inside = &bytes[1..end];
        let ok = !inside.is_empty()
            && inside
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || b":.%-_~".contains(&c));
        if !ok {
            return false;
        }
        (&bytes[..0], &bytes[end + 1..])
    } else {
        let split = bytes.iter().position(|&c| c == b':').unwrap_or(bytes.len());
        (&bytes[..split], &bytes[split..])
    };
    // reg-name: unreserved / pct-encoded / sub-delims; no `@`, so never userinfo.
    let host_ok = host
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&c));
    let port_ok = match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    };
    host_ok && port_ok
}

/// What the shim knows about the downstream hop, for the forwarding headers.
#[derive(Debug, Clone, Copy)]
pub struct Hop<'a> {
    pub client_ip: IpAddr,
    pub tls: bool,
    /// The Host the client addressed (Host header, or the HTTP/2 `:authority`).
    pub host: Option<&'a HeaderValue>,
}

/// Appends the client to `X-Forwarded-For` (keeping earlier hops, folded into one field) and
/// sets `X-Forwarded-Proto`/`X-Forwarded-Host` to what this hop saw.
///
/// `rules.preserve_host` is not this function's business (the forwarder sets Host).
pub fn add_forwarding(headers: &mut HeaderMap, hop: Hop<'_>, rules: Forwarding) {
    if rules.x_forwarded_for {
        // The address is rendered on the stack; a String is only built to join earlier hops.
        let mut buf = [0u8; 64];
        let ip = render_ip(hop.client_ip, &mut buf);
        let value = if headers.contains_key(&X_FORWARDED_FOR) {
            let mut joined = String::new();
            for v in headers.get_all(&X_FORWARDED_FOR) {
                if let Ok(s) = v.to_str() {
                    joined.push_str(s);
                    joined.push_str(", ");
                }
            }
            joined.push_str(ip);
            HeaderValue::from_str(&joined).ok()
        } else {
            HeaderValue::from_str(ip).ok()
        };
        if let Some(v) = value {
            headers.insert(X_FORWARDED_FOR.clone(), v);
        }
    }
    if rules.x_forwarded_proto {
        let proto = if hop.tls { "https" } else { "http" };
        headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
    }
    if rules.x_forwarded_host {
        // Only a Host that is visible ASCII is repeated; the value is shared, not copied.
        if let Some(v) = hop.host.filter(|h| h.to_str().is_ok()) {
            headers.insert(X_FORWARDED_HOST.clone(), v.clone());
        }
    }
}

/// Writes `ip` as text into `buf` (64 bytes hold any IPv6 form) and returns it. IPv4, the
/// usual case, is rendered by hand: `Display` costs about a thousand instructions per request.
fn render_ip(ip: IpAddr, buf: &mut [u8; 64]) -> &str {
    let len = match ip {
        IpAddr::V4(v4) => {
            let mut n = 0;
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf[n] = b'.';
                    n += 1;
                }
                if octet >= 100 {
                    buf[n] = b'0' + octet / 100;
                    n += 1;
                }
                if octet >= 10 {
                    buf[n] = b'0' + octet / 10 % 10;
                    n += 1;
                }
                buf[n] = b'0' + octet % 10;
                n += 1;
            }
            n
        }
        IpAddr::V6(_) => {
            use std::io::Write;
            let mut w = &mut buf[..];
            let _ = write!(w, "{ip}");
            64 - w.len()
        }
    };
    std::str::from_utf8(&buf[..len]).unwrap_or("")
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
        // Removal may reorder distinct field names, which RFC 9110 §5.3 allows.
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

    const ALL: Forwarding = Forwarding {
        x_forwarded_for: true,
        x_forwarded_proto: true,
        x_forwarded_host: true,
        preserve_host: false,
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
            host: Some(&HeaderValue::from_static("shim.example:9443")),
        };
        add_forwarding(&mut h, hop, ALL);
        assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 10.0.0.2, 192.0.2.7");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "shim.example:9443");
    }

    #[test]
    fn host_must_be_one_valid_field_on_http11() {
        let v11 = Version::HTTP_11;
        assert!(host_problem(v11, &map(&[])).is_some());
        assert!(host_problem(Version::HTTP_10, &map(&[])).is_none());
        assert!(host_problem(Version::HTTP_2, &map(&[])).is_none());
        assert!(host_problem(v11, &map(&[("host", "a"), ("host", "a")])).is_some());
        for bad in [
            "admin:pw@x",
            "@x",
            "a b",
            "x:port",
            "[::1",
            "[::1]x",
            "[]",
            "x:80:90",
            "x/y",
        ] {
            assert!(host_problem(v11, &map(&[("host", bad)])).is_some(), "{bad}");
        }
        for good in ["", "x", "c.example:9443", "127.0.0.1:1", "[::1]:9443"] {
            assert_eq!(host_problem(v11, &map(&[("host", good)])), None, "{good}");
        }
    }

    #[test]
    fn client_address_renders_like_display() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.30.40",
            "192.168.100.255",
            "255.255.255.255",
            "::1",
            "2001:db8::8a2e:370:7334",
            "::ffff:192.0.2.128",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut buf = [0u8; 64];
            assert_eq!(render_ip(ip, &mut buf), ip.to_string());
        }
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
            Forwarding {
                x_forwarded_for: false,
                ..ALL
            },
        );
        assert!(h.get("x-forwarded-for").is_none());
        assert_eq!(h["x-forwarded-proto"], "http");
        assert!(h.get("x-forwarded-host").is_none());
    }
}
