//! The actual state of the hosts: what a scan found, as a versioned, documented snapshot.
//!
//! A snapshot saved with `scan -out FILE` (or kept in state) is a complete input to an offline
//! `plan -inventory=FILE`, so a pull-request pipeline needs no SSH access to production.

mod scan;

use crate::pkg::apt::{AutoUpgrades, AvailableVersion, DpkgState, InstalledPackage, OsRelease};
use crate::pkg::{PackageName, Version};
pub use scan::{CacheMode, ScanOptions, scan};

/// Builds a snapshot from recorded command output, as a scan would (fixtures and tests).
pub fn snapshot_from_output(
    facts: &str,
    details: &str,
) -> Result<HostSnapshot, crate::pkg::ParseError> {
    let facts = crate::pkg::apt::parse_facts(facts)?;
    let details = crate::pkg::apt::parse_details(details, &facts.releases)?;
    Ok(scan::snapshot(facts, details, CacheRefresh::Skipped))
}
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Bumped on any incompatible change to the snapshot's JSON shape.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub format_version: u32,
    pub scanned_at: jiff::Timestamp,
    /// `strict`, or `accept-new` when the scan recorded keys of new hosts.
    #[serde(default = "strict")]
    pub host_key_policy: String,
    pub hosts: BTreeMap<String, HostFacts>,
}

fn strict() -> String {
    "strict".to_owned()
}

impl Inventory {
    pub fn new(scanned_at: jiff::Timestamp) -> Inventory {
        Inventory {
            format_version: FORMAT_VERSION,
            scanned_at,
            host_key_policy: strict(),
            hosts: BTreeMap::new(),
        }
    }

    /// Reads a snapshot file's text, refusing other format versions.
    pub fn from_json(text: &str) -> Result<Inventory, String> {
        #[derive(Deserialize)]
        struct Header {
            format_version: u32,
        }
        let header: Header =
            serde_json::from_str(text).map_err(|e| format!("not an inventory snapshot: {e}"))?;
        if header.format_version != FORMAT_VERSION {
            return Err(format!(
                "inventory format_version {} is not supported (this patchform reads {FORMAT_VERSION}); re-run `patchform scan -out`",
                header.format_version
            ));
        }
        serde_json::from_str(text).map_err(|e| format!("invalid inventory snapshot: {e}"))
    }
}

/// What one host's scan produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum HostFacts {
    Scanned(Box<HostSnapshot>),
    /// No connection: the host is reported and skipped, never silently dropped.
    Unreachable {
        reason: String,
    },
    /// Connected, but a command failed or printed something unparseable.
    Failed {
        reason: String,
    },
}

/// Whether the package lists were refreshed before the scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CacheRefresh {
    Refreshed,
    Skipped,
    Failed { reason: String },
}

/// Digests that change whenever the host's package database or apt lists change; a saved
/// plan records them so apply can refuse a stale plan.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    pub dpkg_status: String,
    pub apt_lists: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSnapshot {
    pub os: OsRelease,
    pub boot_id: String,
    pub running_kernel: String,
    pub reboot_required: bool,
    pub reboot_required_packages: Vec<PackageName>,
    pub installed: BTreeMap<PackageName, InstalledPackage>,
    pub holds: BTreeSet<PackageName>,
    pub auto_upgrades: AutoUpgrades,
    pub fingerprint: Fingerprint,
    pub cache: CacheRefresh,
    /// Packages with a version newer than the installed one, and packages an upgrade would
    /// newly install.
    pub updates: BTreeMap<PackageName, PendingUpdate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpdate {
    pub installed: Option<Version>,
    /// apt's candidate: what a plain `apt-get dist-upgrade` would install.
    pub candidate: Version,
    /// Every version newer than the installed one, highest first, with its origins.
    pub versions: Vec<AvailableVersion>,
    /// Pulled in by another package's update rather than upgraded itself.
    pub new_package: bool,
}

impl HostSnapshot {
    /// Packages dpkg left unfinished (half-installed, half-configured, ...).
    pub fn broken_packages(&self) -> impl Iterator<Item = (&PackageName, DpkgState)> {
        self.installed
            .iter()
            .filter(|(_, p)| p.state.is_broken())
            .map(|(n, p)| (n, p.state))
    }
}
