//! Baseline evaluation: which updates a host's baseline approves, and the host's compliance,
//! in Patch Manager's states.
//!
//! Pure and deterministic: the clock and the first-seen times of package versions are inputs.
//! apt publishes no release dates, so `approve_after_days` counts from the first time
//! patchform saw a version (recorded in state by every scan).

mod report;

pub(crate) use report::host_warnings;
pub use report::{ComplianceReport, HostReport, HostResult, report};

use crate::inventory::HostSnapshot;
use crate::model::{
    Approval, ComplianceLevel, PatchBaseline, PatchFilter, PatchFilterKey, RejectedPatchesAction,
};
use crate::pkg::apt::AvailableVersion;
use crate::pkg::{PackageName, Version};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Per package, the state Patch Manager would report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PatchState {
    Installed,
    InstalledOther,
    InstalledPendingReboot,
    InstalledRejected,
    Missing,
    Failed,
    NotApplicable,
    AvailableSecurityUpdate,
}

impl PatchState {
    pub fn as_str(self) -> &'static str {
        match self {
            PatchState::Installed => "INSTALLED",
            PatchState::InstalledOther => "INSTALLED_OTHER",
            PatchState::InstalledPendingReboot => "INSTALLED_PENDING_REBOOT",
            PatchState::InstalledRejected => "INSTALLED_REJECTED",
            PatchState::Missing => "MISSING",
            PatchState::Failed => "FAILED",
            PatchState::NotApplicable => "NOT_APPLICABLE",
            PatchState::AvailableSecurityUpdate => "AVAILABLE_SECURITY_UPDATE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComplianceStatus {
    Compliant,
    NonCompliant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Classification {
    Security,
    NonSecurity,
}

/// What approved an update: shown in plans as `approval_rule[0]` or `approved_patches`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approver {
    Rule(usize),
    ApprovedPatches,
}

impl std::fmt::Display for Approver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Approver::Rule(index) => write!(f, "approval_rule[{index}]"),
            Approver::ApprovedPatches => f.write_str("approved_patches"),
        }
    }
}

/// Why an approved update will not be installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Blocker {
    /// `apt-mark hold`: patchform honours holds.
    Held,
    /// `rejected_patches_action = BLOCK` and the update needs a rejected package.
    NeedsRejected { package: PackageName },
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blocker::Held => f.write_str("held with apt-mark hold"),
            Blocker::NeedsRejected { package } => write!(
                f,
                "needs rejected package {package} (rejected_patches_action = BLOCK)"
            ),
        }
    }
}

/// One package's evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageResult {
    pub name: PackageName,
    pub state: PatchState,
    pub installed: Option<Version>,
    /// The version the baseline wants: the highest approved one.
    pub target: Option<Version>,
    pub classification: Option<Classification>,
    pub priority: String,
    pub section: String,
    pub suite: String,
    pub approved_by: Option<Approver>,
    pub compliance_level: ComplianceLevel,
    pub blocked: Option<Blocker>,
    /// Not installed now; another update pulls it in.
    pub new_package: bool,
}

impl PackageResult {
    /// Whether a plan installs this package.
    pub fn is_installable(&self) -> bool {
        matches!(self.state, PatchState::Missing | PatchState::Failed)
            && self.blocked.is_none()
            && self.target.is_some()
    }
}

/// A host's evaluation against its baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCompliance {
    pub baseline: String,
    pub status: ComplianceStatus,
    /// Highest compliance level among missing or failed approved updates.
    pub level: Option<ComplianceLevel>,
    pub counts: BTreeMap<PatchState, usize>,
    /// Every package worth listing: all states except plain `INSTALLED_OTHER`.
    pub packages: Vec<PackageResult>,
}

/// First time patchform saw each package version, from state.
pub type FirstSeen = BTreeMap<(PackageName, Version), jiff::Timestamp>;

fn globs(patterns: &[String]) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        // Invalid patterns were refused when the configuration was lowered.
        if let Ok(glob) = Glob::new(pattern) {
            builder.add(glob);
        }
    }
    builder.build().unwrap_or_else(|_| GlobSet::empty())
}

fn level_rank(level: ComplianceLevel) -> u8 {
    match level {
        ComplianceLevel::Critical => 5,
        ComplianceLevel::High => 4,
        ComplianceLevel::Medium => 3,
        ComplianceLevel::Low => 2,
        ComplianceLevel::Informational => 1,
        ComplianceLevel::Unspecified => 0,
    }
}

/// The `PRODUCT` value of a host, as Patch Manager spells Debian products (`Debian12`).
fn product(snapshot: &HostSnapshot) -> String {
    let mut id = snapshot.os.id.clone();
    if let Some(first) = id.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    format!("{id}{}", snapshot.os.version_id)
}

fn filter_matches(filter: &PatchFilter, version: &AvailableVersion, product: &str) -> bool {
    let value = match filter.key {
        PatchFilterKey::Priority => version.priority.as_str(),
        PatchFilterKey::Section => version.section.rsplit('/').next().unwrap_or_default(),
        PatchFilterKey::Product => product,
        // Keys that never apply to apt hosts were refused when the baseline was lowered.
        _ => return false,
    };
    filter
        .values
        .iter()
        .any(|v| v == "*" || v.eq_ignore_ascii_case(value))
}

/// A baseline's approved and rejected patterns, compiled once and remembered per package
/// name: every host of a group asks about the same names.
pub struct Matcher {
    approved: GlobSet,
    rejected: GlobSet,
    memo: std::cell::RefCell<std::collections::HashMap<PackageName, (bool, bool)>>,
}

impl Matcher {
    pub fn new(baseline: &PatchBaseline) -> Matcher {
        Matcher {
            approved: globs(&baseline.approved_patches),
            rejected: globs(&baseline.rejected_patches),
            memo: Default::default(),
        }
    }

    /// (approved, rejected) for a package name.
    fn lookup(&self, name: &PackageName) -> (bool, bool) {
        if let Some(known) = self.memo.borrow().get(name) {
            return *known;
        }
        let verdict = (
            self.approved.is_match(name.as_str()),
            self.rejected.is_match(name.as_str()),
        );
        self.memo.borrow_mut().insert(name.clone(), verdict);
        verdict
    }

    fn is_approved(&self, name: &PackageName) -> bool {
        self.lookup(name).0
    }

    fn is_rejected(&self, name: &PackageName) -> bool {
        self.lookup(name).1
    }
}

struct Evaluator<'a> {
    baseline: &'a PatchBaseline,
    snapshot: &'a HostSnapshot,
    first_seen: &'a FirstSeen,
    now: jiff::Timestamp,
    matcher: &'a Matcher,
    product: String,
}

impl Evaluator<'_> {
    fn approved_in_time(&self, name: &PackageName, version: &Version, approval: &Approval) -> bool {
        let seen = self
            .first_seen
            .get(&(name.clone(), version.clone()))
            .copied()
            .unwrap_or(self.now);
        match approval {
            Approval::AfterDays(days) => {
                let ready =
                    seen.checked_add(jiff::SignedDuration::from_hours(24 * i64::from(*days)));
                ready.is_ok_and(|ready| ready <= self.now)
            }
            Approval::UntilDate(date) => {
                seen.to_zoned_datetime(jiff::tz::TimeZone::UTC).date() <= *date
            }
        }
    }

    /// Which rule (if any) approves this version, and at what compliance level.
    fn approve(
        &self,
        name: &PackageName,
        version: &AvailableVersion,
    ) -> Option<(Approver, ComplianceLevel)> {
        if !self
            .baseline
            .global_filters
            .iter()
            .all(|f| filter_matches(f, version, &self.product))
        {
            return None;
        }
        let security = version.is_security();
        if self.matcher.is_approved(name)
            && (security || self.baseline.approved_patches_enable_non_security)
        {
            return Some((
                Approver::ApprovedPatches,
                self.baseline.approved_patches_compliance_level,
            ));
        }
        self.baseline
            .approval_rules
            .iter()
            .enumerate()
            .find_map(|(index, rule)| {
                let matches = rule
                    .filters
                    .iter()
                    .all(|f| filter_matches(f, version, &self.product))
                    && (security || rule.enable_non_security)
                    && self.approved_in_time(name, &version.version, &rule.approval);
                matches.then_some((Approver::Rule(index), rule.compliance_level))
            })
    }

    fn describe(version: &AvailableVersion) -> (Classification, String, String, String) {
        let classification = if version.is_security() {
            Classification::Security
        } else {
            Classification::NonSecurity
        };
        let suite = version
            .releases
            .iter()
            .find(|r| r.is_security())
            .or_else(|| version.releases.first())
            .map(|r| r.suite().to_owned())
            .unwrap_or_default();
        (
            classification,
            version.priority.clone(),
            version.section.clone(),
            suite,
        )
    }
}

/// Evaluates one host. `failed` lists packages whose last install failed (from state).
pub fn evaluate(
    baseline: &PatchBaseline,
    snapshot: &HostSnapshot,
    first_seen: &FirstSeen,
    failed: &BTreeSet<PackageName>,
    now: jiff::Timestamp,
) -> HostCompliance {
    evaluate_with(
        &Matcher::new(baseline),
        baseline,
        snapshot,
        first_seen,
        failed,
        now,
    )
}

/// `evaluate` with a matcher shared by every host of the baseline.
pub fn evaluate_with(
    matcher: &Matcher,
    baseline: &PatchBaseline,
    snapshot: &HostSnapshot,
    first_seen: &FirstSeen,
    failed: &BTreeSet<PackageName>,
    now: jiff::Timestamp,
) -> HostCompliance {
    let evaluator = Evaluator {
        baseline,
        snapshot,
        first_seen,
        now,
        matcher,
        product: product(snapshot),
    };
    let block = baseline.rejected_patches_action == RejectedPatchesAction::Block;
    let mut packages: BTreeMap<PackageName, PackageResult> = BTreeMap::new();

    for (name, update) in snapshot.updates.iter().filter(|(_, u)| !u.new_package) {
        let rejected = evaluator.matcher.is_rejected(name);
        let approved = if rejected {
            None
        } else {
            update
                .versions
                .iter()
                .find_map(|v| evaluator.approve(name, v).map(|a| (v, a)))
        };
        let result = match approved {
            Some((version, (approver, level))) => {
                let (classification, priority, section, suite) = Evaluator::describe(version);
                let blocked = if snapshot.holds.contains(name) {
                    Some(Blocker::Held)
                } else if block {
                    version
                        .depends
                        .iter()
                        .find(|d| {
                            evaluator.matcher.is_rejected(d) && !snapshot.installed.contains_key(*d)
                        })
                        .map(|d| Blocker::NeedsRejected { package: d.clone() })
                } else {
                    None
                };
                PackageResult {
                    name: name.clone(),
                    state: if failed.contains(name) {
                        PatchState::Failed
                    } else {
                        PatchState::Missing
                    },
                    installed: update.installed.clone(),
                    target: Some(version.version.clone()),
                    classification: Some(classification),
                    priority,
                    section,
                    suite,
                    approved_by: Some(approver),
                    compliance_level: level,
                    blocked,
                    new_package: false,
                }
            }
            None => {
                let security = update.versions.iter().find(|v| v.is_security());
                let shown = security.or(update.versions.first());
                let Some(shown) = shown else { continue };
                let state = if rejected {
                    PatchState::InstalledRejected
                } else if security.is_some() {
                    PatchState::AvailableSecurityUpdate
                } else {
                    continue;
                };
                let (classification, priority, section, suite) = Evaluator::describe(shown);
                PackageResult {
                    name: name.clone(),
                    state,
                    installed: update.installed.clone(),
                    target: None,
                    classification: Some(classification),
                    priority,
                    section,
                    suite,
                    approved_by: None,
                    compliance_level: ComplianceLevel::Unspecified,
                    blocked: None,
                    new_package: false,
                }
            }
        };
        packages.insert(name.clone(), result);
    }
    add_new_packages(&evaluator, &mut packages);

    let mut counts: BTreeMap<PatchState, usize> = BTreeMap::new();
    for (name, installed) in &snapshot.installed {
        if packages.contains_key(name) {
            continue;
        }
        let state = if evaluator.matcher.is_rejected(name) {
            PatchState::InstalledRejected
        } else if snapshot.reboot_required_packages.contains(name) {
            PatchState::InstalledPendingReboot
        } else if evaluator.matcher.is_approved(name) {
            PatchState::Installed
        } else {
            *counts.entry(PatchState::InstalledOther).or_default() += 1;
            continue;
        };
        packages.insert(
            name.clone(),
            PackageResult {
                name: name.clone(),
                state,
                installed: Some(installed.version.clone()),
                target: None,
                classification: None,
                priority: String::new(),
                section: String::new(),
                suite: String::new(),
                approved_by: None,
                compliance_level: ComplianceLevel::Unspecified,
                blocked: None,
                new_package: false,
            },
        );
    }
    for pattern in &baseline.approved_patches {
        let is_exact_name = !pattern.contains(['*', '?', '[']);
        let Ok(name) = PackageName::parse(pattern) else {
            continue;
        };
        if is_exact_name && !snapshot.installed.contains_key(&name) && !packages.contains_key(&name)
        {
            packages.insert(
                name.clone(),
                PackageResult {
                    name,
                    state: PatchState::NotApplicable,
                    installed: None,
                    target: None,
                    classification: None,
                    priority: String::new(),
                    section: String::new(),
                    suite: String::new(),
                    approved_by: Some(Approver::ApprovedPatches),
                    compliance_level: ComplianceLevel::Unspecified,
                    blocked: None,
                    new_package: false,
                },
            );
        }
    }
    for result in packages.values() {
        *counts.entry(result.state).or_default() += 1;
    }
    let non_compliant = packages.values().any(|p| match p.state {
        PatchState::Missing | PatchState::Failed | PatchState::InstalledPendingReboot => {
            !p.new_package
        }
        PatchState::InstalledRejected => block,
        _ => false,
    });
    let level = packages
        .values()
        .filter(|p| matches!(p.state, PatchState::Missing | PatchState::Failed) && !p.new_package)
        .map(|p| p.compliance_level)
        .max_by_key(|l| level_rank(*l));
    HostCompliance {
        baseline: baseline.address.clone(),
        status: if non_compliant {
            ComplianceStatus::NonCompliant
        } else {
            ComplianceStatus::Compliant
        },
        level,
        counts,
        packages: packages.into_values().collect(),
    }
}

/// Adds the not-yet-installed packages that installable updates depend on, transitively.
fn add_new_packages(
    evaluator: &Evaluator<'_>,
    packages: &mut BTreeMap<PackageName, PackageResult>,
) {
    let snapshot = evaluator.snapshot;
    let block = evaluator.baseline.rejected_patches_action == RejectedPatchesAction::Block;
    let mut queue: Vec<PackageName> = packages
        .values()
        .filter(|p| p.is_installable())
        .flat_map(|p| target_depends(snapshot, &p.name, p.target.as_ref()))
        .collect();
    while let Some(name) = queue.pop() {
        if packages.contains_key(&name) || snapshot.installed.contains_key(&name) {
            continue;
        }
        let Some(update) = snapshot.updates.get(&name) else {
            continue;
        };
        let Some(version) = update
            .versions
            .iter()
            .find(|v| v.version == update.candidate)
            .or(update.versions.first())
        else {
            continue;
        };
        if block && evaluator.matcher.is_rejected(&name) {
            continue;
        }
        let (classification, priority, section, suite) = Evaluator::describe(version);
        queue.extend(version.depends.iter().cloned());
        packages.insert(
            name.clone(),
            PackageResult {
                name,
                state: PatchState::Missing,
                installed: None,
                target: Some(version.version.clone()),
                classification: Some(classification),
                priority,
                section,
                suite,
                approved_by: None,
                compliance_level: ComplianceLevel::Unspecified,
                blocked: None,
                new_package: true,
            },
        );
    }
}

fn target_depends(
    snapshot: &crate::inventory::HostSnapshot,
    name: &PackageName,
    target: Option<&Version>,
) -> Vec<PackageName> {
    let Some(target) = target else {
        return Vec::new();
    };
    snapshot
        .updates
        .get(name)
        .and_then(|u| u.versions.iter().find(|v| v.version == *target))
        .map(|v| v.depends.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
