//! The actual state of the hosts: what a scan found, as a versioned, documented snapshot.
//!
//! A snapshot saved with `scan -out FILE` (or kept in state) is a complete input to an offline
//! `plan -inventory=FILE`, so a pull-request pipeline needs no SSH access to production.

mod scan;

use crate::pkg::apt::{AutoUpgrades, AvailableVersion, DpkgState, InstalledPackage, OsRelease};
use crate::pkg::{PackageName, Version};
pub use scan::{CacheMode, ScanOptions, scan};

/// Builds a snapshot from the recorded output of the scan script, as a scan would (fixtures
/// and tests).
pub fn snapshot_from_output(stdout: &str) -> Result<HostSnapshot, crate::pkg::ParseError> {
    let (facts, details) = crate::pkg::apt::parse_scan_output(stdout)?;
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
        let _shared = crate::pkg::InternScope::new();
        serde_json::from_str(text).map_err(|e| format!("invalid inventory snapshot: {e}"))
    }
}

/// What one host's scan produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// The `HostFacts` variants as serde derives them, for the slow path of `HostFacts`'s
/// `Deserialize`.
#[derive(Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum TaggedFacts {
    Scanned(Box<HostSnapshot>),
    Unreachable { reason: String },
    Failed { reason: String },
}

#[derive(Deserialize)]
struct Reason {
    reason: String,
}

/// An internally tagged enum is derived by buffering the whole object before looking at its
/// tag, which for a snapshot means building every host twice. patchform writes `result`
/// first, so the snapshot is read straight from the rest of the object; an object whose tag
/// comes later (edited by hand) takes the derived path.
impl<'de> Deserialize<'de> for HostFacts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<HostFacts, D::Error> {
        deserializer.deserialize_map(FactsVisitor)
    }
}

struct FactsVisitor;

impl<'de> serde::de::Visitor<'de> for FactsVisitor {
    type Value = HostFacts;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a host's facts")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<HostFacts, A::Error> {
        use serde::de::{Error, value::MapAccessDeserializer};
        let Some(first) = map.next_key::<std::borrow::Cow<'de, str>>()? else {
            return Err(A::Error::missing_field("result"));
        };
        if first != "result" {
            let mut object = serde_json::Map::new();
            object.insert(first.into_owned(), map.next_value()?);
            while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                object.insert(key, value);
            }
            let tagged: TaggedFacts = serde_json::from_value(serde_json::Value::Object(object))
                .map_err(A::Error::custom)?;
            return Ok(match tagged {
                TaggedFacts::Scanned(snapshot) => HostFacts::Scanned(snapshot),
                TaggedFacts::Unreachable { reason } => HostFacts::Unreachable { reason },
                TaggedFacts::Failed { reason } => HostFacts::Failed { reason },
            });
        }
        let tag = map.next_value::<std::borrow::Cow<'de, str>>()?;
        let rest = MapAccessDeserializer::new(map);
        match &*tag {
            "scanned" => Ok(HostFacts::Scanned(Box::new(HostSnapshot::deserialize(
                rest,
            )?))),
            "unreachable" => Ok(HostFacts::Unreachable {
                reason: Reason::deserialize(rest)?.reason,
            }),
            "failed" => Ok(HostFacts::Failed {
                reason: Reason::deserialize(rest)?.reason,
            }),
            other => Err(A::Error::unknown_variant(
                other,
                &["scanned", "unreachable", "failed"],
            )),
        }
    }
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
