//! People and the roles they hold; approvals are signed by role.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A role id such as `qa_lead`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Role(pub String);

impl Role {
    pub fn new(s: impl Into<String>) -> Self {
        Role(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    pub id: Role,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    pub roles: Vec<Role>,
    /// The OS accounts this person logs in as. `shipdeck attach --as NAME` (and a
    /// command with `--as NAME` through a release's socket) is accepted only from
    /// one of these, as the kernel reports the peer; a person with none listed can
    /// be named only by the OS user of that same name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub os_users: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Roster {
    pub roles: Vec<RoleDef>,
    pub people: Vec<Person>,
}

impl Roster {
    pub fn person(&self, name: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.name == name)
    }
    pub fn roles_of(&self, name: &str) -> Vec<Role> {
        self.person(name)
            .map(|p| p.roles.clone())
            .unwrap_or_default()
    }
    pub fn has_role(&self, name: &str, role: &Role) -> bool {
        self.person(name).is_some_and(|p| p.roles.contains(role))
    }
    /// Whether OS user `user` may act as `name`: the person lists `user` among their
    /// OS accounts, or lists none and has the same name as the OS user.
    pub fn maps_os_user(&self, name: &str, user: &str) -> bool {
        match self.person(name) {
            Some(p) if !p.os_users.is_empty() => p.os_users.iter().any(|u| u == user),
            _ => name == user,
        }
    }

    /// The people OS user `user` may act as, by [`Roster::maps_os_user`].
    pub fn people_of_os_user(&self, user: &str) -> Vec<&Person> {
        self.people
            .iter()
            .filter(|p| self.maps_os_user(&p.name, user))
            .collect()
    }

    pub fn role_title(&self, role: &Role) -> String {
        self.roles
            .iter()
            .find(|r| &r.id == role)
            .map(|r| r.title.clone())
            .unwrap_or_else(|| role.to_string())
    }
}
