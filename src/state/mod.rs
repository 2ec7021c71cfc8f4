//! What patchform last saw and did: the last scan, first-seen times of package versions, and
//! the history of applies. Behind a `Backend` so the local file and PostgreSQL are
//! interchangeable.
//!
//! Invariants: a write is atomic (readers see the old or the new state, never a mix); a
//! writer whose serial is behind the stored one is refused; every writing command holds the
//! lock for its whole run.

pub mod local;
pub mod pg;

use crate::compliance::FirstSeen;
use crate::inventory::{HostFacts, Inventory};
use crate::pkg::PackageName;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Bumped on any incompatible change to the state's JSON shape.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub format_version: u32,
    /// Identifies one state's history; a plan made against another lineage is refused.
    pub lineage: String,
    /// Incremented by every write.
    pub serial: u64,
    pub last_scan: Option<Inventory>,
    /// Package name to version to the first time a scan saw that version available.
    pub first_seen: BTreeMap<String, BTreeMap<String, jiff::Timestamp>>,
    pub hosts: BTreeMap<String, HostRecord>,
    pub history: Vec<ApplyRecord>,
}

/// What patchform remembers per host between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRecord {
    /// Packages whose last install attempt failed: `FAILED` until they install.
    pub failed_packages: BTreeSet<PackageName>,
    pub last_apply: Option<jiff::Timestamp>,
}

/// One apply, as the report and `state show` present it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyRecord {
    pub id: String,
    pub plan_digest: String,
    pub started_at: jiff::Timestamp,
    pub finished_at: Option<jiff::Timestamp>,
    /// `-ignore-window` was given: recorded so nobody mistakes it for a windowed run.
    pub ignored_window: bool,
    pub hosts: BTreeMap<String, HostApplyRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostApplyRecord {
    pub outcome: String,
    pub failure_class: Option<String>,
    pub message: Option<String>,
    pub started_at: Option<jiff::Timestamp>,
    pub finished_at: Option<jiff::Timestamp>,
    /// Package name to final version and state (`INSTALLED`, `FAILED`, ...).
    pub packages: BTreeMap<String, PackageApplyRecord>,
    pub rebooted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageApplyRecord {
    pub from: Option<String>,
    pub to: String,
    pub state: String,
}

impl State {
    pub fn new(lineage: String) -> State {
        State {
            format_version: FORMAT_VERSION,
            lineage,
            serial: 0,
            last_scan: None,
            first_seen: BTreeMap::new(),
            hosts: BTreeMap::new(),
            history: Vec::new(),
        }
    }

    pub fn new_lineage() -> String {
        uuid::Uuid::new_v4().to_string()
    }

    /// Parses state JSON, refusing other format versions and truncated or edited files.
    pub fn from_json(text: &str) -> Result<State, String> {
        check_format(text)?;
        let _shared = crate::pkg::InternScope::new();
        serde_json::from_str(text)
            .map_err(|e| format!("the state does not have the expected shape ({e})"))
    }

    /// Pretty-printed, for people (`state pull`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Compact, as backends store it: a third smaller than `to_json` and as much faster to
    /// write and read (`jq . FILE` pretty-prints it).
    pub fn to_compact_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default() + "\n"
    }

    /// Records a scan: replaces reachable hosts' facts, keeps the previous facts of hosts that
    /// could not be scanned this time (marked as such), and notes first-seen times.
    pub fn record_scan(&mut self, inventory: &Inventory) {
        let mut merged = inventory.clone();
        if let Some(previous) = &self.last_scan {
            for (name, facts) in &previous.hosts {
                merged
                    .hosts
                    .entry(name.clone())
                    .or_insert_with(|| facts.clone());
            }
        }
        for facts in inventory.hosts.values() {
            let HostFacts::Scanned(snapshot) = facts else {
                continue;
            };
            for (name, update) in &snapshot.updates {
                let versions = self.first_seen.entry(name.as_str().to_owned()).or_default();
                for version in &update.versions {
                    versions
                        .entry(version.version.as_str().to_owned())
                        .or_insert(inventory.scanned_at);
                }
            }
        }
        self.last_scan = Some(merged);
    }

    pub fn first_seen(&self) -> FirstSeen {
        let mut out = FirstSeen::new();
        for (name, versions) in &self.first_seen {
            let Ok(package) = PackageName::parse(name) else {
                continue;
            };
            for (version, at) in versions {
                if let Ok(version) = crate::pkg::Version::parse(version) {
                    out.insert((package.clone(), version), *at);
                }
            }
        }
        out
    }
}

/// The fields a writer checks before replacing a stored state.
#[derive(Deserialize)]
struct Header {
    format_version: u32,
    #[serde(default)]
    lineage: String,
    #[serde(default)]
    serial: u64,
}

/// Reads the header of state JSON, refusing other format versions and text that is not
/// complete JSON. The rest is only scanned for syntax, not built.
fn check_format(text: &str) -> Result<Header, String> {
    let header: Header = serde_json::from_str(text)
        .map_err(|e| format!("the state is not valid JSON ({e}); it may be truncated"))?;
    if header.format_version != FORMAT_VERSION {
        return Err(format!(
            "state format_version {} is not supported (this patchform reads {FORMAT_VERSION})",
            header.format_version
        ));
    }
    Ok(header)
}

/// The lineage and serial of stored state JSON, checked as `State::from_json` checks it but
/// without building the state: what a write needs to know about the state it replaces.
pub fn lineage_and_serial(text: &str) -> Result<(String, u64), String> {
    check_format(text).map(|header| (header.lineage, header.serial))
}

/// Who holds a lock, for the message a refused command prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub operation: String,
    pub who: String,
    pub host: String,
    pub pid: u32,
    pub created: jiff::Timestamp,
    pub version: String,
}

impl LockInfo {
    pub fn new(operation: &str, now: jiff::Timestamp) -> LockInfo {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".to_owned());
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.to_owned(),
            who: user,
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            created: now,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ID {}, operation {}, held by {}@{} (pid {}) since {}",
            self.id, self.operation, self.who, self.host, self.pid, self.created
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the state is locked: {holder}. Wait for that command to finish, retry with -lock-timeout=DURATION, or if it is dead run `patchform force-unlock {}`", holder.id)]
    Locked { holder: Box<LockInfo> },
    #[error(
        "the state is locked by another process and its lock information could not be read ({detail})"
    )]
    LockedUnknown { detail: String },
    #[error("cannot read state {path}: {detail}")]
    Read { path: String, detail: String },
    #[error("cannot write state {path}: {detail}. The previous state is intact")]
    Write { path: String, detail: String },
    #[error(
        "refusing to write state serial {attempted}: the stored state is at serial {stored} (lineage {lineage}). Another command wrote it in between; run the command again"
    )]
    StaleSerial {
        attempted: u64,
        stored: u64,
        lineage: String,
    },
    #[error(
        "refusing to write state of lineage {attempted} over lineage {stored}; they are different states"
    )]
    LineageMismatch { attempted: String, stored: String },
    #[error("lock ID {given} does not match the current lock {actual}")]
    WrongLockId { given: String, actual: String },
    #[error("the state is not locked")]
    NotLocked,
    #[error(
        "the state lock was lost (its database connection ended); refusing to write state. Nothing was written after the loss; run the command again"
    )]
    LockLost,
    #[error(
        "\"{0}\" is not a valid workspace name: use letters, digits, '-', '_' and '.', not starting with '.', at most 90 characters"
    )]
    WorkspaceName(String),
    #[error("{0}")]
    Backend(String),
}

/// The name of the workspace every backend has and nobody can delete.
pub const DEFAULT_WORKSPACE: &str = "default";

/// Checks a workspace name: it becomes a directory name (local) and a key (pg), so it must
/// not contain path separators or start with a dot.
pub fn check_workspace_name(name: &str) -> Result<(), StateError> {
    let valid = !name.is_empty()
        && name.len() <= 90
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(StateError::WorkspaceName(name.to_owned()))
    }
}

/// Set once a backend's lock is gone. Cloned into whatever must stop when that happens (the
/// apply walk), so they need not share the backend itself.
#[derive(Debug, Clone, Default)]
pub struct LockLoss(Arc<AtomicBool>);

impl LockLoss {
    pub fn is_lost(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    fn mark(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Where state lives. A backend locks, reads and writes one workspace's state.
pub trait Backend: Send {
    /// Takes the lock for the whole command, waiting up to `timeout`.
    fn lock(&mut self, info: &LockInfo, timeout: Duration) -> Result<(), StateError>;
    fn unlock(&mut self) -> Result<(), StateError>;
    /// Removes a lock left by a dead command, if `id` is the recorded one.
    fn force_unlock(&mut self, id: &str) -> Result<(), StateError>;
    fn read(&mut self) -> Result<Option<State>, StateError>;
    /// Writes `state`, whose serial must be exactly one above the stored one.
    fn write(&mut self, state: &State) -> Result<(), StateError>;
    /// Writes `state` as it is (lineage and serial kept: `state push`, migration), provided
    /// the stored state's serial is still `expected` (`None`: no state stored).
    fn replace(&mut self, state: &State, expected: Option<u64>) -> Result<(), StateError>;
    /// Every workspace with state, plus `default`, sorted.
    fn workspaces(&mut self) -> Result<Vec<String>, StateError>;
    /// Deletes this backend's workspace and its state (never `default`).
    fn delete_workspace(&mut self) -> Result<(), StateError>;
    /// Tells whether the lock taken by `lock` has been lost. Backends whose lock cannot be
    /// lost while the process lives (the local file lock) keep the default.
    fn lock_loss(&self) -> LockLoss {
        LockLoss::default()
    }
    /// Describes where the state is, for messages (never with a password).
    fn describe(&self) -> String;
}

/// Checks that `next` may replace `stored`: same lineage, serial exactly one higher.
pub fn check_successor(stored: Option<&State>, next: &State) -> Result<(), StateError> {
    check_successor_of(stored.map(|s| (s.lineage.as_str(), s.serial)), next)
}

/// `check_successor` for a backend that reads only the stored lineage and serial.
pub fn check_successor_of(stored: Option<(&str, u64)>, next: &State) -> Result<(), StateError> {
    let Some((lineage, serial)) = stored else {
        return Ok(());
    };
    if lineage != next.lineage {
        return Err(StateError::LineageMismatch {
            attempted: next.lineage.clone(),
            stored: lineage.to_owned(),
        });
    }
    if next.serial != serial + 1 {
        return Err(StateError::StaleSerial {
            attempted: next.serial,
            stored: serial,
            lineage: lineage.to_owned(),
        });
    }
    Ok(())
}

/// Checks a `state push` as Terraform does: the lineage must match and the serial must be
/// higher; `Force::Yes` allows any lineage and serial.
pub fn check_push(stored: Option<&State>, next: &State, force: Force) -> Result<(), StateError> {
    let Some(stored) = stored else { return Ok(()) };
    if force == Force::Yes {
        return Ok(());
    }
    if stored.lineage != next.lineage {
        return Err(StateError::LineageMismatch {
            attempted: next.lineage.clone(),
            stored: stored.lineage.clone(),
        });
    }
    if next.serial <= stored.serial {
        return Err(StateError::StaleSerial {
            attempted: next.serial,
            stored: stored.serial,
            lineage: stored.lineage.clone(),
        });
    }
    Ok(())
}

/// Whether a user asked to override a safety check (`-force`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Force {
    No,
    Yes,
}

impl State {
    /// Whether the state records anything: `workspace delete` refuses a non-empty one.
    pub fn is_empty(&self) -> bool {
        self.last_scan.is_none() && self.hosts.is_empty() && self.history.is_empty()
    }
}

/// Where state lives, as `init` resolved it and stored it in `.patchform/backend.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BackendConfig {
    Local { path: String },
    Pg { settings: BTreeMap<String, String> },
}

impl BackendConfig {
    /// Opens the backend of one workspace.
    pub fn open(&self, workspace: &str) -> Result<Box<dyn Backend>, StateError> {
        check_workspace_name(workspace)?;
        match self {
            BackendConfig::Local { path } => Ok(Box::new(local::LocalBackend::for_workspace(
                std::path::Path::new(path),
                workspace,
            ))),
            BackendConfig::Pg { settings } => Ok(Box::new(pg::PgBackend::new(
                pg::PgSettings::from_settings(settings)?,
                workspace,
            ))),
        }
    }

    /// Describes the backend for messages, without any password.
    pub fn describe(&self) -> String {
        match self {
            BackendConfig::Local { path } => format!("local state {path}"),
            BackendConfig::Pg { settings } => match pg::PgSettings::from_settings(settings) {
                Ok(pg) => pg.describe(),
                Err(_) => "PostgreSQL (invalid settings)".to_owned(),
            },
        }
    }
}
