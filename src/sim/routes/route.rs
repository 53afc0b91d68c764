//! What the simulated cluster recognises: a [`Route`] per request it serves, the debuginfo
//! [`Scope`] of a package, and the [`Access`] each route needs.

/// A recognised request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    // issue 22 (b): module config, revamp, syncer state, maintenance
    /// `POST /v1/modules/config/bdb/{uid}` or `POST /v1/bdbs/{uid}/modules/config` (R14).
    ModuleConfig(u64),
    /// `PUT /v1/bdbs/{uid}`: an asynchronous update (R14's `module_list` and 8.x objects).
    BdbUpdate(u64),
    /// `GET /v1/bdbs/{uid}/actions/optimize_shards_placement` (R15).
    OptimizeShards(u64),
    /// `PUT /v1/bdbs/{uid}/actions/revamp` (R15; 7.22 and later).
    Revamp(u64),
    /// `GET /v1/bdbs/{uid}/syncer_state`, `…/syncer_state/crdt`, `…/syncer_state/replica` (R16).
    SyncerState(u64, crate::sim::syncer::Syncer),
    /// `POST /v1/nodes/{uid}/actions/maintenance_on` (`on`) or `…/maintenance_off` (R17).
    Maintenance {
        node: u64,
        on: bool,
    },
    Bdbs,
    Bdb(u64),
    Modules,
    Module(String),
    Nodes,
    Cluster,
    ActionV1(String),
    ActionV2(String),
    BdbActions(u64),
    /// `GET /v1/actions`: every action (issue 21: where the shim looks for a module delete
    /// whose reply was lost).
    Actions,
    /// `POST /v1/bdbs/{uid}/upgrade`, the new route.
    Upgrade(u64),
    /// `POST /v1/bdbs/{uid}/modules/upgrade`, the old route's non-deprecated sibling.
    ModulesUpgrade(u64),
    /// `POST /v1/modules/upgrade/bdb/{uid}`, the deprecated route.
    LegacyUpgrade(u64),
    /// `GET /v1/bootstrap`.
    Bootstrap,
    /// `PUT /v1/cluster`.
    ClusterUpdate,
    /// `POST /v1/bdbs` / `POST /v2/bdbs` (`{"bdb": …}`): a new database (field rules).
    BdbCreate {
        v2: bool,
    },
    /// `POST /v1/users`: a new user (F1).
    UserCreate,
    /// `PUT /v1/users/{uid}`: a user's update (F1).
    UserUpdate(u64),
    /// `GET /v1/roles` (F1's look-up).
    Roles,
    /// `POST /v1/roles`: a new role.
    RoleCreate,
    /// `GET /v1/redis_acls` (F2's reply side).
    RedisAcls,
    /// `POST /v1/redis_acls`: a new Redis ACL.
    RedisAclCreate,
    /// `POST /v1/users/authorize`: authenticates itself (body or header, by release).
    Authorize,
    /// `POST /v1/users/refresh_jwt`: authenticates itself (a live token).
    RefreshJwt,
    /// `PUT /v1/cluster/update_cert` (`false`) or `PUT /v1/cluster/certificates` (`true`).
    Certificates {
        bulk: bool,
    },
    /// `POST /v1/modules` (`v2: false`) or `POST /v2/modules`.
    ModuleUpload {
        v2: bool,
    },
    /// `DELETE /v1/modules/{uid}` or `DELETE /v2/modules/{uid}`.
    ModuleDelete {
        v2: bool,
        uid: String,
    },
    /// `POST /v2/modules/user-defined` (8.x).
    UserDefinedCreate,
    /// `DELETE /v2/modules/user-defined/{uid}` (8.x).
    UserDefinedDelete(String),
    /// `POST /v2/local/modules/user-defined/artifacts` (8.x).
    ArtifactUpload,
    /// `GET /v2/local/modules/user-defined/artifacts` (8.x).
    Artifacts,
    /// Any debuginfo route, old or new.
    Debuginfo(Scope),
    // issue 22 (a): password, stats, license, logs
    /// `PUT|POST|DELETE /v1/users/password` (R13): authenticates itself, by release and build.
    UsersPassword(crate::sim::users_password::PasswordOp),
    /// One of the 15 v1 statistics routes (R18), `GET`.
    Stats(crate::sim::stats_v1::StatsRoute),
    /// `GET /v1/license`.
    License,
    /// `GET /v1/logs`.
    Logs,
}

/// What a debuginfo package covers, which is all that tells the routes apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `/v1/debuginfo/all`, `/v1/cluster/debuginfo`.
    Cluster,
    /// `/v1/debuginfo/node` (the answering node), `/v1/nodes/{uid}/debuginfo`.
    Node(Option<u64>),
    /// `/v1/debuginfo/all/bdb/{uid}`, `/v1/bdbs/{uid}/debuginfo`.
    Bdb(u64),
    /// `/v1/debuginfo/node/bdb/{uid}`: one database, the answering node only.
    NodeBdb(u64),
}

/// The permission a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    /// `edit_bdb_module`, `update_cluster`, `manage_cluster_modules`, ...: admin only here.
    Write,
    /// `view_debugging_info`: admin yes, db_viewer no.
    Debug,
}

impl Route {
    pub fn access(&self) -> Access {
        match self {
            // issue 22 (b): module config, revamp, syncer state, maintenance
            Route::ModuleConfig(_)
            | Route::BdbUpdate(_)
            | Route::Revamp(_)
            | Route::Maintenance { .. } => Access::Write,
            Route::Upgrade(_)
            | Route::ModulesUpgrade(_)
            | Route::LegacyUpgrade(_)
            | Route::ClusterUpdate
            | Route::BdbCreate { .. }
            | Route::UserCreate
            | Route::UserUpdate(_)
            | Route::RoleCreate
            | Route::RedisAclCreate
            | Route::Certificates { .. }
            | Route::ModuleUpload { .. }
            | Route::ModuleDelete { .. }
            | Route::UserDefinedCreate
            | Route::UserDefinedDelete(_)
            | Route::ArtifactUpload => Access::Write,
            Route::Debuginfo(_) => Access::Debug,
            _ => Access::Read,
        }
    }
}
