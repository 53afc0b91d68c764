use super::*;
use proptest::prelude::*;

fn n(path: &str) -> String {
    normalise(path)
        .unwrap_or_else(|_| panic!("{path} is ambiguous"))
        .into_owned()
}

fn readings(path: &str) -> Vec<String> {
    lenient(path).collect()
}

#[test]
fn an_already_normal_path_is_borrowed_not_copied() {
    for path in [
        "/",
        "/v1/bdbs",
        "/v1/bdbs/1",
        "/v1/debuginfo/all/",
        "/v1/users/%C3%A9t%C3%A9",
        "/v1/bdbs/a%2Fb%20c",
        "/v1/users/x;y=1",
        "/v1/.well-known/x",
        "/v1/a..b/.c/c.",
        "/v1/%zz/%4",
        "*",
        "",
    ] {
        assert!(matches!(normalise(path), Ok(Cow::Borrowed(_))), "{path}");
    }
    let target = "/v1/bdbs/1?fields=a//b&x=/./";
    assert!(matches!(normalise_target(target), Ok(Cow::Borrowed(_))));
}

#[test]
fn runs_of_slashes_collapse_into_one() {
    assert_eq!(n("//v1/debuginfo/all"), "/v1/debuginfo/all");
    assert_eq!(n("/v1//debuginfo///all"), "/v1/debuginfo/all");
    assert_eq!(n("/v1/debuginfo/all//"), "/v1/debuginfo/all/");
    assert_eq!(n("//"), "/");
    assert_eq!(n("///"), "/");
}

#[test]
fn dot_segments_are_removed_as_rfc_3986_5_2_4_says() {
    assert_eq!(n("/v1/debuginfo/./all"), "/v1/debuginfo/all");
    assert_eq!(n("/v1/x/../debuginfo/all"), "/v1/debuginfo/all");
    assert_eq!(n("/v1/debuginfo/all/."), "/v1/debuginfo/all/");
    assert_eq!(n("/v1/debuginfo/all/.."), "/v1/debuginfo/");
    assert_eq!(n("/v1/a/b/../../debuginfo"), "/v1/debuginfo");
    assert_eq!(n("/.."), "/");
    assert_eq!(n("/../../v1"), "/v1");
    assert_eq!(n("/."), "/");
    assert_eq!(n("/a/.."), "/");
    assert_eq!(n("/a/../"), "/");
    // Slashes collapse before dots resolve (nginx's merge_slashes).
    assert_eq!(n("/a//../b"), "/b");
    // Not dot segments: dots inside a name.
    assert_eq!(n("/a/..b/.c//d"), "/a/..b/.c/d");
}

#[test]
fn encoded_unreserved_characters_are_decoded_and_nothing_else_is() {
    assert_eq!(n("/v1/debuginfo/%61ll"), "/v1/debuginfo/all");
    assert_eq!(n("/v1/debuginfo/%41LL"), "/v1/debuginfo/ALL");
    assert_eq!(
        n("/v1/modules/upgrade/bdb/%31"),
        "/v1/modules/upgrade/bdb/1"
    );
    assert_eq!(n("/%7e%7E%2d%5f%2E%30"), "/~~-_.0");
    // Reserved, non-ASCII and malformed escapes stay exactly as sent, hex case included.
    assert_eq!(n("/%61/%2F%2f%3F%25%c3%A9"), "/a/%2F%2f%3F%25%c3%A9");
    assert_eq!(n("/%61/%zz%4"), "/a/%zz%4");
    // No double decoding: %2561 is "%61" as text.
    assert_eq!(n("/%2561/%61"), "/%2561/a");
}

#[test]
fn encoded_dots_count_as_dots() {
    assert_eq!(n("/v1/debuginfo/%2e/all"), "/v1/debuginfo/all");
    assert_eq!(n("/v1/x/%2E%2e/debuginfo/all"), "/v1/debuginfo/all");
    assert_eq!(n("/v1/x/.%2E/debuginfo/all"), "/v1/debuginfo/all");
}

#[test]
fn the_query_is_left_as_sent() {
    let t = |target| normalise_target(target).map(Cow::into_owned);
    assert_eq!(
        t("/v1//bdbs/%31?a=%61&b=//./..#"),
        Ok("/v1/bdbs/1?a=%61&b=//./..#".to_owned())
    );
    assert_eq!(t("/v1//x?"), Ok("/v1/x?".to_owned()));
}

#[test]
fn a_decoded_digit_that_would_complete_an_escape_is_ambiguous() {
    // Decoded once, these would spell `%61` (`a` to a cluster that decodes once more).
    for path in ["/v1/%%36%31ll", "/v1/%6%31ll", "/v1/%%361ll", "/%%36"] {
        assert_eq!(normalise(path), Err(Ambiguous), "{path}");
    }
    // A malformed `%` with nothing decoded next to it is kept as sent.
    assert_eq!(n("/v1/%/%zz/%%7Ex//"), "/v1/%/%zz/%~x/");
    assert_eq!(n("/v1/%%2F%61"), "/v1/%%2Fa");
}

#[test]
fn non_ascii_paths_keep_their_characters() {
    assert_eq!(n("/v1/é//%61"), "/v1/é/a");
}

#[test]
fn ordinary_targets_are_not_suspicious() {
    for (method, path) in [
        ("GET", "/v1/bdbs/1"),
        ("POST", "/v1/modules/upgrade/bdb/1"),
        ("GET", "/v1/users/%C3%A9t%C3%A9"),
        ("GET", "/v1/bdbs/a%20b"),
        ("PATCH", "/v1/x/%zz"),
    ] {
        assert!(!suspicious(method, path), "{method} {path}");
    }
}

#[test]
fn params_case_and_encoded_slashes_are_suspicious() {
    for (method, path) in [
        ("post", "/v1/modules/upgrade/bdb/1"),
        ("Get", "/v1/debuginfo/all"),
        ("GET", "/v1/debuginfo/all;x"),
        ("GET", "/V1/debuginfo/all"),
        ("GET", "/v1/debuginfo%2Fall"),
        ("GET", "/v1/debuginfo%5call"),
        ("GET", "/v1\\debuginfo/all"),
    ] {
        assert!(suspicious(method, path), "{method} {path}");
    }
}

#[test]
fn lenient_readings_drop_params_and_read_encoded_slashes() {
    assert_eq!(
        readings("/v1/debuginfo;a/all;b=1"),
        ["/v1/debuginfo/all"; 2]
    );
    assert_eq!(readings("/v1/debuginfo%2Fall"), ["/v1/debuginfo/all"; 2]);
    assert_eq!(readings("/v1\\debuginfo%5Call"), ["/v1/debuginfo/all"; 2]);
    // The order matters: one reading per order.
    assert_eq!(
        readings("/v1/debuginfo/all;x%2F.."),
        ["/v1/debuginfo/", "/v1/debuginfo/all"]
    );
    assert_eq!(readings("/V1/X/../DebugInfo"), ["/V1/DebugInfo"; 2]);
}

proptest! {
    /// Normalising twice changes nothing, and a normal path is returned borrowed.
    #[test]
    fn normalising_is_idempotent(path in "/[a-c/.%2eEfF61;]{0,24}") {
        let Ok(once) = normalise(&path).map(Cow::into_owned) else {
            return Ok(());
        };
        prop_assert!(matches!(normalise(&once), Ok(Cow::Borrowed(_))), "{} -> {}", path, once);
        prop_assert!(once.starts_with('/'));
        prop_assert!(!once.contains("//"), "{} -> {}", path, once);
    }

    /// Decoding keeps every byte that is not an unreserved escape.
    #[test]
    fn only_unreserved_escapes_are_decoded(path in "/[a/%2f3F5cC]{0,24}") {
        let Ok(once) = normalise(&path) else {
            return Ok(());
        };
        prop_assert_eq!(once.matches('%').count(), path.matches('%').count() - count_unreserved(&path));
    }
}

fn count_unreserved(path: &str) -> usize {
    let b = path.as_bytes();
    (0..b.len())
        .filter(|&i| b[i] == b'%' && hex2(b, i + 1).is_some_and(is_unreserved))
        .count()
}
