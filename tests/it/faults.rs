//! The fault matrix of RELIABILITY.md, end to end on the test fleet: hosts that disappear,
//! freeze or lose sshd in the middle of an install, a held dpkg lock, a reboot that never
//! comes back, the controller interrupted (SIGINT) or killed (SIGKILL) at random points, and
//! the disk holding the state filling up during a write.
//!
//! Rows already covered elsewhere are not repeated here: a frozen host during scan
//! (`scan::a_frozen_host_times_out_while_the_others_complete`), a host frozen before apply
//! (`apply::a_frozen_host_fails_in_bounded_time_while_others_finish`), a failing maintainer
//! script with `max_errors` (`apply::a_failing_postinst_stops_new_hosts_and_skips_dependent_groups`,
//! `apply::max_errors_stops_new_hosts_in_a_group`).

use crate::fleet::{Fleet, require_root};
use crate::workspace::{Workspace, text};
use patchform::state::State;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Three baselines' worth of groups (canary first, web and db after it) that approve three
/// small updates each: installs take about a second per host, so one apply of the whole
/// 3-host fleet takes about three seconds and many trials fit in the budget.
fn config(packages: &[&str], reboot: &str) -> String {
    let start = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(10);
    let approved = packages
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"
patch_baseline "few" {{
  operating_system                     = "DEBIAN"
  approved_patches                     = [{approved}]
  approved_patches_enable_non_security = true
}}

patch_group "canary" {{
  baseline = patch_baseline.few
}}

patch_group "web" {{
  baseline   = patch_baseline.few
  depends_on = [patch_group.canary]
}}

patch_group "db" {{
  baseline   = patch_baseline.few
  depends_on = [patch_group.canary]
}}

maintenance_window "now" {{
  schedule   = "rate(1 day)"
  start_date = "{start}"
  duration   = 6
  cutoff     = 1
  targets    = [patch_group.canary, patch_group.web, patch_group.db]

  task "patch" {{
    operation       = "Install"
    reboot          = "{reboot}"
    max_concurrency = "1"
    max_errors      = "100%"
  }}
}}
"#
    )
}

/// The updates every trial installs; the image has 1.0-1 of each.
const SMALL_UPDATES: [&str; 3] = ["pf-libssl", "pf-twosuites", "pf-outranked"];

fn small_updates_config() -> String {
    config(&SMALL_UPDATES, "NoReboot")
}

/// `patchform ARGS` in the workspace, stdout and stderr going to files there (a pipe nobody
/// reads would block the child), so that tests can watch `-json` events while it runs.
struct Running {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Running {
    fn start(workspace: &Workspace, args: &[&str]) -> Running {
        let stdout = workspace.file("run.stdout");
        let stderr = workspace.file("run.stderr");
        let child = Command::new(env!("CARGO_BIN_EXE_patchform"))
            .args(args)
            .current_dir(workspace.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .expect("start patchform");
        Running {
            child,
            stdout,
            stderr,
        }
    }

    fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.stdout)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Waits for the `-json` event of `host` reaching `step`.
    fn wait_for_step(&self, host: &str, step: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self
            .events()
            .iter()
            .any(|e| e["type"] == "step" && e["host"] == host && e["step"] == step)
        {
            assert!(
                Instant::now() < deadline,
                "{host} never reached step {step}:\n{}",
                self.output_text()
            );
            sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to end; panics (after killing it) when it takes longer than
    /// `timeout`, since every row requires that patchform never hangs.
    fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "patchform still running after {timeout:?}:\n{}",
                    self.output_text()
                );
            }
            sleep(Duration::from_millis(50));
        }
    }

    fn output_text(&self) -> String {
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            std::fs::read_to_string(&self.stdout).unwrap_or_default(),
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        )
    }

    /// The report of `host` from its `host_finished` event.
    fn host_report(&self, host: &str) -> Value {
        self.events()
            .into_iter()
            .find(|e| e["type"] == "host_finished" && e["report"]["host"] == host)
            .map(|e| e["report"].clone())
            .unwrap_or_else(|| panic!("no report for {host}:\n{}", self.output_text()))
    }
}

/// What a host looks like to dpkg, read in one SSH round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Probe {
    /// An apt-get or dpkg process is running.
    busy: bool,
    /// Some process holds the fcntl lock on /var/lib/dpkg/lock-frontend.
    lock_held: bool,
    /// `dpkg --audit` output: packages dpkg left unfinished.
    audit: String,
    /// Every pf- package: version and dpkg status abbreviation.
    packages: BTreeMap<String, (String, String)>,
}

const PROBE_SCRIPT: &str = r#"if pgrep -x 'apt-get|dpkg' >/dev/null; then echo busy; fi
python3 -c 'import fcntl, os; fcntl.lockf(os.open("/var/lib/dpkg/lock-frontend", os.O_RDWR | os.O_CREAT), fcntl.LOCK_EX | fcntl.LOCK_NB)' 2>/dev/null || echo lock-held
dpkg-query -W -f='package ${Package} ${Version} ${db:Status-Abbrev}\n' 'pf-*'
dpkg --audit | sed 's/^/audit /'"#;

fn probe(fleet: &Fleet, host: &str) -> Probe {
    let stdout = fleet.ssh_ok(host, PROBE_SCRIPT);
    let mut probe = Probe {
        busy: false,
        lock_held: false,
        audit: String::new(),
        packages: BTreeMap::new(),
    };
    for line in stdout.lines() {
        if line == "busy" {
            probe.busy = true;
        } else if line == "lock-held" {
            probe.lock_held = true;
        } else if let Some(rest) = line.strip_prefix("audit ") {
            probe.audit.push_str(rest);
            probe.audit.push('\n');
        } else if let Some(rest) = line.strip_prefix("package ") {
            let fields: Vec<&str> = rest.split_whitespace().collect();
            probe.packages.insert(
                fields[0].to_owned(),
                (
                    fields[1].to_owned(),
                    fields.get(2).unwrap_or(&"").to_string(),
                ),
            );
        }
    }
    probe
}

/// Probes every host at once, after waiting (up to `timeout`) until no apt-get or dpkg runs
/// on it: an install that outlived its controller (SIGKILL) must be let finish first.
fn probe_idle(fleet: &Fleet, timeout: Duration) -> BTreeMap<String, Probe> {
    std::thread::scope(|scope| {
        let probes: Vec<_> = fleet
            .hosts()
            .iter()
            .map(|h| {
                let name = h.name.clone();
                scope.spawn(move || {
                    let deadline = Instant::now() + timeout;
                    loop {
                        let found = probe(fleet, &name);
                        if !found.busy || Instant::now() >= deadline {
                            return (name, found);
                        }
                        sleep(Duration::from_millis(250));
                    }
                })
            })
            .collect();
        probes.into_iter().map(|p| p.join().unwrap()).collect()
    })
}

/// Asserts that dpkg has nothing unfinished and nobody holds its lock on any host.
#[track_caller]
fn assert_dpkg_clean(probes: &BTreeMap<String, Probe>, context: &str) {
    for (host, probe) in probes {
        assert!(
            !probe.busy,
            "{context}: apt or dpkg still running on {host}"
        );
        assert!(
            !probe.lock_held,
            "{context}: the dpkg frontend lock is held on {host}"
        );
        assert_eq!(
            probe.audit, "",
            "{context}: dpkg --audit reports unfinished work on {host}"
        );
    }
}

fn versions(probes: &BTreeMap<String, Probe>) -> BTreeMap<String, BTreeMap<String, String>> {
    probes
        .iter()
        .map(|(host, probe)| {
            (
                host.clone(),
                probe
                    .packages
                    .iter()
                    .map(|(name, (version, status))| (name.clone(), format!("{version} {status}")))
                    .collect(),
            )
        })
        .collect()
}

/// Puts every host's pf- packages back to `original` with apt (downgrades allowed), in
/// parallel; waits for the dpkg lock if an orphaned install still holds it.
fn reset_hosts(fleet: &Fleet, original: &BTreeMap<String, Probe>) {
    std::thread::scope(|scope| {
        for (host, probe) in original {
            let wanted: Vec<String> = probe
                .packages
                .iter()
                .map(|(name, (version, _))| format!("{name}={version}"))
                .collect();
            scope.spawn(move || {
                fleet.ssh_ok(
                    host,
                    &format!(
                        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades \
                         -o DPkg::Lock::Timeout=60 -o Dpkg::Options::=--force-confold {} >/dev/null",
                        wanted.join(" ")
                    ),
                );
            });
        }
    });
}

fn read_state(workspace: &Workspace) -> Option<State> {
    let text = std::fs::read_to_string(workspace.file("patchform.pfstate")).ok()?;
    Some(State::from_json(&text).unwrap_or_else(|e| {
        panic!("the state does not parse: {e}\n{text}");
    }))
}

fn patchform_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patchform"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run patchform")
}

// ---------------------------------------------------------------------------------------------
// hosts that go away

#[test]
fn scan_with_a_powered_off_host_reports_it_and_finishes_the_others() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(3);
    let workspace = Workspace::new(&fleet, &small_updates_config());
    fleet.fault("poweroff", &["h002"]);
    let started = Instant::now();
    let output = workspace.run(&["scan", "-out=inventory.json", "-refresh-cache=false"]);
    let elapsed = started.elapsed();
    eprintln!("scan with h002 powered off: {elapsed:?}");
    assert!(output.status.success(), "{}", text(&output));
    // Connection refused is immediate; connect_timeout (3 s) bounds anything slower.
    assert!(elapsed < Duration::from_secs(20), "scan took {elapsed:?}");
    let inventory: Value =
        serde_json::from_str(&std::fs::read_to_string(workspace.file("inventory.json")).unwrap())
            .unwrap();
    assert_eq!(inventory["hosts"]["h002"]["result"], "unreachable");
    assert_eq!(inventory["hosts"]["h001"]["result"], "scanned");
    assert_eq!(inventory["hosts"]["h003"]["result"], "scanned");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("h002"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_host_powered_off_mid_install_fails_in_bounded_time_while_others_finish() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(3);
    let workspace = Workspace::new(&fleet, &small_updates_config());
    // Another process holds h002's dpkg lock, so its install is still waiting when the power
    // goes: the host dies in the middle of patchform's install step.
    fleet.fault("lock-dpkg", &["h002", "3600"]);
    let started = Instant::now();
    let mut apply = Running::start(
        &workspace,
        &["apply", "-auto-approve", "-refresh-cache=false", "-json"],
    );
    apply.wait_for_step("h002", "install", Duration::from_secs(60));
    fleet.fault("poweroff", &["h002"]);
    let lost_at = Instant::now();
    let status = apply.wait(Duration::from_secs(120));
    let after_loss = lost_at.elapsed();
    eprintln!(
        "power loss mid-install: apply ended {after_loss:?} after the power went, {:?} in all",
        started.elapsed()
    );
    assert_eq!(status.code(), Some(1), "{}", apply.output_text());
    // The TCP connection is reset when the host's processes die: no keep-alive wait needed.
    assert!(
        after_loss < Duration::from_secs(30),
        "took {after_loss:?} to notice"
    );
    let h002 = apply.host_report("h002");
    assert_eq!(h002["outcome"], "FAILED", "{}", apply.output_text());
    assert_eq!(h002["class"], "connection_lost", "{}", apply.output_text());
    for host in ["h001", "h003"] {
        assert_eq!(
            apply.host_report(host)["outcome"],
            "SUCCEEDED",
            "{}",
            apply.output_text()
        );
    }
    // Back on: apt was still waiting for the lock when it died, so dpkg never started.
    fleet.fault("poweron", &["h002"]);
    let probe = probe(&fleet, "h002");
    assert_eq!(probe.audit, "");
    assert_eq!(probe.packages["pf-libssl"].0, "1.0-1");
}

#[test]
fn a_host_frozen_mid_install_fails_in_bounded_time_and_its_install_finishes_after_thaw() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(3);
    let workspace = Workspace::new(&fleet, &small_updates_config());
    fleet.fault("lock-dpkg", &["h002", "3600"]);
    let mut apply = Running::start(
        &workspace,
        &["apply", "-auto-approve", "-refresh-cache=false", "-json"],
    );
    apply.wait_for_step("h002", "install", Duration::from_secs(60));
    fleet.fault("freeze", &["h002"]);
    let frozen_at = Instant::now();
    let status = apply.wait(Duration::from_secs(180));
    let after_freeze = frozen_at.elapsed();
    eprintln!("host frozen mid-install: apply ended {after_freeze:?} after the freeze");
    fleet.fault("thaw", &["h002"]);
    assert_eq!(status.code(), Some(1), "{}", apply.output_text());
    // ssh keep-alives every 5 s, three missed: the master gives up after about 15 s.
    assert!(
        after_freeze < Duration::from_secs(60),
        "took {after_freeze:?} to give up on a frozen host"
    );
    let h002 = apply.host_report("h002");
    assert_eq!(h002["outcome"], "FAILED", "{}", apply.output_text());
    assert_eq!(h002["class"], "connection_lost", "{}", apply.output_text());
    assert_eq!(apply.host_report("h003")["outcome"], "SUCCEEDED");
    // The install ran detached: after the thaw it is still waiting for the lock, and once
    // the lock is free it completes on its own.
    fleet.fault("unlock-dpkg", &["h002"]);
    let probes = probe_idle(&fleet, Duration::from_secs(60));
    assert_dpkg_clean(&probes, "after thaw");
    assert_eq!(probes["h002"].packages["pf-libssl"].0, "1.0-1+deb12u1");
}

#[test]
fn sshd_killed_mid_install_fails_the_host_but_never_interrupts_dpkg() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(3);
    let workspace = Workspace::new(&fleet, &small_updates_config());
    // Every dpkg run on h002 sleeps 3 s after taking its lock, so sshd can be killed while
    // dpkg itself is running.
    fleet.ssh_ok(
        "h002",
        "echo 'pre-invoke=sleep 3' > /etc/dpkg/dpkg.cfg.d/zz-pf-slow",
    );
    let mut apply = Running::start(
        &workspace,
        &["apply", "-auto-approve", "-refresh-cache=false", "-json"],
    );
    apply.wait_for_step("h002", "install", Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !fleet
        .script(&["exec", "h002", "pgrep", "-x", "dpkg"])
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "dpkg never started on h002");
        sleep(Duration::from_millis(100));
    }
    fleet.fault("kill-sshd", &["h002"]);
    let killed_at = Instant::now();
    let status = apply.wait(Duration::from_secs(120));
    let after_kill = killed_at.elapsed();
    eprintln!("sshd killed mid-install: apply ended {after_kill:?} after the kill");
    assert_eq!(status.code(), Some(1), "{}", apply.output_text());
    assert!(after_kill < Duration::from_secs(30), "took {after_kill:?}");
    let h002 = apply.host_report("h002");
    assert_eq!(h002["outcome"], "FAILED", "{}", apply.output_text());
    assert_eq!(h002["class"], "connection_lost", "{}", apply.output_text());
    assert_eq!(apply.host_report("h003")["outcome"], "SUCCEEDED");
    // Without sshd, look inside the host: dpkg (or the apt-get around it) survived the loss
    // of the session that started it.
    let survivors = fleet.script(&["exec", "h002", "pgrep", "-x", "apt-get|dpkg"]);
    assert!(
        survivors.status.success(),
        "the install died with the SSH session"
    );
    fleet.fault("start-sshd", &["h002"]);
    let probes = probe_idle(&fleet, Duration::from_secs(60));
    fleet.ssh_ok("h002", "rm /etc/dpkg/dpkg.cfg.d/zz-pf-slow");
    assert_dpkg_clean(&probes, "after the detached install");
    let rc = fleet.ssh_ok("h002", "cat /var/lib/patchform/run-*.rc");
    assert_eq!(rc, "0", "the detached install's exit status");
    for package in SMALL_UPDATES {
        assert_eq!(
            probes["h002"].packages[package].1, "ii",
            "{package} on h002"
        );
    }
    // The next scan reads back what the detached install did.
    let scan = workspace.run(&["scan", "-out=inventory.json", "-refresh-cache=false"]);
    assert!(scan.status.success(), "{}", text(&scan));
    let inventory: Value =
        serde_json::from_str(&std::fs::read_to_string(workspace.file("inventory.json")).unwrap())
            .unwrap();
    let installed = &inventory["hosts"]["h002"]["installed"];
    for package in SMALL_UPDATES {
        assert_eq!(
            installed[package]["version"], probes["h002"].packages[package].0,
            "{package}"
        );
        assert_eq!(installed[package]["state"], "installed", "{package}");
    }
    // Nothing is left to do anywhere.
    let plan = workspace.run(&["plan", "-detailed-exitcode", "-refresh=false"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

#[test]
fn a_held_dpkg_lock_is_waited_for_then_failed_as_dpkg_lock() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(3);
    let workspace = Workspace::new(&fleet, &small_updates_config());
    fleet.fault("lock-dpkg", &["h002", "3600"]);
    let mut apply = Running::start(
        &workspace,
        &[
            "apply",
            "-auto-approve",
            "-refresh-cache=false",
            "-json",
            "-dpkg-lock-timeout=5s",
        ],
    );
    let status = apply.wait(Duration::from_secs(120));
    assert_eq!(status.code(), Some(1), "{}", apply.output_text());
    let h002 = apply.host_report("h002");
    assert_eq!(h002["outcome"], "FAILED", "{}", apply.output_text());
    assert_eq!(h002["class"], "dpkg_lock", "{}", apply.output_text());
    let duration = |report: &Value| {
        let at = |key: &str| {
            report[key]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap()
        };
        (at("finished_at") - at("started_at")).as_secs_f64()
    };
    let waited = duration(&h002);
    eprintln!("h002 with a held dpkg lock failed after {waited:.1} s");
    assert!(
        waited >= 5.0,
        "gave up after {waited} s, before the timeout"
    );
    assert!(waited < 30.0, "waited {waited} s for a 5 s lock timeout");
    assert_eq!(apply.host_report("h003")["outcome"], "SUCCEEDED");
    fleet.fault("unlock-dpkg", &["h002"]);
    let probe = probe(&fleet, "h002");
    assert_eq!(probe.audit, "");
    assert_eq!(probe.packages["pf-libssl"].0, "1.0-1", "nothing installed");
}

#[test]
fn a_reboot_that_never_comes_back_fails_at_the_deadline() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(3);
    // pf-linux-image 1.0-2 asks for a reboot; on h002 `reboot` powers the host off instead,
    // like a machine that does not come back from its reboot.
    let workspace = Workspace::new(&fleet, &config(&["pf-linux-image"], "RebootIfNeeded"));
    fleet.ssh_ok(
        "h002",
        "rm /usr/sbin/reboot && printf '#!/bin/sh\\nexec /usr/sbin/poweroff\\n' > /usr/sbin/reboot \
         && chmod 755 /usr/sbin/reboot",
    );
    let boot_h003 = fleet.boot_id("h003");
    let mut apply = Running::start(
        &workspace,
        &[
            "apply",
            "-auto-approve",
            "-refresh-cache=false",
            "-json",
            "-reboot-timeout=20s",
        ],
    );
    apply.wait_for_step("h002", "wait_for_boot", Duration::from_secs(60));
    let waiting_since = Instant::now();
    let status = apply.wait(Duration::from_secs(120));
    let waited = waiting_since.elapsed();
    eprintln!("reboot that never comes back: apply ended {waited:?} after the reboot");
    assert_eq!(status.code(), Some(1), "{}", apply.output_text());
    assert!(
        waited >= Duration::from_secs(15),
        "gave up after {waited:?}"
    );
    // The deadline, plus one poll interval and one refused connection attempt.
    assert!(waited < Duration::from_secs(40), "waited {waited:?}");
    let h002 = apply.host_report("h002");
    assert_eq!(h002["outcome"], "FAILED", "{}", apply.output_text());
    assert_eq!(h002["class"], "reboot_timeout", "{}", apply.output_text());
    let h003 = apply.host_report("h003");
    assert_eq!(h003["outcome"], "SUCCEEDED", "{}", apply.output_text());
    assert_eq!(h003["rebooted"], true);
    assert_ne!(fleet.boot_id("h003"), boot_h003);
}

// ---------------------------------------------------------------------------------------------
// the controller interrupted or killed at random points

/// splitmix64: a tiny, well-mixed generator, so a trial is reproduced from its seed alone.
fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seeds of this run: `PF_TRIAL_SEED` alone, or `PF_TRIALS` (default 30) fresh ones.
fn trial_seeds() -> Vec<u64> {
    if let Ok(text) = std::env::var("PF_TRIAL_SEED") {
        let text = text.trim();
        let seed = match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse(),
        };
        return vec![seed.expect("PF_TRIAL_SEED is a number (decimal or 0x hex)")];
    }
    let trials: u64 = std::env::var("PF_TRIALS")
        .ok()
        .map(|t| t.parse().expect("PF_TRIALS is a number"))
        .unwrap_or(30);
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    (0..trials).map(|i| splitmix64(base ^ i)).collect()
}

/// Where an interrupted apply was, judged from the state it left.
fn phase(state: Option<&State>, hosts: usize) -> String {
    let Some(record) = state.and_then(|s| s.history.last()) else {
        return "before the apply was recorded (scan or plan)".to_owned();
    };
    let count = |outcome: &str| {
        record
            .hosts
            .values()
            .filter(|h| h.outcome == outcome)
            .count()
    };
    match record.finished_at {
        None => format!(
            "mid-apply, {} of {hosts} hosts recorded",
            record.hosts.len()
        ),
        Some(_) if count("SUCCEEDED") == hosts => "after every host finished".to_owned(),
        Some(_) => format!(
            "drained: {} succeeded, {} not started, {} skipped",
            count("SUCCEEDED"),
            count("NOT_STARTED"),
            count("SKIPPED")
        ),
    }
}

/// Runs interruption trials with `signal` (INT or KILL) on one 3-host fleet. See the checks
/// in the body; every trial starts from the image's package versions.
fn interruption_trials(signal: &str) {
    let fleet = Fleet::start(3);
    let config = small_updates_config();
    let original = probe_idle(&fleet, Duration::from_secs(10));

    // The reference: an uninterrupted apply and the host state it leads to. It runs twice
    // and the faster run sets the range of interruption points: the first pays for cold
    // caches on the hosts and would put many trials after the end of the run.
    let mut reference_duration = Duration::MAX;
    let mut reference = BTreeMap::new();
    for _ in 0..2 {
        let workspace = Workspace::new(&fleet, &config);
        let started = Instant::now();
        let run = workspace.run(&["apply", "-auto-approve", "-refresh-cache=false"]);
        reference_duration = reference_duration.min(started.elapsed());
        assert!(run.status.success(), "{}", text(&run));
        reference = probe_idle(&fleet, Duration::from_secs(10));
        assert_dpkg_clean(&reference, "reference run");
        assert_ne!(versions(&reference), versions(&original));
        // The reference leaves nothing to do: a host state equal to it is converged.
        let plan = workspace.run(&["plan", "-detailed-exitcode", "-refresh-cache=false"]);
        assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
        reset_hosts(&fleet, &original);
    }
    eprintln!("{signal} trials: uninterrupted apply takes {reference_duration:?}");

    let seeds = trial_seeds();
    let all_started = Instant::now();
    let mut phases: BTreeMap<String, usize> = BTreeMap::new();
    let mut force_unlocks = 0;
    for (index, seed) in seeds.iter().enumerate() {
        let trial_started = Instant::now();
        // Uniform over the length of an uninterrupted run, planning included.
        let fraction = (splitmix64(*seed) % 10_000) as f64 / 10_000.0;
        let delay = reference_duration.mul_f64(fraction);
        let context = format!(
            "{signal} trial {}/{} seed={seed:#018x} (PF_TRIAL_SEED={seed:#x}) at {:.0}% = {delay:?}",
            index + 1,
            seeds.len(),
            fraction * 100.0
        );
        let workspace = Workspace::new(&fleet, &config);
        let mut apply = Running::start(
            &workspace,
            &["apply", "-auto-approve", "-refresh-cache=false"],
        );
        sleep(delay);
        apply.signal(signal);
        let status = apply.wait(Duration::from_secs(120));
        let mut phase_override = None;
        if signal == "INT" {
            // Interrupted at any point, patchform ends on its own, with a status: drained
            // (1), refused to start (1) or already done (0). The only exception is the first
            // milliseconds of the process, before `apply` installs its handler: then the
            // signal kills it, and it must not have touched the state or its lock yet.
            use std::os::unix::process::ExitStatusExt;
            match (status.code(), status.signal()) {
                (Some(0 | 1), _) => {}
                (None, Some(2)) => {
                    for file in ["patchform.pfstate", "patchform.pfstate.lock.info"] {
                        assert!(
                            !workspace.file(file).exists(),
                            "{context}: killed by SIGINT after creating {file}"
                        );
                    }
                    phase_override = Some("at process start, before the handler".to_owned());
                }
                _ => panic!("{context}: {status:?}\n{}", apply.output_text()),
            }
        }

        // The state parses (so does its backup), and states nothing false: a host recorded
        // SUCCEEDED has the planned versions installed.
        let state = read_state(&workspace);
        if let Ok(backup) = std::fs::read_to_string(workspace.file("patchform.pfstate.backup")) {
            State::from_json(&backup)
                .unwrap_or_else(|e| panic!("{context}: the backup does not parse: {e}"));
        }
        let phase = phase_override.unwrap_or_else(|| phase(state.as_ref(), fleet.hosts().len()));
        let after = probe_idle(&fleet, Duration::from_secs(60));
        assert_dpkg_clean(&after, &format!("{context}, {phase}, before the re-run"));
        for record in state.iter().flat_map(|s| &s.history) {
            for (host, host_record) in &record.hosts {
                if host_record.outcome != "SUCCEEDED" {
                    continue;
                }
                for (package, result) in &host_record.packages {
                    assert_eq!(
                        after[host].packages[package].0, result.to,
                        "{context}: state says {host} has {package} {}",
                        result.to
                    );
                }
            }
        }

        // A lock record left behind (by a killed process, or one that exited before the
        // apply started) can be cleared with force-unlock; on even trials it is left alone,
        // to show that the lock itself is free anyway.
        let lock_record = std::fs::read_to_string(workspace.file("patchform.pfstate.lock.info"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v["id"].as_str().map(str::to_owned));
        if let Some(id) = lock_record.filter(|_| index % 2 == 1) {
            let unlock = workspace.run(&["force-unlock", "-force", &id]);
            assert!(unlock.status.success(), "{context}: {}", text(&unlock));
            force_unlocks += 1;
        }
        // The lock is free for the next command at once (-lock-timeout=0s): released by a
        // drained apply, dropped by the OS with a killed process. The re-run converges to
        // the same host state as the uninterrupted run, which left nothing to plan.
        let rerun = workspace.run(&[
            "apply",
            "-auto-approve",
            "-refresh-cache=false",
            "-lock-timeout=0s",
        ]);
        assert!(
            rerun.status.success(),
            "{context}: re-run\n{}",
            text(&rerun)
        );
        let converged = probe_idle(&fleet, Duration::from_secs(10));
        assert_dpkg_clean(&converged, &format!("{context}, after the re-run"));
        assert_eq!(
            versions(&converged),
            versions(&reference),
            "{context}: the re-run did not converge to the uninterrupted result"
        );
        read_state(&workspace).expect("the re-run saved state");

        reset_hosts(&fleet, &original);
        eprintln!(
            "{context}: {phase}, exit {:?}; converged; trial took {:?}",
            status.code(),
            trial_started.elapsed()
        );
        *phases.entry(phase).or_default() += 1;
    }
    eprintln!(
        "{signal} trials: {} in {:?}; interrupted {phases:?}; {force_unlocks} lock record(s) cleared with force-unlock",
        seeds.len(),
        all_started.elapsed()
    );
}

#[test]
fn sigint_trials() {
    if !require_root() {
        return;
    }
    interruption_trials("INT");
}

#[test]
fn sigkill_trials() {
    if !require_root() {
        return;
    }
    interruption_trials("KILL");
}

// ---------------------------------------------------------------------------------------------
// the disk holding the state fills up

/// A small tmpfs mounted on a temporary directory this test created; unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    const SIZE: &str = "2m";

    fn mount() -> SmallDisk {
        let dir = tempfile::Builder::new()
            .prefix("pf-small-disk-")
            .tempdir()
            .unwrap();
        // Mount only on the empty directory just created under the temp dir, never elsewhere.
        assert!(dir.path().starts_with(std::env::temp_dir()));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(!Self::is_mounted(dir.path()));
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={},mode=0700", Self::SIZE),
            ])
            .arg("tmpfs")
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "mount tmpfs on {}", dir.path().display());
        SmallDisk { dir }
    }

    fn is_mounted(path: &Path) -> bool {
        let wanted = path.to_string_lossy();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(&*wanted))
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Free bytes (tmpfs keeps no reserve for root).
    fn free(&self) -> u64 {
        let out = Command::new("stat")
            .args(["-f", "-c", "%a %S"])
            .arg(self.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().unwrap());
        fields.next().unwrap() * fields.next().unwrap()
    }

    /// Fills the disk until only `keep` bytes are free.
    fn fill(&self, keep: u64) {
        let filler = self.path().join("filler");
        let _ = std::fs::remove_file(&filler);
        let size = self.free().saturating_sub(keep);
        std::fs::write(&filler, vec![0xA5u8; size as usize]).unwrap();
        assert!(self.free() <= keep, "free {} > wanted {keep}", self.free());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if Self::is_mounted(self.path()) {
            let status = Command::new("umount").arg(self.path()).status();
            if !matches!(status, Ok(s) if s.success()) {
                eprintln!("warning: could not unmount {}", self.path().display());
            }
        }
    }
}

#[test]
fn a_full_disk_during_a_state_write_keeps_the_previous_state() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(1);
    let disk = SmallDisk::mount();
    let setup = Workspace::new(&fleet, &small_updates_config());
    for name in ["hosts.hcl", "ssh.hcl", "main.hcl"] {
        std::fs::copy(setup.file(name), disk.path().join(name)).unwrap();
    }
    let state_path = disk.path().join("patchform.pfstate");
    let backup_path = disk.path().join("patchform.pfstate.backup");
    let scan = |expect_success: bool| {
        let output = patchform_in(disk.path(), &["scan", "-refresh-cache=false"]);
        assert_eq!(output.status.success(), expect_success, "{}", text(&output));
        output
    };
    scan(true);
    let before = std::fs::read(&state_path).unwrap();
    let page = 4096;

    // Full but for the page the lock record needs. The backup is a hard link to the stored
    // file and takes no space, so the write that fails is the new state's temporary file.
    disk.fill(page);
    let output = scan(false);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("disk full at the state write: {}", stderr.trim());
    assert!(stderr.contains("The previous state is intact"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(
        stderr.contains("patchform.pfstate:") && !stderr.contains("patchform.pfstate.backup:"),
        "the failing write should be the state itself: {stderr}"
    );
    assert_eq!(std::fs::read(&state_path).unwrap(), before, "state changed");
    assert_eq!(
        std::fs::read(&backup_path).unwrap(),
        before,
        "the backup holds the previous state"
    );
    // No temporary file is left to eat the space.
    let leftovers: Vec<_> = std::fs::read_dir(disk.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".patchform-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // With space again, the next scan succeeds on top of the intact state.
    std::fs::remove_file(disk.path().join("filler")).unwrap();
    scan(true);
    let after = State::from_json(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let previous = State::from_json(&String::from_utf8(before).unwrap()).unwrap();
    assert_eq!(after.serial, previous.serial + 1);
    assert_eq!(after.lineage, previous.lineage);
}
