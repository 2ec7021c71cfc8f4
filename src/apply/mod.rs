//! Apply: executes a plan's steps in dependency order, within the limits and windows the plan
//! recorded. It decides nothing the plan did not: it may only refuse to start or stop.
//!
//! Invariant: patchform never interrupts dpkg. A stop request (cutoff with `CANCEL_TASK`, a
//! second SIGINT) takes effect between steps, never during an install, and installs run
//! detached from the SSH session so a lost connection cannot kill them either.

mod executor;
mod host;

pub use executor::{Stop, run};

use crate::model;
use crate::plan::{HostStatus, Plan};
use crate::state::State;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Whether maintenance windows are enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowPolicy {
    Enforce,
    /// `-ignore-window`: recorded in state and report.
    Ignore,
}

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub window: WindowPolicy,
    /// How long a rebooting host may take to come back with a new boot_id.
    pub reboot_timeout: Duration,
    /// Deadline of each remote command other than the install.
    pub command_timeout: Duration,
    /// Deadline of the install itself.
    pub install_timeout: Duration,
    /// How long apt waits for another process's dpkg lock.
    pub dpkg_lock_timeout: Duration,
    /// Unique id of this run, used for the install log on the host.
    pub run_id: String,
}

/// Why a host failed, as the report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    DpkgLock,
    Download,
    DependencyConflict,
    MaintainerScript,
    ConnectionLost,
    Timeout,
    VerificationMismatch,
    Unreachable,
    PreHook,
    PostHook,
    HealthCheck,
    RebootTimeout,
    Cancelled,
    Other,
}

impl FailureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::DpkgLock => "dpkg lock not acquired in time",
            FailureClass::Download => "download failure",
            FailureClass::DependencyConflict => "dependency conflict",
            FailureClass::MaintainerScript => "maintainer-script failure",
            FailureClass::ConnectionLost => "connection lost",
            FailureClass::Timeout => "timeout",
            FailureClass::VerificationMismatch => "verification mismatch",
            FailureClass::Unreachable => "unreachable",
            FailureClass::PreHook => "pre_hook failed",
            FailureClass::PostHook => "post_hook failed",
            FailureClass::HealthCheck => "health check failed",
            FailureClass::RebootTimeout => "reboot did not complete in time",
            FailureClass::Cancelled => "cancelled",
            FailureClass::Other => "failed",
        }
    }
}

/// How one host ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HostOutcome {
    Succeeded,
    Failed {
        class: FailureClass,
        message: String,
    },
    /// Not attempted because of something upstream (a failed group, a failed pre_hook).
    Skipped {
        reason: String,
    },
    /// Never started: error budget spent, cutoff reached, or interrupted.
    NotStarted {
        reason: String,
    },
}

impl HostOutcome {
    pub fn word(&self) -> &'static str {
        match self {
            HostOutcome::Succeeded => "SUCCEEDED",
            HostOutcome::Failed { .. } => "FAILED",
            HostOutcome::Skipped { .. } => "SKIPPED",
            HostOutcome::NotStarted { .. } => "NOT_STARTED",
        }
    }
}

/// A package's final state after apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PackageState {
    Installed,
    Failed,
    /// dpkg unpacked it but its configuration did not finish.
    HalfConfigured,
    NotAttempted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageResult {
    pub name: String,
    pub from: Option<String>,
    pub to: String,
    pub state: PackageState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostReport {
    pub host: String,
    pub group: Option<String>,
    #[serde(flatten)]
    pub outcome: HostOutcome,
    pub started_at: Option<jiff::Timestamp>,
    pub finished_at: Option<jiff::Timestamp>,
    pub packages: Vec<PackageResult>,
    pub rebooted: bool,
    /// The last lines apt printed, for failed installs.
    pub log_tail: Option<String>,
}

impl HostReport {
    pub(crate) fn new(
        host: &str,
        group: Option<&str>,
        outcome: HostOutcome,
        plan: &Plan,
    ) -> HostReport {
        let packages = plan
            .hosts
            .get(host)
            .map(|h| {
                h.changes
                    .iter()
                    .map(|c| PackageResult {
                        name: c.name.as_str().to_owned(),
                        from: c.from.as_ref().map(|v| v.as_str().to_owned()),
                        to: c.to.as_str().to_owned(),
                        state: PackageState::NotAttempted,
                    })
                    .collect()
            })
            .unwrap_or_default();
        HostReport {
            host: host.to_owned(),
            group: group.map(str::to_owned),
            outcome,
            started_at: None,
            finished_at: None,
            packages,
            rebooted: false,
            log_tail: None,
        }
    }

    pub fn duration_seconds(&self) -> Option<f64> {
        let (Some(start), Some(end)) = (self.started_at, self.finished_at) else {
            return None;
        };
        Some((end - start).as_secs_f64())
    }
}

/// What apply reports while it runs.
#[derive(Debug, Clone)]
pub enum Event {
    HostStarted { host: String, group: Option<String> },
    Step { host: String, step: &'static str },
    HostFinished(Box<HostReport>),
    GroupFinished { group: String, succeeded: bool },
}

/// Why apply refused to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    StaleState { detail: String },
    StaleHost { host: String, what: &'static str },
    WindowClosed { group: String, detail: String },
    UnknownHost { host: String },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::StaleState { detail } => write!(
                f,
                "Saved plan is stale: {detail}. Run `patchform plan` again"
            ),
            Refusal::StaleHost { host, what } => write!(
                f,
                "Saved plan is stale: host {host}'s {what} changed since the plan was made. Run `patchform plan` again"
            ),
            Refusal::WindowClosed { group, detail } => write!(
                f,
                "{group} is outside its maintenance window: {detail}. Apply inside the window, or pass -ignore-window (recorded in state and report)"
            ),
            Refusal::UnknownHost { host } => write!(
                f,
                "host {host} is in the plan but not in the configuration; run `patchform plan` again"
            ),
        }
    }
}

/// Checks that the plan was made against the current state.
pub fn check_state(plan: &Plan, state: &State) -> Result<(), Refusal> {
    if plan.state.lineage != state.lineage && !(plan.state.serial == 0 && state.serial == 0) {
        return Err(Refusal::StaleState {
            detail: format!(
                "the plan was made for state lineage {}, but the state's lineage is {}",
                plan.state.lineage, state.lineage
            ),
        });
    }
    if plan.state.serial != state.serial {
        return Err(Refusal::StaleState {
            detail: format!(
                "the plan was made at state serial {}, but the state is at serial {} (another command wrote it)",
                plan.state.serial, state.serial
            ),
        });
    }
    Ok(())
}

/// Checks that every group with work is inside its window (the occurrence the plan recorded)
/// at `now`.
pub fn check_windows(
    plan: &Plan,
    now: jiff::Timestamp,
    policy: WindowPolicy,
) -> Result<(), Refusal> {
    if policy == WindowPolicy::Ignore {
        return Ok(());
    }
    for group in &plan.groups {
        let has_work = group.waves.iter().flatten().any(|h| {
            plan.hosts
                .get(h)
                .is_some_and(|p| p.status == HostStatus::Patch)
        });
        if !has_work {
            continue;
        }
        let Some(window) = &group.window else {
            return Err(Refusal::WindowClosed {
                group: group.address.clone(),
                detail: "no maintenance window targets it".to_owned(),
            });
        };
        let parse = |text: &str| {
            text.parse::<jiff::ZonedDateTime>()
                .map(|z| z.timestamp())
                .ok()
        };
        let (Some(start), Some(end)) = (parse(&window.start), parse(&window.end)) else {
            return Err(Refusal::WindowClosed {
                group: group.address.clone(),
                detail: "the plan's window times cannot be read".to_owned(),
            });
        };
        if now < start || now >= end {
            return Err(Refusal::WindowClosed {
                group: group.address.clone(),
                detail: format!(
                    "{} is open from {} until {}, and it is now {}",
                    window.window, window.start, window.end, now
                ),
            });
        }
    }
    Ok(())
}

/// Connection details of every host the plan patches, from the configuration.
pub fn connection_hosts(
    plan: &Plan,
    desired: &model::DesiredState,
) -> Result<BTreeMap<String, model::Host>, Refusal> {
    let mut hosts = BTreeMap::new();
    for host in plan
        .hosts
        .values()
        .filter(|h| h.status == HostStatus::Patch)
    {
        let Some(configured) = desired.hosts.get(&host.name) else {
            return Err(Refusal::UnknownHost {
                host: host.name.clone(),
            });
        };
        hosts.insert(host.name.clone(), configured.clone());
    }
    Ok(hosts)
}

/// The result of a whole apply.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub hosts: BTreeMap<String, HostReport>,
    pub ignored_window: bool,
}

impl ApplyReport {
    pub fn all_succeeded(&self) -> bool {
        self.hosts
            .values()
            .all(|h| h.outcome == HostOutcome::Succeeded)
    }
}

/// Hosts whose fingerprints are checked at once: enough to overlap handshakes, few enough not
/// to trip sshd's `MaxStartups` on a bastion or starve the controller.
const FINGERPRINT_PARALLELISM: usize = 32;

/// Connections of the fingerprint check kept open for the hosts' own steps. Bounded because
/// each is an ssh master process.
const KEPT_CONNECTIONS: usize = 64;

/// The hosts that start as soon as the apply does: the first `max_concurrency` hosts of the
/// first wave of every group that depends on no other. Only their connections are worth
/// keeping; a later host would find its kept master gone idle.
fn starting_first(plan: &Plan) -> std::collections::BTreeSet<String> {
    plan.groups
        .iter()
        .filter(|g| g.depends_on.is_empty())
        .filter_map(|g| g.waves.first().map(|wave| (wave, g.max_concurrency.max(1))))
        .flat_map(|(wave, limit)| wave.iter().take(limit).cloned())
        .take(KEPT_CONNECTIONS)
        .collect()
}

/// Re-reads every patched host's package database and apt lists digests; a saved plan whose
/// hosts changed since it was made is refused before anything is installed. Hosts that do not
/// answer are left to fail in the run itself.
pub async fn check_fingerprints(
    plan: &Plan,
    hosts: &BTreeMap<String, model::Host>,
    ssh: &crate::transport::Ssh,
    timeout: Duration,
) -> Result<(), Refusal> {
    use crate::transport::RemoteCommand;
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(FINGERPRINT_PARALLELISM));
    let mut tasks = tokio::task::JoinSet::new();
    let starting_first = std::sync::Arc::new(starting_first(plan));
    for host_plan in plan
        .hosts
        .values()
        .filter(|h| h.status == HostStatus::Patch)
    {
        let (Some(expected), Some(host)) = (
            host_plan.fingerprint.clone(),
            hosts.get(&host_plan.name).cloned(),
        ) else {
            continue;
        };
        let ssh = ssh.clone();
        let permits = permits.clone();
        let starting_first = starting_first.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.ok()?;
            let connection = ssh.connect(&host).await.ok()?;
            let command =
                RemoteCommand::new("fingerprint", crate::pkg::apt::FINGERPRINT_SCRIPT, timeout);
            let output = connection.run(&command).await.ok();
            // A host that starts at once reuses this connection: one handshake fewer.
            let kept = if starting_first.contains(&host.name) {
                ssh.keep(connection, KEPT_CONNECTIONS)
            } else {
                Some(connection)
            };
            if let Some(connection) = kept {
                connection.close().await;
            }
            let (dpkg_status, apt_lists) =
                crate::pkg::apt::parse_fingerprint(&output?.stdout).ok()?;
            if dpkg_status != expected.dpkg_status {
                Some(Refusal::StaleHost {
                    host: host.name.clone(),
                    what: "package database",
                })
            } else if apt_lists != expected.apt_lists {
                Some(Refusal::StaleHost {
                    host: host.name.clone(),
                    what: "apt lists",
                })
            } else {
                None
            }
        });
    }
    let mut refusals = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(Some(refusal)) = joined {
            refusals.push(refusal);
        }
    }
    refusals.sort_by_key(|r| r.to_string());
    match refusals.into_iter().next() {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}
