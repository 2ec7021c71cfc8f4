//! The plan: desired state against inventory, into a graph of steps that apply executes
//! without making any further choice.
//!
//! `build` is pure, synchronous and deterministic: the clock is an argument and every
//! collection is ordered, so the same inputs give the same plan byte for byte.

mod build;
pub mod planfile;

pub use build::{PlanOptions, build};

use crate::compliance::{Approver, Classification};
use crate::model::{CutoffBehavior, RebootOption};
use crate::pkg::{PackageName, Version};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped on any incompatible change to the plan file.
pub const FORMAT_VERSION: u32 = 1;

/// What a change does to a package. The variant owns its symbol.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A package not installed yet, pulled in by another update.
    Install,
    Upgrade,
}

impl ChangeKind {
    pub fn symbol(self) -> char {
        match self {
            ChangeKind::Install => '+',
            ChangeKind::Upgrade => '~',
        }
    }

    /// Terraform's `change.actions` word.
    pub fn action(self) -> &'static str {
        match self {
            ChangeKind::Install => "create",
            ChangeKind::Upgrade => "update",
        }
    }
}

/// Marker printed before a reboot step.
pub const REBOOT_SYMBOL: char = '⟳';

/// One package to install at an exact version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PackageChange {
    #[schemars(with = "String")]
    pub name: PackageName,
    pub kind: ChangeKind,
    #[schemars(with = "Option<String>")]
    pub from: Option<Version>,
    #[schemars(with = "String")]
    pub to: Version,
    pub classification: Classification,
    pub priority: String,
    pub section: String,
    pub suite: String,
    /// `approval_rule[0]`, `approved_patches`, or `dependency of NAME`.
    pub reason: String,
}

/// A user-supplied command run on the host: the only kind patchform runs besides its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Hook {
    pub command: String,
    /// `command` with every sensitive variable's value replaced by `(sensitive)`, for output.
    pub display: String,
}

/// Why a host reboots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RebootStep {
    pub option: RebootOption,
    /// Why patchform expects a reboot; for `RebootIfNeeded` apply still confirms it.
    pub reason: String,
}

/// Everything planned for one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HostPlan {
    pub name: String,
    pub address: String,
    pub group: Option<String>,
    pub baseline: Option<String>,
    pub status: HostStatus,
    pub changes: Vec<PackageChange>,
    pub reboot: Option<RebootStep>,
    pub pre_hook: Option<Hook>,
    pub post_hook: Option<Hook>,
    pub health_check: Option<Hook>,
    /// Digests of the package database and apt lists as scanned; apply refuses the plan
    /// when they changed.
    pub fingerprint: Option<HostFingerprint>,
    pub boot_id: Option<String>,
    /// 0-based rollout wave inside the host's group.
    pub wave: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HostFingerprint {
    pub dpkg_status: String,
    pub apt_lists: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    /// Has changes to apply.
    Patch,
    /// Scanned, nothing to do.
    Unchanged,
    /// Could not be scanned; nothing is planned for it.
    Unreachable,
    ScanFailed,
    /// Excluded by `-target`.
    NotTargeted,
    /// In the configuration but in no scan (offline plan from an older snapshot).
    NotScanned,
}

/// The next occurrence of a group's window, in the window's own time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WindowOccurrence {
    pub window: String,
    pub time_zone: String,
    /// RFC 9557 timestamps with zone, e.g. `2026-12-06T02:00:00-05:00[America/New_York]`.
    pub start: String,
    pub end: String,
    pub cutoff_at: String,
    /// Whether the occurrence is open at the plan's creation time.
    pub open_now: bool,
}

/// Everything planned for one patch group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GroupPlan {
    pub address: String,
    pub name: String,
    pub baseline: String,
    pub depends_on: Vec<String>,
    pub window: Option<WindowOccurrence>,
    pub task: Option<String>,
    pub priority: u32,
    /// Hosts in flight at once, resolved from `max_concurrency`.
    pub max_concurrency: usize,
    /// Failed hosts tolerated, resolved from `max_errors`; one more stops new hosts.
    pub max_errors: usize,
    pub cutoff_behavior: CutoffBehavior,
    /// Host names per wave, each wave gated on the previous.
    pub waves: Vec<Vec<String>>,
    /// Rough duration of the group's rollout, from host and package counts.
    pub estimated_seconds: u64,
    pub fits_window: bool,
}

/// A node of the step graph. Its id is a stable address such as `host.web-1.install`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    pub id: String,
    pub host: Option<String>,
    pub group: String,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    PreHook,
    Install,
    Reboot,
    WaitForBoot,
    PostHook,
    HealthCheck,
    Verify,
    /// Every host of a wave finished; the next wave may start.
    WaveDone {
        wave: usize,
    },
    /// Every host of the group succeeded; dependent groups may start.
    GroupDone,
}

/// Totals for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub hosts_to_patch: usize,
    pub updates: usize,
    pub reboots: usize,
    pub unchanged: usize,
    pub unreachable: usize,
    pub failed: usize,
}

/// A plan warning: never silently dropped, shown by every renderer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct PlanWarning {
    /// `host.web-1`, `patch_group.web`, ...
    pub address: String,
    pub message: String,
}

/// A root variable as the plan records it; sensitive values are kept only as a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PlanVariable {
    pub sensitive: bool,
    /// The value as HCL, or `(sensitive)`.
    pub value: String,
    /// SHA-256 of the value, so a change is detectable without storing a secret.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StateRef {
    pub lineage: String,
    pub serial: u64,
}

/// A complete, checkable plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    pub format_version: u32,
    pub created_at: String,
    pub configuration_digest: String,
    pub variables: BTreeMap<String, PlanVariable>,
    pub state: StateRef,
    pub inventory_scanned_at: String,
    pub hosts: BTreeMap<String, HostPlan>,
    /// In the order groups may start (dependencies first).
    pub groups: Vec<GroupPlan>,
    pub steps: Vec<Step>,
    /// `[from, to]` step indices: `to` must happen after `from`.
    pub edges: Vec<[usize; 2]>,
    pub warnings: Vec<PlanWarning>,
    pub summary: Summary,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.summary.hosts_to_patch > 0
    }

    /// The step graph (edge `a -> b`: b waits for a).
    pub fn graph(&self) -> petgraph::graph::DiGraph<&Step, ()> {
        let mut graph = petgraph::graph::DiGraph::new();
        let nodes: Vec<_> = self.steps.iter().map(|s| graph.add_node(s)).collect();
        for [from, to] in &self.edges {
            if let (Some(a), Some(b)) = (nodes.get(*from), nodes.get(*to)) {
                graph.add_edge(*a, *b, ());
            }
        }
        graph
    }
}

#[cfg(test)]
mod tests;
