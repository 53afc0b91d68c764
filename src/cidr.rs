//! Address ranges from configuration (`10.0.0.0/8`, `2001:db8::/32`, or a single address) and
//! the one pure question asked of them: is this address in the list? Used for
//! `audit.trusted_proxies`; kept apart so other address rules can reuse it.
//!
//! Decisions:
//! - A bare address is a one-address range (/32 or /128).
//! - Host bits set in a range (`10.1.2.3/8`) are refused, not silently masked: the operator
//!   most likely meant something else.
//! - IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`, what a dual-stack socket reports) match IPv4
//!   ranges, so one list serves both socket families.

use ipnet::IpNet;
use std::net::IpAddr;

/// A list of address ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CidrList(Vec<IpNet>);

impl CidrList {
    /// Parses every entry; the error names the first bad one and says why.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<CidrList, String> {
        entries
            .iter()
            .map(|e| parse_range(e.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(CidrList)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` falls in one of the ranges.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

fn parse_range(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(IpNet::from(ip.to_canonical()));
    }
    let net: IpNet = s.parse().map_err(|_| {
        format!("{s:?} is not an address or a CIDR range (10.0.0.0/8, 2001:db8::/32)")
    })?;
    if net.trunc() != net {
        return Err(format!(
            "{s:?} has host bits set; the range is written {}",
            net.trunc()
        ));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_and_single_addresses_match_what_they_cover() {
        let list = CidrList::parse(&["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]).unwrap();
        assert!(list.contains(ip("10.255.0.1")));
        assert!(list.contains(ip("192.0.2.7")));
        assert!(!list.contains(ip("192.0.2.8")));
        assert!(list.contains(ip("2001:db8::1")));
        assert!(!list.contains(ip("2001:db9::1")));
        assert!(!list.contains(ip("11.0.0.1")));
        assert!(!CidrList::default().contains(ip("10.0.0.1")));
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_ranges() {
        let list = CidrList::parse(&["10.0.0.0/8"]).unwrap();
        assert!(list.contains(ip("::ffff:10.1.2.3")));
        let list = CidrList::parse(&["::ffff:10.0.0.1"]).unwrap();
        assert!(list.contains(ip("10.0.0.1")));
    }

    #[test]
    fn bad_entries_are_refused_with_a_reason() {
        let e = CidrList::parse(&["10.0.0.0/8", "=HYPERLINK(\"x\")"]).unwrap_err();
        assert!(e.contains("not an address or a CIDR range"), "{e}");
        let e = CidrList::parse(&["10.1.2.3/8"]).unwrap_err();
        assert!(e.contains("10.0.0.0/8"), "{e}");
        assert!(CidrList::parse(&["10.0.0.0/33"]).is_err());
        assert!(CidrList::parse(&[""]).is_err());
    }
}
