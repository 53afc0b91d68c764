//! Each worker uses its own upstream pool (issue 15): connections opened by one worker's
//! requests are never handed to another worker, whose requests would then wake the first
//! worker's thread.

use super::*;
use http::Method;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// An upstream answering 200 to everything, counting the connections it accepted.
pub(super) async fn counting_upstream() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = crate::listener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = accepted.clone();
    tokio::spawn(crate::listener::serve(
        listener,
        None,
        crate::listener::Limits::default(),
        move |_conn| {
            counted.fetch_add(1, Ordering::SeqCst);
            hyper::service::service_fn(|_req| async {
                Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(
                    b"{}",
                ))))
            })
        },
        std::future::pending(),
    ));
    (addr, accepted)
}

fn on_worker<F: std::future::Future<Output = ()>>(worker: usize, work: F) {
    crate::workers::enter(worker);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(work);
}

async fn three_gets(upstream: &Upstream) {
    for _ in 0..3 {
        let fetched = upstream
            .call(Method::GET, "/v1/bdbs", &http::HeaderMap::new(), None)
            .await
            .expect("reply");
        assert_eq!(fetched.status, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_worker_reuses_its_own_connection_and_never_another_workers() {
    let (addr, accepted) = counting_upstream().await;
    let toml = format!("workers = 2\n[upstream]\nurl = \"http://{addr}\"\n");
    let cfg = crate::config::Config::from_raw(crate::config::parse_raw(&toml).expect("toml"))
        .expect("config");
    let upstream = Arc::new(Upstream::new(&cfg.upstream, 2).expect("upstream"));
    // Worker 1 sends its requests and keeps its runtime (and so its idle connection) alive
    // while worker 2 sends its own.
    let (first_done, first_done_rx) = tokio::sync::oneshot::channel::<usize>();
    let (second_done, second_done_rx) = tokio::sync::oneshot::channel::<()>();
    let one = {
        let upstream = upstream.clone();
        std::thread::spawn(move || {
            on_worker(1, async move {
                three_gets(&upstream).await;
                // Time for the last connection to be checked back in.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let _ = first_done.send(upstream.set.nodes[0].pools.get().idle_count());
                let _ = second_done_rx.await;
            })
        })
    };
    let two = {
        let upstream = upstream.clone();
        std::thread::spawn(move || {
            on_worker(2, async move {
                let idle_on_one = first_done_rx.await.expect("worker 1");
                assert_eq!(idle_on_one, 1, "worker 1 keeps its connection");
                // Worker 1's idle connection is not in this worker's pool.
                assert_eq!(upstream.set.nodes[0].pools.get().idle_count(), 0);
                three_gets(&upstream).await;
                assert_eq!(upstream.set.nodes[0].pools.get().idle_count(), 1);
                let _ = second_done.send(());
            })
        })
    };
    one.join().expect("worker 1");
    two.join().expect("worker 2");
    // One connection per worker, each reused for its three requests.
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}
