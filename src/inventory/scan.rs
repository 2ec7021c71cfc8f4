//! Scans hosts over SSH with bounded parallelism; one host's failure never stops the others.

use super::{CacheRefresh, Fingerprint, HostFacts, HostSnapshot, Inventory, PendingUpdate};
use crate::diag::{Diagnostic, Diagnostics};
use crate::model;
use crate::pkg::PackageName;
use crate::pkg::apt::{self, AptFacts, AutoUpgrades, AvailableVersion};
use crate::transport::{Connection, RemoteCommand, Ssh, TransportError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    Refresh,
    UseExisting,
}

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub parallelism: usize,
    pub cache: CacheMode,
    pub command_timeout: Duration,
}

/// A scan's result for one host.
struct HostScan {
    name: String,
    facts: HostFacts,
    diagnostics: Vec<Diagnostic>,
}

/// Scans every host. `now` is when the scan started, recorded in the inventory.
pub async fn scan(
    hosts: &BTreeMap<String, model::Host>,
    ssh: &Ssh,
    options: &ScanOptions,
    now: jiff::Timestamp,
) -> (Inventory, Diagnostics) {
    let permits = Arc::new(Semaphore::new(options.parallelism.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for host in hosts.values() {
        let host = host.clone();
        let ssh = ssh.clone();
        let options = options.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            scan_host(&host, &ssh, &options).await
        });
    }
    let mut inventory = Inventory::new(now);
    let mut diags = Diagnostics::default();
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => results.push(result),
            Err(error) => diags.push(
                Diagnostic::error("Scan task failed")
                    .detail(format!("A scan task stopped unexpectedly: {error}.")),
            ),
        }
    }
    // Completion order varies; diagnostics must not.
    results.sort_by(|a, b| a.name.cmp(&b.name));
    for result in results {
        for diagnostic in result.diagnostics {
            diags.push(diagnostic);
        }
        inventory.hosts.insert(result.name, result.facts);
    }
    (inventory, diags)
}

async fn scan_host(host: &model::Host, ssh: &Ssh, options: &ScanOptions) -> HostScan {
    let mut diagnostics = Vec::new();
    let connection = match ssh.connect(host).await {
        Ok(connection) => connection,
        Err(error) => {
            diagnostics.push(Diagnostic::warning("Host unreachable").detail(format!("{error}. The host is reported as unreachable and skipped; every other host was scanned.")));
            return HostScan {
                name: host.name.clone(),
                facts: HostFacts::Unreachable {
                    reason: error.to_string(),
                },
                diagnostics,
            };
        }
    };
    let facts = match read_facts(&connection, options, &mut diagnostics).await {
        Ok(snapshot) => HostFacts::Scanned(Box::new(snapshot)),
        Err(error) => {
            let unreachable = matches!(error, ScanError::Transport(ref e) if e.is_unreachable());
            let reason = error.to_string();
            diagnostics.push(Diagnostic::warning("Host scan failed").detail(format!("{reason}. The host is reported as failed and skipped; every other host was scanned.")));
            if unreachable {
                HostFacts::Unreachable { reason }
            } else {
                HostFacts::Failed { reason }
            }
        }
    };
    connection.close().await;
    HostScan {
        name: host.name.clone(),
        facts,
        diagnostics,
    }
}

#[derive(Debug, thiserror::Error)]
enum ScanError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("`{command}` on {host} exited with status {status}: {stderr}")]
    Failed {
        host: String,
        command: &'static str,
        status: i32,
        stderr: String,
    },
    #[error("output of `{command}` on {host} is not what patchform expects ({error})")]
    Parse {
        host: String,
        command: &'static str,
        error: crate::pkg::ParseError,
    },
}

/// Runs a command and insists on exit status 0.
async fn run_ok(connection: &Connection, command: &RemoteCommand) -> Result<String, ScanError> {
    let output = connection.run(command).await?;
    if output.status != 0 {
        let stderr: String = output.stderr.trim().chars().take(500).collect();
        return Err(ScanError::Failed {
            host: connection.host().to_owned(),
            command: command.name,
            status: output.status,
            stderr,
        });
    }
    Ok(output.stdout)
}

async fn read_facts(
    connection: &Connection,
    options: &ScanOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<HostSnapshot, ScanError> {
    let host = connection.host().to_owned();
    let cache = match options.cache {
        CacheMode::UseExisting => CacheRefresh::Skipped,
        CacheMode::Refresh => {
            let update = RemoteCommand::new(
                "apt-get update",
                apt::UPDATE_COMMAND,
                options.command_timeout,
            );
            match run_ok(connection, &update).await {
                Ok(_) => CacheRefresh::Refreshed,
                Err(ScanError::Transport(error)) => return Err(error.into()),
                Err(error) => {
                    diagnostics.push(Diagnostic::warning("Package lists not refreshed").detail(format!("{error}. The scan used the lists already on {host}, which may be out of date.")));
                    CacheRefresh::Failed {
                        reason: error.to_string(),
                    }
                }
            }
        }
    };
    let facts_command =
        RemoteCommand::new("scan facts", apt::FACTS_SCRIPT, options.command_timeout);
    let stdout = run_ok(connection, &facts_command).await?;
    let (facts, details) = apt::parse_scan_output(&stdout).map_err(|error| ScanError::Parse {
        host: host.clone(),
        command: facts_command.name,
        error,
    })?;
    Ok(snapshot(facts, details, cache))
}

/// Combines the facts and package details into a snapshot. Pure.
pub(crate) fn snapshot(
    facts: AptFacts,
    details: BTreeMap<PackageName, Vec<AvailableVersion>>,
    cache: CacheRefresh,
) -> HostSnapshot {
    let mut updates = BTreeMap::new();
    for (name, versions) in details {
        let installed = facts.installed.get(&name).map(|p| p.version.clone());
        let mut newer: Vec<AvailableVersion> = versions
            .into_iter()
            .filter(|v| installed.as_ref().is_none_or(|i| v.version > *i))
            // A version only in dpkg's status file is not available from any archive.
            .filter(|v| v.releases.iter().any(|r| r.archive != "now"))
            .collect();
        if newer.is_empty() {
            continue;
        }
        newer.sort_by(|a, b| b.version.cmp(&a.version));
        let candidate = facts
            .simulated
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.to.clone())
            .unwrap_or_else(|| newer[0].version.clone());
        updates.insert(
            name,
            PendingUpdate {
                new_package: installed.is_none(),
                installed,
                candidate,
                versions: newer,
            },
        );
    }
    HostSnapshot {
        os: facts.os,
        boot_id: facts.boot_id,
        running_kernel: facts.running_kernel,
        reboot_required: facts.reboot_required,
        reboot_required_packages: facts.reboot_required_packages,
        installed: facts.installed,
        holds: facts.holds,
        auto_upgrades: facts.auto_upgrades.unwrap_or(AutoUpgrades::Unknown),
        fingerprint: Fingerprint {
            dpkg_status: facts.dpkg_status_digest,
            apt_lists: facts.apt_lists_digest,
        },
        cache,
        updates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_keeps_every_newer_version_and_new_packages() {
        let dir = format!(
            "{}/testdata/scan/apt/fleet-bookworm",
            env!("CARGO_MANIFEST_DIR")
        );
        let scan = std::fs::read_to_string(format!("{dir}/scan.stdout")).unwrap();
        let (facts, details) = apt::parse_scan_output(&scan).unwrap();
        let snapshot = snapshot(facts, details, CacheRefresh::Skipped);
        let name = |n: &str| PackageName::parse(n).unwrap();
        let outranked = &snapshot.updates[&name("pf-outranked")];
        let versions: Vec<&str> = outranked
            .versions
            .iter()
            .map(|v| v.version.as_str())
            .collect();
        assert_eq!(versions, ["1.1-1", "1.0-1+deb12u1"]);
        assert_eq!(outranked.candidate.as_str(), "1.1-1");
        assert!(snapshot.updates[&name("pf-newlib")].new_package);
        assert!(snapshot.holds.contains(&name("pf-held")));
        assert!(
            snapshot.updates.contains_key(&name("pf-held")),
            "held packages keep their pending update"
        );
    }
}
