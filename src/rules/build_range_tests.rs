use super::*;

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

fn r(s: &str) -> BuildRange {
    BuildRange::parse(s).unwrap()
}

#[test]
fn the_rs161290_ranges_hold_their_edges() {
    let [r78, r722] = RS161290;
    assert_eq!(r78.to_string(), "[7.8.2-0, 7.8.6-119)");
    assert_eq!(r722.to_string(), "[7.22.0-0, 7.22.0-216)");
    for (range, version, expected) in [
        (r78, "7.8.2-0", Membership::In),
        (r78, "7.8.2-34", Membership::In),
        (r78, "7.8.6-95", Membership::In),
        (r78, "7.8.6-118", Membership::In),
        (r78, "7.8.6-119", Membership::Out),
        (r78, "7.8.6-303", Membership::Out),
        (r78, "7.8.1-999", Membership::Out),
        (r78, "7.4.6-272", Membership::Out),
        (r78, "7.22.0-95", Membership::Out),
        (r722, "7.22.0-0", Membership::In),
        (r722, "7.22.0-95", Membership::In),
        (r722, "7.22.0-215", Membership::In),
        (r722, "7.22.0-216", Membership::Out),
        (r722, "7.22.2-14", Membership::Out),
        (r722, "7.8.6-303", Membership::Out),
    ] {
        assert_eq!(range.contains(v(version)), expected, "{version} in {range}");
    }
}

#[test]
fn a_version_without_build_is_in_out_or_maybe_by_what_its_builds_would_be() {
    let [r78, r722] = RS161290;
    for (range, version, expected) in [
        // Every build of 7.8.2 is ≥ 7.8.2-0, every build of 7.8.4 is inside.
        (r78, "7.8.2", Membership::In),
        (r78, "7.8.4", Membership::In),
        // 7.8.6-118 is in, 7.8.6-119 is out: it depends on the build.
        (r78, "7.8.6", Membership::Maybe),
        (r78, "7.8.1", Membership::Out),
        (r78, "7.8.7", Membership::Out),
        (r722, "7.22.0", Membership::Maybe),
        (r722, "7.22.2", Membership::Out),
        // A lower bound above build 0 makes its own release "maybe".
        (r("[7.8.2-34, 7.8.6-119)"), "7.8.2", Membership::Maybe),
        // An upper bound at build 0 leaves its release wholly out (F10's `8.0.16-0`).
        (r("[8.0.2-0, 8.0.16-0)"), "8.0.16", Membership::Out),
        (r("[8.0.2-0, 8.0.16-0)"), "8.0.10", Membership::In),
    ] {
        assert_eq!(range.contains(v(version)), expected, "{version} in {range}");
    }
}

#[test]
fn maybe_fires_a_safety_gate_and_is_unknown_to_a_translation() {
    assert!(Membership::Maybe.fires_safety());
    assert!(Membership::In.fires_safety());
    assert!(!Membership::Out.fires_safety());
    assert_eq!(Membership::Maybe.translation(), None);
    assert_eq!(Membership::In.translation(), Some(true));
    assert_eq!(Membership::Out.translation(), Some(false));
}

#[test]
fn several_ranges_or_nodes_are_in_when_any_is() {
    assert_eq!(any_node(&RS161290, &[v("7.22.0-95")]), Membership::In);
    assert_eq!(any_node(&RS161290, &[v("7.8.6-119")]), Membership::Out);
    // A rolling upgrade: the fixed node does not hide the buggy one.
    let nodes = [v("7.8.6-303"), v("7.22.0-95"), v("7.22.2-14")];
    assert_eq!(any_node(&RS161290, &nodes), Membership::In);
    assert_eq!(
        any_node(&RS161290, &[v("7.22.2-14"), v("7.22.0")]),
        Membership::Maybe
    );
    assert_eq!(any_node(&RS161290, &[]), Membership::Out);
    assert_eq!(
        any([Membership::Maybe, Membership::Out, Membership::In]),
        Membership::In
    );
}

#[test]
fn a_range_needs_builds_on_both_bounds_and_must_not_be_empty() {
    assert_eq!(r("[7.8.2-0,7.8.6-119)"), RS161290[0]);
    for bad in [
        "[7.8.2, 7.8.6-119)",
        "[7.8.2-0, 7.8.6)",
        "[7.8.6-119, 7.8.2-0)",
        "[7.8.6-119, 7.8.6-119)",
        "(7.8.2-0, 7.8.6-119)",
        "[7.8.2-0, 7.8.6-119]",
        "[7.8.2-0 7.8.6-119)",
        "[7.8.2-x, 7.8.6-119)",
        "7.8.2-0..7.8.6-119",
        "",
    ] {
        assert_eq!(BuildRange::parse(bad), None, "{bad:?}");
    }
    assert_eq!(
        BuildRange::new(v("7.8.6-95"), v("7.8.6-96")).map(|r| (r.from(), r.to())),
        Some((v("7.8.6-95"), v("7.8.6-96")))
    );
}
