//! The compliance report of a whole inventory: every host of the configuration, evaluated
//! against its baseline, unreachable and failed hosts included.

use super::{FirstSeen, HostCompliance};
use crate::inventory::{HostFacts, Inventory};
use crate::model::DesiredState;
use crate::state::State;
use serde::Serialize;
use std::collections::BTreeSet;

/// Bumped on any incompatible change to the report's JSON shape.
pub(crate) const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct ComplianceReport {
    pub format_version: u32,
    pub scanned_at: jiff::Timestamp,
    pub hosts: Vec<HostReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub host: String,
    pub group: Option<String>,
    /// Conditions a reviewer must see: held packages, unfinished dpkg work, drift.
    pub warnings: Vec<String>,
    #[serde(flatten)]
    pub result: HostResult,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum HostResult {
    Evaluated(HostCompliance),
    Unreachable {
        reason: String,
    },
    Failed {
        reason: String,
    },
    /// The host's operating system has no baseline patchform can evaluate.
    NoBaseline {
        os: String,
    },
    /// The host is in the configuration but not in the inventory (never scanned).
    NotScanned,
}

/// Evaluates every configured host. Pure: the clock is an argument.
pub fn report(
    desired: &DesiredState,
    inventory: &Inventory,
    state: &State,
    now: jiff::Timestamp,
) -> ComplianceReport {
    let first_seen: FirstSeen = state.first_seen();
    let empty = BTreeSet::new();
    let mut matchers: std::collections::HashMap<String, super::Matcher> = Default::default();
    let hosts = desired
        .hosts
        .values()
        .map(|host| {
            let result = match inventory.hosts.get(&host.name) {
                None => HostResult::NotScanned,
                Some(HostFacts::Unreachable { reason }) => HostResult::Unreachable {
                    reason: reason.clone(),
                },
                Some(HostFacts::Failed { reason }) => HostResult::Failed {
                    reason: reason.clone(),
                },
                Some(HostFacts::Scanned(snapshot)) => {
                    match desired.baseline_for(&host.name, &snapshot.os.id) {
                        None => HostResult::NoBaseline {
                            os: snapshot.os.pretty_name.clone(),
                        },
                        Some(baseline) => {
                            let failed = state
                                .hosts
                                .get(&host.name)
                                .map_or(&empty, |r| &r.failed_packages);
                            let matcher = matchers
                                .entry(baseline.address.clone())
                                .or_insert_with(|| super::Matcher::new(&baseline));
                            HostResult::Evaluated(super::evaluate_with(
                                matcher,
                                &baseline,
                                snapshot,
                                &first_seen,
                                failed,
                                now,
                            ))
                        }
                    }
                }
            };
            let warnings = match inventory.hosts.get(&host.name) {
                Some(HostFacts::Scanned(snapshot)) => host_warnings(snapshot),
                _ => Vec::new(),
            };
            HostReport {
                host: host.name.clone(),
                group: host.group.clone(),
                warnings,
                result,
            }
        })
        .collect();
    ComplianceReport {
        format_version: FORMAT_VERSION,
        scanned_at: inventory.scanned_at,
        hosts,
    }
}

/// What about a host's package system needs a human's attention before patching.
pub(crate) fn host_warnings(snapshot: &crate::inventory::HostSnapshot) -> Vec<String> {
    use crate::pkg::apt::AutoUpgrades;
    let mut warnings = Vec::new();
    for (name, state) in snapshot.broken_packages() {
        warnings.push(format!(
            "dpkg left {name} {}; run `dpkg --configure -a` on the host before patching",
            state.as_str()
        ));
    }
    if !snapshot.holds.is_empty() {
        let names: Vec<&str> = snapshot.holds.iter().map(|n| n.as_str()).collect();
        warnings.push(format!(
            "held with apt-mark hold, never upgraded by patchform: {}",
            names.join(", ")
        ));
    }
    if snapshot.auto_upgrades == AutoUpgrades::Enabled {
        warnings.push(
            "unattended-upgrades or apt timers are enabled and race with patchform (drift)"
                .to_owned(),
        );
    }
    if snapshot.reboot_required {
        warnings.push("a reboot is required (/var/run/reboot-required)".to_owned());
    }
    warnings
}
