//! The cluster's nodes as the shim sees them (issue 21): each configured node's pools, its
//! health and counters, which node is the master, and the addresses that name each node.
//! Sending through them is `route.rs`; the pure redirect rules are `redirect.rs`.
//!
//! Decisions:
//! - Health is passive first: a connect or TLS failure (nothing was sent) marks a node down
//!   for a backoff that doubles per failure in a row, 1 s up to 30 s; any HTTP answer marks it
//!   up. The background probe (`crate::wiring::probe`) sends its credential-free
//!   `GET /v1/cluster` to every node and records the same way.
//! - "Master" is the node the shim sends to first: learned from a redirect's mapped target, from
//!   a node that served a `/v1`/`/v2` call or the probe without redirecting (when no master is
//!   known or the known one is down or redirects), and forgotten when it redirects. With
//!   `handle_redirects` on, every node serves and the first one that did stays "master".
//! - Order for a request: the master if it is up, the other up nodes in configured order, then
//!   the down ones (a backoff may be stale: trying them is better than failing outright).
//! - Counters live here, per `App`: a reload (which may change the node list) starts them anew.
//! - Each attempt's time to its response head (or failure) is observed in the node's latency
//!   histogram, kept per worker like the pools: the pass-through path shares no cache line for
//!   it; the scrape sums the workers.

use super::deadline::Deadlines;
use super::pool::Pool;
use super::redirect::AddressBook;
use crate::metrics::latency::{Latency, Merged};
use crate::workers::PerWorker;
use http::uri::Authority;
use http::HeaderValue;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// No master known.
const NONE: usize = usize::MAX;
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

pub(super) struct Node {
    /// The configured URL: the node's name in metrics, `/readyz?verbose` and errors.
    pub label: String,
    pub authority: Authority,
    /// The Host an HTTP/1 request to this node carries.
    pub host: HeaderValue,
    pub pools: PerWorker<Pool>,
    /// Milliseconds after the set's epoch until which the node counts as down; 0: up.
    down_until: AtomicU64,
    strikes: AtomicU32,
    /// The node's last answer to a `/v1` call (or the probe) was a redirect.
    follower: AtomicBool,
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    /// Time to the response head or the failure of each attempt, per worker.
    latency: PerWorker<Latency>,
}

impl Node {
    pub fn new(label: String, authority: Authority, pools: PerWorker<Pool>) -> Node {
        let host = pools.at(0).host_header().clone();
        // One slot per pool slot: the workers and the non-worker one.
        let workers = pools.iter().len().saturating_sub(1);
        Node {
            latency: PerWorker::new(workers, Latency::default),
            label,
            authority,
            host,
            pools,
            down_until: AtomicU64::new(0),
            strikes: AtomicU32::new(0),
            follower: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }
}

/// What the admin port and the metrics show of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    pub url: String,
    pub up: bool,
    pub master: bool,
    /// Its last answer to a versioned call was a redirect (`handle_redirects` is off there).
    pub follower: bool,
    pub requests: u64,
    pub failures: u64,
}

pub struct NodeSet {
    pub(super) nodes: Vec<Node>,
    master: AtomicUsize,
    epoch: Instant,
    /// `upstream.node_map`, then the nodes' own `host:port`s.
    configured: [AddressBook; 2],
    /// What `GET /v1/nodes` said, and when the last look-up was tried.
    learned: Mutex<(AddressBook, Option<Instant>)>,
    pub(super) learn_flight: tokio::sync::Mutex<()>,
    pub(super) deadlines: PerWorker<Arc<Deadlines>>,
    /// Whether a redirect can ever be followed (several nodes, or a node map): only then is a
    /// copy of a request kept to re-send it.
    pub(super) follows: bool,
    pub(super) request_timeout: Duration,
    pub(super) redirects_followed: AtomicU64,
    pub(super) redirects_refused: AtomicU64,
}

impl NodeSet {
    pub(super) fn new(
        nodes: Vec<Node>,
        node_map: &[(String, usize)],
        deadlines: PerWorker<Arc<Deadlines>>,
        request_timeout: Duration,
    ) -> NodeSet {
        let own: Vec<Authority> = nodes.iter().map(|n| n.authority.clone()).collect();
        NodeSet {
            follows: nodes.len() > 1 || !node_map.is_empty(),
            configured: [
                AddressBook::new(node_map.to_vec()),
                AddressBook::of_nodes(&own),
            ],
            nodes,
            master: AtomicUsize::new(NONE),
            epoch: Instant::now(),
            learned: Mutex::new((AddressBook::default(), None)),
            learn_flight: tokio::sync::Mutex::new(()),
            deadlines,
            request_timeout,
            redirects_followed: AtomicU64::new(0),
            redirects_refused: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    /// Nanoseconds since this set was built: when an attempt started ([`Self::observe`]).
    pub(super) fn clock(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Observes the attempt on `node` that started at `since` ([`Self::clock`]) and has just
    /// got its response head or failed.
    pub(super) fn observe(&self, node: usize, since: u64) {
        let took = Duration::from_nanos(self.clock().saturating_sub(since));
        self.observed(node, took);
    }

    /// Observes one attempt on `node` that took `took`.
    pub(super) fn observed(&self, node: usize, took: Duration) {
        if let Some(n) = self.nodes.get(node) {
            n.latency.get().observe(took);
        }
    }

    pub(super) fn is_up(&self, node: usize) -> bool {
        self.nodes
            .get(node)
            .is_some_and(|n| n.down_until.load(Relaxed) <= self.now_ms())
    }

    pub(super) fn master(&self) -> Option<usize> {
        let m = self.master.load(Relaxed);
        (m < self.nodes.len()).then_some(m)
    }

    /// The first node to try for a request.
    pub(super) fn first(&self) -> usize {
        self.next(0).unwrap_or(0)
    }

    /// The next node to try, none of those in `tried` (a bit per node index).
    pub(super) fn next(&self, tried: u64) -> Option<usize> {
        let fresh = |i: &usize| *i < 64 && tried & (1 << i) == 0;
        if let Some(m) = self.master().filter(fresh) {
            if self.is_up(m) {
                return Some(m);
            }
        }
        let mut all = 0..self.nodes.len().min(64);
        all.clone()
            .filter(fresh)
            .find(|&i| self.is_up(i))
            .or_else(|| all.find(fresh))
    }

    /// A connect or TLS failure: the node is down for a backoff.
    pub(super) fn connect_failed(&self, node: usize) {
        let Some(n) = self.nodes.get(node) else {
            return;
        };
        let strikes = n.strikes.fetch_add(1, Relaxed).min(5);
        let backoff = (BACKOFF_MIN * 2u32.pow(strikes)).min(BACKOFF_MAX);
        let until = self.now_ms() + u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX);
        n.down_until.store(until, Relaxed);
    }

    /// Any HTTP answer: the node is up.
    pub(super) fn answered(&self, node: usize) {
        let Some(n) = self.nodes.get(node) else {
            return;
        };
        if n.down_until.load(Relaxed) != 0 {
            n.down_until.store(0, Relaxed);
        }
        if n.strikes.load(Relaxed) != 0 {
            n.strikes.store(0, Relaxed);
        }
    }

    /// `node` answered a versioned call (or the probe) without redirecting.
    pub(super) fn served(&self, node: usize) {
        self.answered(node);
        let Some(n) = self.nodes.get(node) else {
            return;
        };
        if n.follower.load(Relaxed) {
            n.follower.store(false, Relaxed);
        }
        let m = self.master.load(Relaxed);
        if m != node && (m == NONE || !self.is_up(m) || self.is_follower(m)) {
            self.master.store(node, Relaxed);
        }
    }

    /// `node` redirected a versioned call; to `to` when the target mapped to a node.
    pub(super) fn redirected(&self, node: usize, to: Option<usize>) {
        self.answered(node);
        if let Some(n) = self.nodes.get(node) {
            n.follower.store(true, Relaxed);
        }
        match to {
            Some(to) if to != node => self.master.store(to, Relaxed),
            _ => {
                let _ = self.master.compare_exchange(node, NONE, Relaxed, Relaxed);
            }
        }
    }

    fn is_follower(&self, node: usize) -> bool {
        self.nodes
            .get(node)
            .is_some_and(|n| n.follower.load(Relaxed))
    }

    /// The configured node that `to` names, from the map, the nodes' own addresses and what
    /// the cluster said.
    pub(super) fn map(&self, to: &super::redirect::Points, from: usize) -> Option<usize> {
        let learned = crate::locks::lock(&self.learned);
        let [explicit, own] = &self.configured;
        super::redirect::map(to, from, &[explicit, own, &learned.0])
    }

    /// The cluster's uid of configured node `node`, once `GET /v1/nodes` said it.
    pub(super) fn uid_of(&self, node: usize) -> Option<u64> {
        crate::locks::lock(&self.learned).0.uid_of(node)
    }

    /// When `GET /v1/nodes` was last tried (single-flight bookkeeping).
    pub(super) fn learned_at(&self) -> Option<Instant> {
        crate::locks::lock(&self.learned).1
    }

    pub(super) fn note_learning(&self, book: Option<AddressBook>) {
        let mut slot = crate::locks::lock(&self.learned);
        if let Some(book) = book {
            slot.0 = book;
        }
        slot.1 = Some(Instant::now());
    }

    pub(super) fn authorities(&self) -> Vec<Authority> {
        self.nodes.iter().map(|n| n.authority.clone()).collect()
    }

    /// Every node, in configured order.
    pub fn view(&self) -> Vec<NodeView> {
        let master = self.master();
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| NodeView {
                url: n.label.clone(),
                up: self.is_up(i),
                master: master == Some(i),
                follower: n.follower.load(Relaxed),
                requests: n.requests.load(Relaxed),
                failures: n.failures.load(Relaxed),
            })
            .collect()
    }

    /// Every node's label and attempt latencies (summed over the workers), in configured order.
    pub fn latencies(&self) -> Vec<(String, Merged)> {
        self.nodes
            .iter()
            .map(|n| (n.label.clone(), Merged::of(n.latency.iter())))
            .collect()
    }

    /// Redirects followed and refused (502 `upstream_redirect`) since this set was built.
    pub fn redirects(&self) -> (u64, u64) {
        (
            self.redirects_followed.load(Relaxed),
            self.redirects_refused.load(Relaxed),
        )
    }
}
