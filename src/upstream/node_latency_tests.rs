//! `upstream_node_latency_seconds{node}` (issue 24): each attempt on a node is observed once,
//! in that node's series, in the bucket of its time to the response head or failure.

use super::workers_tests::counting_upstream;
use super::*;
use crate::metrics::Metrics;
use http::Method;

/// One sample line of the exposition, by its series (name and labels).
fn sample(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

fn upstream(nodes: &[String]) -> (Upstream, Metrics) {
    let list: Vec<String> = nodes.iter().map(|n| format!("\"{n}\"")).collect();
    let toml = format!("[upstream]\nnodes = [{}]\n", list.join(", "));
    let cfg = crate::config::Config::from_raw(crate::config::parse_raw(&toml).expect("toml"))
        .expect("config");
    let upstream = Upstream::new(&cfg.upstream, 1).expect("upstream");
    let metrics = Metrics::with_workers(1);
    metrics.set_nodes(upstream.nodes());
    (upstream, metrics)
}

#[test]
fn observations_land_in_their_buckets_under_their_nodes_url() {
    let a = "http://127.0.0.1:1".to_owned();
    let b = "http://127.0.0.1:2".to_owned();
    let (upstream, metrics) = upstream(&[a.clone(), b.clone()]);
    let set = upstream.nodes();
    for _ in 0..3 {
        set.observed(0, Duration::from_millis(7));
    }
    set.observed(1, Duration::from_millis(200));
    set.observed(1, Duration::from_secs(600));
    let text = metrics.encode();
    let bucket = |le: &str, node: &str| {
        sample(
            &text,
            &format!(
                "deprecation_shim_upstream_node_latency_seconds_bucket{{le=\"{le}\",node=\"{node}\"}}"
            ),
        )
    };
    // 7 ms: above the 5 ms bound, within 10 ms; the buckets are cumulative.
    assert_eq!(bucket("0.005", &a), 0);
    assert_eq!(bucket("0.01", &a), 3);
    assert_eq!(bucket("+Inf", &a), 3);
    // 200 ms: within 320 ms, not 160 ms; 600 s only in +Inf.
    assert_eq!(bucket("0.16", &b), 0);
    assert_eq!(bucket("0.32", &b), 1);
    assert_eq!(bucket("81.92", &b), 1);
    assert_eq!(bucket("+Inf", &b), 2);
    let count = |node: &str| {
        sample(
            &text,
            &format!("deprecation_shim_upstream_node_latency_seconds_count{{node=\"{node}\"}}"),
        )
    };
    assert_eq!((count(&a), count(&b)), (3, 2));
    assert!(text.contains(&format!(
        "deprecation_shim_upstream_node_latency_seconds_sum{{node=\"{a}\"}} 0.021"
    )));
}

#[tokio::test]
async fn a_failed_over_request_is_one_observation_on_each_node_it_tried() {
    let (live, _) = counting_upstream().await;
    // A port nobody listens on: the connect is refused, the request moves to the next node.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_addr = closed.local_addr().expect("addr");
    drop(closed);
    let down = format!("http://{closed_addr}");
    let up = format!("http://{live}");
    let (upstream, metrics) = upstream(&[down.clone(), up.clone()]);
    let fetched = upstream
        .call(Method::GET, "/v1/bdbs", &http::HeaderMap::new(), None)
        .await
        .expect("reply");
    assert_eq!(fetched.status, StatusCode::OK);
    let text = metrics.encode();
    let count = |node: &str| {
        sample(
            &text,
            &format!("deprecation_shim_upstream_node_latency_seconds_count{{node=\"{node}\"}}"),
        )
    };
    assert_eq!(count(&down), 1, "the refused connect is observed");
    assert_eq!(count(&up), 1, "the answered attempt is observed");
    // Then the live node goes first (the down one is in backoff): one more, there only.
    let again = upstream
        .call(Method::GET, "/v1/bdbs", &http::HeaderMap::new(), None)
        .await;
    assert_eq!(again.expect("reply").status, StatusCode::OK);
    let text = metrics.encode();
    let count = |node: &str| {
        sample(
            &text,
            &format!("deprecation_shim_upstream_node_latency_seconds_count{{node=\"{node}\"}}"),
        )
    };
    assert_eq!((count(&down), count(&up)), (1, 2));
}
