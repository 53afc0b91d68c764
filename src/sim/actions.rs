//! The `SMUpgradeBDB` action lifecycle: pending → active → completed (or failed, or stuck),
//! progress derived from elapsed time, and the database change applied at completion.
//!
//! Nothing runs in the background: [`tick`] brings every action up to date and is called under
//! the state lock before *every* read or write of the state (see [`super::Store`]), so a
//! completion applies at the first look after its deadline, whoever looks. Nobody can observe
//! the state between the deadline and that look, so this is indistinguishable from a timer.

use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::state::{Action, BdbModule, Module, SimState, STATUS_ACTIVE, STATUS_CHANGE_PENDING};

/// The state-machine name RS gives a database upgrade.
pub const UPGRADE_ACTION: &str = "SMUpgradeBDB";

/// Share of the duration spent `pending` before the action turns `active`.
const PENDING_SHARE: f64 = 0.1;
/// Where a failing or stuck action stops (share of the duration, and its progress).
const HALFWAY: f64 = 0.5;

/// How an action ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    Complete,
    /// Fails halfway with these fields on the action; nothing is applied.
    Fail {
        error_code: String,
        error_message: String,
    },
    /// Stays `active` at 50% forever; the database stays `active-change-pending`.
    Stall,
}

/// The change a completed upgrade applies to its database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    /// New (`redis_version`, `version`), when Redis moves.
    pub redis: Option<(String, String)>,
    /// (module_id being replaced, its replacement).
    pub modules: Vec<(String, BdbModule)>,
    /// A catalog entry added on completion (`POST /v2/modules`).
    pub add_module: Option<Module>,
    /// A catalog uid removed on completion (`DELETE /v2/modules/{uid}`).
    pub remove_module: Option<String>,
    // issue 22 (b): module config, revamp, syncer state, maintenance
    /// Fields of the database's JSON set on completion (`PUT /v1/bdbs/{uid}`, a revamp).
    pub bdb_fields: serde_json::Map<String, Value>,
}

/// Timing and outcome of an unfinished action.
#[derive(Debug, Clone)]
pub struct Run {
    pub started: Instant,
    pub duration: Duration,
    pub fate: Fate,
    pub change: Change,
}

/// Starts an upgrade action on database `bdb_uid` and marks the database busy with it.
/// Returns the new `action_uid`.
pub fn start(
    state: &mut SimState,
    bdb_uid: u64,
    change: Change,
    fate: Fate,
    duration: Duration,
) -> String {
    let object_name = format!("bdb:{bdb_uid}");
    let action_uid = start_named(state, UPGRADE_ACTION, &object_name, change, fate, duration);
    if let Some(bdb) = state.bdb_mut(bdb_uid) {
        bdb.status = STATUS_CHANGE_PENDING.to_owned();
        bdb.action_uid = Some(action_uid.clone());
    }
    action_uid
}

/// Starts an action `name` on `object_name` ("bdb:1", "module:<uid>"); returns its uid.
pub fn start_named(
    state: &mut SimState,
    name: &str,
    object_name: &str,
    change: Change,
    fate: Fate,
    duration: Duration,
) -> String {
    let action_uid = uuid::Uuid::new_v4().to_string();
    let creation_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    state.actions.push(Action {
        action_uid: action_uid.clone(),
        name: name.to_owned(),
        object_name: object_name.to_owned(),
        status: "pending".to_owned(),
        progress: 0.0,
        creation_time,
        error_code: None,
        error_message: None,
        run: Some(Run {
            started: Instant::now(),
            duration,
            fate,
            change,
        }),
    });
    action_uid
}

/// Brings every unfinished action up to `now`, finishing those whose time has come.
pub fn tick(state: &mut SimState, now: Instant) {
    for i in 0..state.actions.len() {
        let Some(run) = &state.actions[i].run else {
            continue;
        };
        let (status, progress, finished) = phase(run, now);
        let action = &mut state.actions[i];
        action.status = status.to_owned();
        action.progress = progress;
        if finished {
            if let Some(run) = action.run.take() {
                let uid = action.action_uid.clone();
                finish(state, i, &uid, run);
            }
        }
    }
}

/// (status, progress, finished) of a run at `now`.
fn phase(run: &Run, now: Instant) -> (&'static str, f64, bool) {
    let elapsed = now.saturating_duration_since(run.started).as_secs_f64();
    let share = match run.duration.as_secs_f64() {
        d if d > 0.0 => elapsed / d,
        _ => 1.0,
    };
    let rising = if share < PENDING_SHARE {
        ("pending", 0.0, false)
    } else {
        ("active", (share * 100.0).floor().min(99.0), false)
    };
    match run.fate {
        Fate::Complete if share >= 1.0 => ("completed", 100.0, true),
        Fate::Fail { .. } if share >= HALFWAY => ("failed", HALFWAY * 100.0, true),
        Fate::Stall if share >= HALFWAY => ("active", HALFWAY * 100.0, false),
        _ => rising,
    }
}

fn finish(state: &mut SimState, index: usize, action_uid: &str, run: Run) {
    let bdb_uid = state.actions[index].bdb_uid();
    if let Fate::Fail {
        error_code,
        error_message,
    } = &run.fate
    {
        let action = &mut state.actions[index];
        action.error_code = Some(error_code.clone());
        action.error_message = Some(error_message.clone());
    }
    if run.fate == Fate::Complete {
        if let Some(module) = &run.change.add_module {
            state.modules.push(module.clone());
        }
        if let Some(uid) = &run.change.remove_module {
            state.modules.retain(|m| &m.uid != uid);
        }
    }
    let Some(bdb) = bdb_uid.and_then(|uid| state.bdb_mut(uid)) else {
        return;
    };
    if run.fate == Fate::Complete {
        if let Some((redis_version, version)) = run.change.redis {
            bdb.redis_version = redis_version;
            bdb.version = version;
        }
        for (old_id, new) in run.change.modules {
            if let Some(slot) = bdb.module_list.iter_mut().find(|m| m.module_id == old_id) {
                *slot = new;
            }
        }
        // issue 22 (b): module config, revamp, syncer state, maintenance
        bdb.extra.extend(run.change.bdb_fields);
    }
    if bdb.action_uid.as_deref() == Some(action_uid) {
        bdb.status = STATUS_ACTIVE.to_owned();
        bdb.action_uid = None;
    }
}

/// `GET /v1/actions/{uid}`: `progress` as a string, as v1 task objects carry it on real
/// clusters (the docs' v1 example shows `"progress": "100"`); `creation_time` too, which is what
/// the `redis-enterprise` client crate decodes from real v1 replies (a number fails it).
pub fn render_v1(action: &Action) -> Value {
    let mut v = render_v2(action);
    v["progress"] = json!(format!("{}", action.progress));
    v["creation_time"] = json!(action.creation_time.to_string());
    v["node_uid"] = json!("1");
    if let Some(obj) = v.as_object_mut() {
        obj.remove("pending_ops");
    }
    v
}

/// `GET /v2/actions/{uid}` and `GET /v1/actions/bdb/{uid}`: `progress` as a number.
pub fn render_v2(action: &Action) -> Value {
    let mut v = json!({
        "action_uid": action.action_uid,
        "name": action.name,
        "object_name": action.object_name,
        "status": action.status,
        "progress": action.progress,
        "creation_time": action.creation_time,
        "pending_ops": {},
    });
    // Module upload/delete actions are tasks (API-RULES §4.3, proposal); upgrades are state
    // machines and keep the shape they always had here.
    if action.object_name.starts_with("module:") {
        v["action_type"] = json!("task");
    }
    if let (Some(code), Some(obj)) = (&action.error_code, v.as_object_mut()) {
        obj.insert("error_code".into(), json!(code));
        obj.insert(
            "error_message".into(),
            json!(action.error_message.clone().unwrap_or_default()),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::seed::seed;
    use crate::sim::version::SimVersion;

    fn run(fate: Fate) -> Run {
        Run {
            started: Instant::now(),
            duration: Duration::from_secs(10),
            fate,
            change: Change::default(),
        }
    }

    #[test]
    fn completing_action_rises_then_completes() {
        let r = run(Fate::Complete);
        let at = |s: u64| phase(&r, r.started + Duration::from_millis(s));
        assert_eq!(at(0), ("pending", 0.0, false));
        assert_eq!(at(4_200), ("active", 42.0, false));
        assert_eq!(at(10_000), ("completed", 100.0, true));
    }

    #[test]
    fn failing_action_stops_halfway_and_stuck_one_never_ends() {
        let fail = run(Fate::Fail {
            error_code: "x".into(),
            error_message: "y".into(),
        });
        assert_eq!(
            phase(&fail, fail.started + Duration::from_secs(6)),
            ("failed", 50.0, true)
        );
        let stuck = run(Fate::Stall);
        assert_eq!(
            phase(&stuck, stuck.started + Duration::from_secs(3600)),
            ("active", 50.0, false)
        );
    }

    #[test]
    fn completion_applies_the_change_and_frees_the_database() {
        let mut s = seed(SimVersion::V8_0);
        let change = Change {
            redis: Some(("8.0".into(), "8.0.2".into())),
            ..Change::default()
        };
        let uid = start(&mut s, 2, change, Fate::Complete, Duration::ZERO);
        assert_eq!(
            s.bdb(2).map(|b| b.status.as_str()),
            Some(STATUS_CHANGE_PENDING)
        );
        tick(&mut s, Instant::now());
        let bdb = s.bdb(2).expect("bdb 2");
        assert_eq!(
            (bdb.redis_version.as_str(), bdb.action_uid.as_deref()),
            ("8.0", None)
        );
        assert_eq!(s.action(&uid).map(|a| a.status.as_str()), Some("completed"));
    }
}
