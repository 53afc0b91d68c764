//! The validity period of an X.509 certificate (RFC 5280 §4.1.2.5), read from its DER.
//!
//! webpki checks dates only on the path it builds, and it refuses a `CA:TRUE` certificate as a
//! server's own before that; a certificate trusted because it is pinned still has its dates
//! checked here. The input may come from the peer: every read is bounded and fallible.

/// `notBefore` and `notAfter`, in seconds since the Unix epoch (earlier dates are negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub not_before: i64,
    pub not_after: i64,
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xa0; // [0] EXPLICIT
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// Reads `Certificate.tbsCertificate.validity`; `None` when the DER is not a certificate.
pub fn validity(cert_der: &[u8]) -> Option<Validity> {
    let cert = expect(cert_der, SEQUENCE)?.0;
    let tbs = expect(cert, SEQUENCE)?.0;
    let (tag, _, after_version) = element(tbs)?;
    let rest = if tag == VERSION { after_version } else { tbs };
    let rest = expect(rest, INTEGER)?.1; // serialNumber
    let rest = expect(rest, SEQUENCE)?.1; // signature
    let rest = expect(rest, SEQUENCE)?.1; // issuer
    let period = expect(rest, SEQUENCE)?.0;
    let (tag, before, rest) = element(period)?;
    let not_before = time(tag, before)?;
    let (tag, after, _) = element(rest)?;
    Some(Validity {
        not_before,
        not_after: time(tag, after)?,
    })
}

/// One element of tag `tag`: its contents and what follows it.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, contents, rest) = element(input)?;
    (found == tag).then_some((contents, rest))
}

/// One DER element (single-byte tag, definite length): tag, contents, what follows.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// `UTCTime` (`YYMMDDHHMMSSZ`, years 1950–2049) or `GeneralizedTime` (`YYYYMMDDHHMMSSZ`), the
/// only forms RFC 5280 allows, as Unix seconds.
fn time(tag: u8, text: &[u8]) -> Option<i64> {
    let (year, rest) = match (tag, text.len()) {
        (UTC_TIME, 13) => {
            let yy = digits(&text[..2])?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        (GENERALIZED_TIME, 15) => (digits(&text[..4])?, &text[4..]),
        _ => return None,
    };
    if rest[10] != b'Z' {
        return None;
    }
    let [month, day, hour, minute, second] = [0, 2, 4, 6, 8].map(|i| digits(&rest[i..i + 2]));
    let (month, day) = (month?, day?);
    let (hour, minute, second) = (hour?, minute?, second?);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second <= 60;
    valid.then(|| days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

fn digits(text: &[u8]) -> Option<i64> {
    text.iter().try_fold(0i64, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_valid(from: (i32, u8, u8), to: (i32, u8, u8)) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["c.example".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
        params.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn unix(rfc3339: &str) -> i64 {
        let t = humantime::parse_rfc3339(rfc3339).unwrap();
        t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
    }

    #[test]
    fn utc_and_generalized_times_are_read_as_unix_seconds() {
        // rcgen writes UTCTime before 2050 and GeneralizedTime from 2050 on (RFC 5280).
        let v = validity(&cert_valid((2024, 2, 29), (2051, 12, 31))).unwrap();
        assert_eq!(v.not_before, unix("2024-02-29T00:00:00Z"));
        assert_eq!(v.not_after, unix("2051-12-31T00:00:00Z"));
        let v = validity(&cert_valid((1975, 1, 1), (2000, 3, 1))).unwrap();
        assert_eq!(v.not_before, unix("1975-01-01T00:00:00Z"));
        assert_eq!(v.not_after, unix("2000-03-01T00:00:00Z"));
    }

    #[test]
    fn anything_but_a_certificate_has_no_validity() {
        let good = cert_valid((2024, 1, 1), (2030, 1, 1));
        for cut in [0, 1, 2, 10, 40, good.len() / 2] {
            assert_eq!(validity(&good[..cut]), None, "cut at {cut}");
        }
        assert_eq!(validity(b"\x30\x84\xff\xff\xff\xff"), None);
        assert_eq!(validity(b"\x30\x80"), None);
        assert_eq!(time(UTC_TIME, b"2401011200Z\0\0"), None);
        assert_eq!(time(UTC_TIME, b"241301120000Z"), None);
        assert_eq!(time(GENERALIZED_TIME, b"20240101120000+"), None);
    }
}
