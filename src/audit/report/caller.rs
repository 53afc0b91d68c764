//! Who a caller is: the address it is known by ([`caller_address`]) and the unambiguous key of
//! its row in the [`Summary`](super::Summary).

use std::net::SocketAddr;

/// The address a caller is known by: the record's `forwarded_client` when it has one (an IP
/// the shim read from `X-Forwarded-For` by the trusted-proxy rule), else the peer; a port, if
/// any, is dropped so one caller stays one row across connections. The raw `forwarded_for`
/// text is never used: its left-most entry is whatever the caller typed.
pub fn caller_address<'a>(client: &'a str, forwarded_client: Option<&'a str>) -> &'a str {
    let forwarded = forwarded_client.map(str::trim).filter(|s| !s.is_empty());
    let addr = forwarded.unwrap_or(client);
    match addr.parse::<SocketAddr>() {
        Ok(sa) => {
            // "1.2.3.4:5" or "[::1]:5": the IP is the text before the last ':', brackets removed.
            let host = &addr[..addr.rfind(':').unwrap_or(addr.len())];
            if sa.is_ipv6() {
                host.trim_start_matches('[').trim_end_matches(']')
            } else {
                host
            }
        }
        Err(_) => addr,
    }
}

/// An unambiguous key from the rule and three optional texts: each is written as a presence
/// mark, its length and itself, so no value can forge another caller's key.
pub(super) fn build_key(
    key: &mut String,
    rule: &str,
    user: Option<&str>,
    verified: bool,
    client: &str,
    ua: Option<&str>,
) {
    key.clear();
    key.push(if verified { 'v' } else { 'u' });
    for part in [Some(rule), user, Some(client), ua] {
        match part {
            // Each part prefixed by its length, so no text can forge another key: `+LEN:TEXT`
            // (pushed by hand: this runs once per call of the live summary).
            Some(s) => {
                key.push('+');
                push_decimal(key, s.len());
                key.push(':');
                key.push_str(s);
            }
            None => key.push('-'),
        }
    }
}

/// Appends `n` in decimal.
fn push_decimal(key: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        // `n % 10` is a digit: the cast cannot truncate.
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        key.push(char::from(d));
    }
}
