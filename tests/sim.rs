//! The simulated Redis Software cluster over real sockets: every route, the upgrade action's
//! lifecycle, the 7.8.2 trap, the old route's native answers, auth, fault switches, state files
//! and TLS. Each area has its own file under `tests/sim/`.

mod support;

#[path = "sim/reads.rs"]
mod reads;

#[path = "sim/actions.rs"]
mod actions;

#[path = "sim/trap.rs"]
mod trap;

#[path = "sim/new_route.rs"]
mod new_route;

#[path = "sim/old_route.rs"]
mod old_route;

#[path = "sim/auth.rs"]
mod auth;

#[path = "sim/faults.rs"]
mod faults;

#[path = "sim/state_and_tls.rs"]
mod state_and_tls;

#[path = "sim/jwt.rs"]
mod jwt;

#[path = "sim/certs.rs"]
mod certs;

#[path = "sim/uploads.rs"]
mod uploads;

#[path = "sim/debuginfo.rs"]
mod debuginfo;

#[path = "sim/redis8.rs"]
mod redis8;
