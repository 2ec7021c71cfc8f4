//! `cargo bench --bench planner`: the planner alone on generated inventories of N hosts ×
//! 400 installed packages × 20 pending updates, and rendering the plan in every format.
//!
//! Each size runs in its own child process so its peak RSS (VmHWM) is its own. Run one size
//! with `cargo bench --bench planner -- --hosts 10000`.

use patchform::inventory::{
    CacheRefresh, Fingerprint, HostFacts, HostSnapshot, Inventory, PendingUpdate,
};
use patchform::model::schedule::{self, Limit, WindowSpec};
use patchform::model::*;
use patchform::pkg::apt::{
    AutoUpgrades, AvailableVersion, DpkgState, InstalledPackage, OsRelease, Release,
};
use patchform::pkg::{PackageName, Version};
use patchform::plan::{self, PlanOptions};
use patchform::render;
use patchform::state::State;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

const INSTALLED: usize = 400;
const PENDING: usize = 20;
const SIZES: &[usize] = &[1_000, 5_000, 10_000, 20_000, 50_000];

fn release(codename: &str, label: &str) -> Release {
    Release {
        origin: "Debian".into(),
        label: label.into(),
        archive: codename.replace("bookworm", "stable"),
        codename: codename.into(),
        component: "main".into(),
    }
}

/// One host's snapshot; every host of the bench has the same packages, as a fleet built from
/// one image does.
fn snapshot() -> HostSnapshot {
    let mut installed = BTreeMap::new();
    let mut updates = BTreeMap::new();
    for i in 0..INSTALLED {
        let name = PackageName::parse(&format!("libpackage{i:03}")).unwrap();
        installed.insert(
            name.clone(),
            InstalledPackage {
                version: Version::parse("1.2.3-1").unwrap(),
                architecture: "amd64".into(),
                state: DpkgState::Installed,
            },
        );
        if i % (INSTALLED / PENDING) == 0 {
            let version = |text: &str, r: Release| AvailableVersion {
                version: Version::parse(text).unwrap(),
                releases: vec![r],
                priority: if i % 3 == 0 {
                    "important".into()
                } else {
                    "optional".into()
                },
                section: "libs".into(),
                depends: Vec::new(),
            };
            updates.insert(
                name,
                PendingUpdate {
                    installed: Some(Version::parse("1.2.3-1").unwrap()),
                    candidate: Version::parse("1.2.4-1").unwrap(),
                    versions: vec![
                        version("1.2.4-1", release("bookworm-updates", "Debian")),
                        version(
                            "1.2.3-1+deb12u1",
                            release("bookworm-security", "Debian-Security"),
                        ),
                    ],
                    new_package: false,
                },
            );
        }
    }
    HostSnapshot {
        os: OsRelease {
            id: "debian".into(),
            version_id: "12".into(),
            codename: "bookworm".into(),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
        },
        boot_id: "93398b2d-af69-4d61-aab9-59a69784a1f6".into(),
        running_kernel: "6.1.0-28-amd64".into(),
        reboot_required: false,
        reboot_required_packages: Vec::new(),
        installed,
        holds: BTreeSet::new(),
        auto_upgrades: AutoUpgrades::Disabled,
        fingerprint: Fingerprint {
            dpkg_status: "0".repeat(64),
            apt_lists: "1".repeat(64),
        },
        cache: CacheRefresh::Skipped,
        updates,
    }
}

fn baseline(address: &str, non_security: bool) -> PatchBaseline {
    PatchBaseline {
        address: address.into(),
        name: address.into(),
        operating_system: OperatingSystem::Debian,
        description: None,
        global_filters: Vec::new(),
        approval_rules: vec![ApprovalRule {
            filters: vec![PatchFilter {
                key: PatchFilterKey::Priority,
                values: vec!["*".into()],
            }],
            approval: Approval::AfterDays(0),
            compliance_level: ComplianceLevel::High,
            enable_non_security: non_security,
        }],
        approved_patches: Vec::new(),
        approved_patches_compliance_level: ComplianceLevel::Unspecified,
        approved_patches_enable_non_security: false,
        rejected_patches: vec!["telnetd".into()],
        rejected_patches_action: RejectedPatchesAction::Block,
        sources: Vec::new(),
    }
}

/// A canary group (1% of hosts) and a production group that waits for it, one window.
fn desired(hosts: usize) -> DesiredState {
    let mut state_hosts = BTreeMap::new();
    let mut canary = Vec::new();
    let mut prod = Vec::new();
    for i in 0..hosts {
        let name = format!("host{i:05}");
        let group = if i % 100 == 0 {
            "patch_group.canary"
        } else {
            "patch_group.prod"
        };
        if i % 100 == 0 {
            canary.push(name.clone())
        } else {
            prod.push(name.clone())
        }
        state_hosts.insert(
            name.clone(),
            Host {
                name,
                address: format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256),
                port: 22,
                user: "root".into(),
                identity_file: None,
                jump_host: None,
                tags: BTreeMap::new(),
                group: Some(group.into()),
            },
        );
    }
    let group =
        |address: &str, baseline: &str, hosts: Vec<String>, depends_on: Vec<String>| PatchGroup {
            address: address.into(),
            name: address.trim_start_matches("patch_group.").into(),
            baseline: baseline.into(),
            membership: Membership::PatchGroupTag,
            depends_on,
            hosts,
        };
    let window = schedule::Window::new(WindowSpec {
        schedule: schedule::parse_schedule("cron(0 2 ? * SUN *)").unwrap(),
        time_zone: schedule::parse_time_zone("Europe/Berlin").unwrap(),
        schedule_offset: 0,
        duration: 6,
        cutoff: 1,
        start_date: None,
        end_date: None,
        enabled: true,
    })
    .unwrap();
    DesiredState {
        backend: Backend::Local {
            path: "patchform.pfstate".into(),
        },
        ssh: SshDefaults::default(),
        hosts: state_hosts,
        baselines: [
            (
                "patch_baseline.all".to_owned(),
                baseline("patch_baseline.all", true),
            ),
            (
                "patch_baseline.security".to_owned(),
                baseline("patch_baseline.security", false),
            ),
        ]
        .into(),
        default_baselines: BTreeMap::new(),
        groups: [
            (
                "patch_group.canary".to_owned(),
                group(
                    "patch_group.canary",
                    "patch_baseline.all",
                    canary,
                    Vec::new(),
                ),
            ),
            (
                "patch_group.prod".to_owned(),
                group(
                    "patch_group.prod",
                    "patch_baseline.security",
                    prod,
                    vec!["patch_group.canary".into()],
                ),
            ),
        ]
        .into(),
        windows: [(
            "maintenance_window.sunday".to_owned(),
            MaintenanceWindow {
                address: "maintenance_window.sunday".into(),
                name: "sunday".into(),
                window,
                targets: vec!["patch_group.canary".into(), "patch_group.prod".into()],
                tasks: vec![MaintenanceTask {
                    name: "install".into(),
                    operation: Operation::Install,
                    reboot: RebootOption::RebootIfNeeded,
                    priority: 1,
                    max_concurrency: Limit::Percent(10),
                    max_errors: Limit::Count(5),
                    cutoff_behavior: CutoffBehavior::ContinueTask,
                    pre_hook: None,
                    post_hook: None,
                    health_check: Some("systemctl is-system-running".into()),
                    waves: vec![Limit::Count(1), Limit::Percent(10), Limit::Percent(100)],
                }],
            },
        )]
        .into(),
        sensitive_variables: Vec::new(),
    }
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn measure(hosts: usize) {
    let template = snapshot();
    let mut inventory = Inventory::new("2026-12-04T12:00:00Z".parse().unwrap());
    for i in 0..hosts {
        inventory.hosts.insert(
            format!("host{i:05}"),
            HostFacts::Scanned(Box::new(template.clone())),
        );
    }
    let desired = desired(hosts);
    let state = State::new("bench".into());
    let inventory_rss = peak_rss_mib();
    let started = Instant::now();
    let (plan, diags) = plan::build(
        &desired,
        &inventory,
        &state,
        "2026-12-04T12:00:00Z".parse().unwrap(),
        &PlanOptions::default(),
    );
    let planning = started.elapsed();
    assert!(!diags.has_errors());
    assert_eq!(plan.summary.hosts_to_patch, hosts);
    let planned_rss = peak_rss_mib();
    let time = |f: &dyn Fn() -> usize| {
        let started = Instant::now();
        let bytes = f();
        (started.elapsed().as_secs_f64(), bytes)
    };
    let (human, human_bytes) = time(&|| render::plan::human(&plan).len());
    let (markdown, markdown_bytes) =
        time(&|| render::plan::markdown(&plan).iter().map(String::len).sum());
    let (json, json_bytes) = time(&|| render::plan::json(&plan).len());
    let (planfile, planfile_bytes) = time(&|| plan::planfile::to_bytes(&plan).len());
    println!(
        "| {hosts} | {:.2} | {inventory_rss:.0} | {planned_rss:.0} | {human:.2} ({} MB) | {markdown:.2} ({} MB) | {json:.2} ({} MB) | {planfile:.2} ({} MB) | {} |",
        planning.as_secs_f64(),
        human_bytes / 1_000_000,
        markdown_bytes / 1_000_000,
        json_bytes / 1_000_000,
        planfile_bytes / 1_000_000,
        plan.summary.updates,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == "--hosts") {
        measure(args[position + 1].parse().expect("--hosts N"));
        return;
    }
    println!(
        "| hosts | plan s | peak RSS after inventory MiB | peak RSS after plan MiB | human s | markdown s | json s | plan file s | updates |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let sizes: Vec<usize> = match std::env::var("PF_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|s| s.parse().expect("PF_BENCH_SIZES=1000,10000"))
            .collect(),
        Err(_) => SIZES.to_vec(),
    };
    for hosts in sizes {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--hosts", &hosts.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "size {hosts} failed");
    }
}
