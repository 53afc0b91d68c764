//! Who the caller is when the shim sits behind proxies: the `X-Forwarded-For` rule of
//! `audit.trust_forwarded_for` and `audit.trusted_proxies`, as one pure function.
//!
//! Decisions:
//! - The header is read right to left: each proxy appends the address it saw, so only the
//!   entries added by proxies we trust are facts; everything left of the first untrusted one
//!   was typed by someone we do not know.
//! - `trust_forwarded_for = true` alone (configs written before `trusted_proxies` existed)
//!   trusts exactly one hop, the peer: the client is the right-most entry.
//! - With `trusted_proxies`, the header counts only when the peer is in the list; the client is
//!   the right-most entry not in it. When every entry is trusted, the left-most one reached is
//!   the client (as nginx's `real_ip_recursive`).
//! - An entry that is not an IP address (`unknown`, RFC 7239 `_hidden`, `=HYPERLINK(...)`) ends
//!   the walk and is never the client: no proxy we trust writes one. `1.2.3.4:5678` and
//!   `[::1]:80` (proxies that add the port) are read as their address.

use crate::cidr::CidrList;
use http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// The caller's address by the rule above, or None when the header does not count (not
/// trusted, absent, or the walk found no address).
pub fn client(
    peer: IpAddr,
    headers: &HeaderMap,
    trust: bool,
    proxies: &CidrList,
) -> Option<IpAddr> {
    if !trust || (!proxies.is_empty() && !proxies.contains(peer)) {
        return None;
    }
    // Several header fields form one list in order (RFC 9110 §5.3): walk the last field first.
    let entries = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|v| v.to_str().unwrap_or("?").rsplit(','));
    let mut last_trusted = None;
    for entry in entries {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let Some(ip) = parse_entry(entry) else { break };
        if proxies.contains(ip) {
            last_trusted = Some(ip);
        } else {
            return Some(ip);
        }
    }
    last_trusted
}

fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|sa| sa.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn list(entries: &[&str]) -> CidrList {
        CidrList::parse(entries).unwrap()
    }

    #[test]
    fn untrusted_header_is_ignored() {
        let h = xff(&["203.0.113.9"]);
        assert_eq!(
            client(ip("10.0.0.1"), &h, false, &CidrList::default()),
            None
        );
        // The peer is not one of the trusted proxies: its header is its own invention.
        assert_eq!(
            client(ip("198.51.100.1"), &h, true, &list(&["10.0.0.0/8"])),
            None
        );
    }

    #[test]
    fn alone_trust_forwarded_for_takes_the_right_most_entry() {
        let h = xff(&["6.6.6.6, 203.0.113.9"]);
        let c = client(ip("10.0.0.1"), &h, true, &CidrList::default());
        assert_eq!(c, Some(ip("203.0.113.9")));
    }

    #[test]
    fn the_client_is_the_right_most_address_not_trusted() {
        let proxies = list(&["10.0.0.0/8", "192.0.2.1"]);
        let h = xff(&["6.6.6.6, 203.0.113.9, 10.1.1.1", "192.0.2.1"]);
        assert_eq!(
            client(ip("10.0.0.5"), &h, true, &proxies),
            Some(ip("203.0.113.9"))
        );
        let all_trusted = xff(&["10.9.9.9, 10.1.1.1"]);
        assert_eq!(
            client(ip("10.0.0.5"), &all_trusted, true, &proxies),
            Some(ip("10.9.9.9"))
        );
    }

    #[test]
    fn anything_not_an_ip_is_never_the_client() {
        let proxies = list(&["10.0.0.0/8"]);
        for forged in [
            "=HYPERLINK(\"http://x\")",
            "unknown",
            "_hidden",
            "1.2.3",
            "::g",
        ] {
            let h = xff(&[&format!("{forged}, 10.1.1.1")]);
            assert_eq!(
                client(ip("10.0.0.5"), &h, true, &proxies),
                Some(ip("10.1.1.1")),
                "{forged}"
            );
            let h = xff(&[forged]);
            assert_eq!(client(ip("10.0.0.5"), &h, true, &CidrList::default()), None);
        }
        // A forged entry cannot hide behind garbage the walk stops at.
        let h = xff(&["6.6.6.6, garbage, 10.1.1.1"]);
        assert_eq!(
            client(ip("10.0.0.5"), &h, true, &proxies),
            Some(ip("10.1.1.1"))
        );
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_read_as_addresses() {
        let none = CidrList::default();
        let peer = ip("10.0.0.5");
        assert_eq!(
            client(peer, &xff(&["203.0.113.9:4711"]), true, &none),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            client(peer, &xff(&["[2001:db8::7]:80"]), true, &none),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            client(peer, &xff(&["::ffff:203.0.113.9"]), true, &none),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(client(peer, &xff(&[" , "]), true, &none), None);
    }
}
