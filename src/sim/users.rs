//! The simulated cluster's users: the two built-in ones ([`DEMO_ADMIN`], [`DEMO_VIEWER`]), each
//! with a *list* of passwords, any of which Basic auth accepts (RS's password rotation:
//! `POST /v1/users/password` adds one, `DELETE` removes one, `PUT` replaces the list; see
//! [`super::users_password`]).
//!
//! Decisions:
//! - Passwords are secrets: `GET /__sim/state` shows each user's `password_count`, never a
//!   password, and `Debug` shows the same. So a state file cannot carry passwords, and a loaded
//!   state starts with the built-in users and their built-in passwords.
//! - A user holds at most [`MAX_PASSWORDS`] passwords (the request body is bounded, the list
//!   must be too); RS documents no limit.
//! - The built-in users have fixed uids (admin 1, viewer 2); `POST /v1/users` adds users
//!   ([`super::fields::create_user`]), `PUT /v1/users/{uid}` updates one
//!   ([`super::users_update`]); no route deletes users.

use serde::ser::{Serialize, SerializeSeq, Serializer};
use serde_json::{json, Map, Value};
use std::fmt;

use super::auth::{Role, DEMO_ADMIN, DEMO_VIEWER};

/// Most passwords one user can hold at once.
pub const MAX_PASSWORDS: usize = 32;

/// One user.
#[derive(Clone)]
pub struct User {
    pub uid: u64,
    pub username: String,
    pub role: Role,
    /// Given at create (`role_uids`, F1); empty for `role` and the built-in users.
    pub role_uids: Vec<u64>,
    /// Other keys a `PUT` set (`name`, `email`, alerts), kept as given.
    pub extra: Map<String, Value>,
    passwords: Vec<String>,
}

impl User {
    fn new(uid: u64, (username, password): (&str, &str), role: Role) -> User {
        User {
            uid,
            username: username.to_owned(),
            role,
            role_uids: Vec::new(),
            extra: Map::new(),
            passwords: vec![password.to_owned()],
        }
    }

    pub fn has_password(&self, password: &str) -> bool {
        self.passwords.iter().any(|p| p == password)
    }

    pub fn password_count(&self) -> usize {
        self.passwords.len()
    }

    /// Replaces the list with one password.
    pub fn replace_passwords(&mut self, password: &str) {
        self.passwords = vec![password.to_owned()];
    }

    /// Adds a password; `false` when the list is full.
    pub fn add_password(&mut self, password: &str) -> bool {
        if self.passwords.len() >= MAX_PASSWORDS {
            return false;
        }
        self.passwords.push(password.to_owned());
        true
    }

    /// Removes a password; `false` when it is not in the list.
    pub fn remove_password(&mut self, password: &str) -> bool {
        let before = self.passwords.len();
        self.passwords.retain(|p| p != password);
        self.passwords.len() != before
    }
}

/// Every user of the cluster.
#[derive(Clone)]
pub struct Users(Vec<User>);

impl Default for Users {
    /// The built-in admin (uid 1) and `db_viewer` (uid 2), one password each.
    fn default() -> Self {
        Users(vec![
            User::new(1, DEMO_ADMIN, Role::Admin),
            User::new(2, DEMO_VIEWER, Role::DbViewer),
        ])
    }
}

impl Users {
    /// A new user with one password (`POST /v1/users`); its uid.
    pub fn create(&mut self, username: &str, password: &str, role: Role, uids: Vec<u64>) -> u64 {
        let uid = self.0.iter().map(|u| u.uid).max().unwrap_or(0) + 1;
        let mut user = User::new(uid, (username, password), role);
        user.role_uids = uids;
        self.0.push(user);
        uid
    }

    pub fn find(&self, username: &str) -> Option<&User> {
        self.0.iter().find(|u| u.username == username)
    }

    pub fn find_mut(&mut self, username: &str) -> Option<&mut User> {
        self.0.iter_mut().find(|u| u.username == username)
    }

    pub fn by_uid(&self, uid: u64) -> Option<&User> {
        self.0.iter().find(|u| u.uid == uid)
    }

    pub fn by_uid_mut(&mut self, uid: u64) -> Option<&mut User> {
        self.0.iter_mut().find(|u| u.uid == uid)
    }

    /// Whether `uid` is the only admin.
    pub fn is_last_admin(&self, uid: u64) -> bool {
        let admins: Vec<u64> = (self.0.iter())
            .filter(|u| u.role == Role::Admin)
            .map(|u| u.uid)
            .collect();
        admins == [uid]
    }

    /// The user `username` when `password` is one of theirs.
    pub fn check(&self, username: &str, password: &str) -> Option<&User> {
        self.find(username).filter(|u| u.has_password(password))
    }
}

pub(super) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::DbViewer => "db_viewer",
    }
}

impl Serialize for Users {
    /// `[{"uid", "username", "role", "password_count"}]`: counts, never passwords.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for u in &self.0 {
            let mut shown = json!({
                "uid": u.uid,
                "username": u.username,
                "role": role_name(u.role),
                "password_count": u.passwords.len(),
            });
            if let Some(o) = shown.as_object_mut() {
                if !u.role_uids.is_empty() {
                    o.insert("role_uids".into(), json!(u.role_uids));
                }
                for (k, v) in &u.extra {
                    o.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            seq.serialize_element(&shown)?;
        }
        seq.end()
    }
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<(&str, usize)> = self
            .0
            .iter()
            .map(|u| (u.username.as_str(), u.passwords.len()))
            .collect();
        write!(f, "Users({counts:?})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_password_of_the_list_authenticates() {
        let mut users = Users::default();
        let admin = users.find_mut(DEMO_ADMIN.0).expect("admin");
        assert!(admin.add_password("second"));
        assert!(users.check(DEMO_ADMIN.0, "second").is_some());
        assert!(users.check(DEMO_ADMIN.0, DEMO_ADMIN.1).is_some());
        assert!(users.check(DEMO_ADMIN.0, DEMO_VIEWER.1).is_none());
        assert!(users.check("nobody", "second").is_none());
    }

    #[test]
    fn lists_are_bounded_and_shown_as_counts_only() {
        let mut users = Users::default();
        let viewer = users.find_mut(DEMO_VIEWER.0).expect("viewer");
        for i in 1..MAX_PASSWORDS {
            assert!(viewer.add_password(&format!("p{i}")));
        }
        assert!(!viewer.add_password("one too many"));
        assert!(viewer.remove_password("p1") && !viewer.remove_password("p1"));
        let shown = serde_json::to_value(&users).expect("json");
        assert_eq!(shown[1]["password_count"], MAX_PASSWORDS - 1);
        assert_eq!(shown[0]["role"], "admin");
        let text = format!("{shown} {users:?}");
        assert!(
            !text.contains(DEMO_ADMIN.1) && !text.contains("p2"),
            "{text}"
        );
    }
}
