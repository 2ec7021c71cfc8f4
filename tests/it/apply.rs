//! End-to-end applies on the test fleet: real installs, reboots, failures and refusals.

use crate::fleet::{Fleet, require_root};
use crate::workspace::{FLEET_CONFIG, Workspace, text};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A daily window whose current occurrence started `started_ago` ago and lasts `hours`, with
/// `cutoff` hours of cutoff, targeting the three fleet groups with one Install task.
fn config(started_ago: jiff::SignedDuration, hours: u8, cutoff: u8, task: &str) -> String {
    let start = jiff::Timestamp::now() - started_ago;
    format!(
        "{FLEET_CONFIG}
maintenance_window \"now\" {{
  schedule   = \"rate(1 day)\"
  start_date = \"{start}\"
  duration   = {hours}
  cutoff     = {cutoff}
  targets    = [patch_group.canary, patch_group.web, patch_group.db]

  task \"patch\" {{
    operation = \"Install\"
    reboot    = \"RebootIfNeeded\"
{task}
  }}
}}
"
    )
}

fn open_window(task: &str) -> String {
    config(jiff::SignedDuration::from_mins(10), 6, 1, task)
}

fn report(workspace: &Workspace) -> Value {
    serde_json::from_str(&std::fs::read_to_string(workspace.file("report.json")).unwrap()).unwrap()
}

fn outcome(report: &Value, host: &str) -> String {
    report["report"]["hosts"][host]["outcome"]
        .as_str()
        .unwrap_or("missing")
        .to_owned()
}

fn state(workspace: &Workspace) -> Value {
    serde_json::from_str(&std::fs::read_to_string(workspace.file("patchform.pfstate")).unwrap())
        .unwrap()
}

fn installed_version(fleet: &Fleet, host: &str, package: &str) -> String {
    fleet.ssh_ok(host, &format!("dpkg-query -W -f='${{Version}}' {package}"))
}

#[test]
fn canary_then_prod_installs_reboots_and_converges() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(10);
    let workspace = Workspace::new(
        &fleet,
        &open_window(
            "    max_concurrency = \"50%\"\n    max_errors      = \"0\"\n    health_check    = \"test -e /etc/os-release\"\n",
        ),
    );
    let plan = workspace.run(&["plan", "-out=plan.pf", "-refresh-cache=false"]);
    assert!(plan.status.success(), "{}", text(&plan));
    let boot_before = fleet.boot_id("h002");
    let apply = workspace.run(&["apply", "-report=report.json", "plan.pf"]);
    assert!(apply.status.success(), "{}", text(&apply));
    let report = report(&workspace);
    for host in fleet.hosts() {
        assert_eq!(
            outcome(&report, &host.name),
            "SUCCEEDED",
            "{}",
            text(&apply)
        );
    }
    // Canary (h001) finished before any prod host started.
    let h001_done = report["report"]["hosts"]["h001"]["finished_at"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap();
    let h002_start = report["report"]["hosts"]["h002"]["started_at"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap();
    assert!(
        h001_done <= h002_start,
        "prod started before canary finished"
    );
    // pf-linux-image asked for a reboot: the host came back with a new boot_id.
    assert_ne!(fleet.boot_id("h002"), boot_before);
    assert_eq!(report["report"]["hosts"]["h002"]["rebooted"], true);
    // Exact versions: canary took everything, web the security version only.
    assert_eq!(installed_version(&fleet, "h001", "pf-outranked"), "1.1-1");
    assert_eq!(
        installed_version(&fleet, "h002", "pf-outranked"),
        "1.0-1+deb12u1"
    );
    assert_eq!(
        installed_version(&fleet, "h002", "pf-held"),
        "1.0-1",
        "held packages stay"
    );
    let state = state(&workspace);
    assert_eq!(state["history"].as_array().unwrap().len(), 1);
    assert_eq!(state["history"][0]["hosts"].as_object().unwrap().len(), 10);
    // Everything applied: a new plan has nothing left to do.
    let again = workspace.run(&["plan", "-detailed-exitcode", "-refresh-cache=false"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
}

#[test]
fn a_failing_postinst_stops_new_hosts_and_skips_dependent_groups() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(4);
    fleet.fault("fail-postinst", &["h001"]);
    let workspace = Workspace::new(
        &fleet,
        &open_window("    max_concurrency = \"1\"\n    max_errors      = \"0\"\n"),
    );
    let apply = workspace.run(&[
        "apply",
        "-auto-approve",
        "-refresh-cache=false",
        "-report=report.json",
    ]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    let report = report(&workspace);
    let canary = &report["report"]["hosts"]["h001"];
    assert_eq!(canary["outcome"], "FAILED");
    assert_eq!(canary["class"], "maintainer_script");
    let failing = canary["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "pf-failing")
        .unwrap();
    assert_eq!(failing["state"], "HALF_CONFIGURED");
    for host in ["h002", "h003", "h004"] {
        assert_eq!(outcome(&report, host), "SKIPPED", "{}", text(&apply));
        let reason = report["report"]["hosts"][host]["reason"].as_str().unwrap();
        assert!(reason.contains("patch_group.canary"), "{reason}");
    }
    // Nothing was installed on the skipped hosts.
    assert_eq!(installed_version(&fleet, "h002", "pf-libssl"), "1.0-1");
    let state = state(&workspace);
    assert_eq!(
        state["hosts"]["h001"]["failed_packages"],
        serde_json::json!(["pf-failing"])
    );
}

#[test]
fn max_errors_stops_new_hosts_in_a_group() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(6);
    // web is h002, h004, h006; run them one at a time and break the first.
    fleet.fault("fail-postinst", &["h002"]);
    let workspace = Workspace::new(
        &fleet,
        &open_window("    max_concurrency = \"1\"\n    max_errors      = \"0\"\n"),
    );
    let apply = workspace.run(&[
        "apply",
        "-auto-approve",
        "-refresh-cache=false",
        "-report=report.json",
        "-target=patch_group.web",
    ]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    let report = report(&workspace);
    assert_eq!(outcome(&report, "h002"), "FAILED");
    assert_eq!(outcome(&report, "h004"), "NOT_STARTED", "{}", text(&apply));
    assert_eq!(outcome(&report, "h006"), "NOT_STARTED");
    assert!(
        report["report"]["hosts"]["h004"]["reason"]
            .as_str()
            .unwrap()
            .contains("max_errors")
    );
}

#[test]
fn a_frozen_host_fails_in_bounded_time_while_others_finish() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(4);
    let workspace = Workspace::new(
        &fleet,
        &open_window("    max_concurrency = \"100%\"\n    max_errors      = \"100%\"\n"),
    );
    let plan = workspace.run(&["plan", "-out=plan.pf", "-refresh-cache=false"]);
    assert!(plan.status.success(), "{}", text(&plan));
    fleet.fault("freeze", &["h004"]);
    let started = Instant::now();
    let apply = workspace.run(&["apply", "-report=report.json", "plan.pf"]);
    let elapsed = started.elapsed();
    fleet.fault("thaw", &["h004"]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    assert!(elapsed < Duration::from_secs(90), "apply took {elapsed:?}");
    let report = report(&workspace);
    assert_eq!(outcome(&report, "h004"), "FAILED");
    assert_eq!(
        report["report"]["hosts"]["h004"]["class"],
        "unreachable",
        "{}",
        text(&apply)
    );
    for host in ["h001", "h002"] {
        assert_eq!(outcome(&report, host), "SUCCEEDED", "{}", text(&apply));
    }
}

#[test]
fn stale_plans_closed_windows_and_passed_cutoffs_are_refused() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(2);
    let workspace = Workspace::new(&fleet, &open_window("    max_concurrency = \"100%\"\n"));
    let plan = workspace.run(&["plan", "-out=plan.pf", "-refresh-cache=false"]);
    assert!(plan.status.success(), "{}", text(&plan));
    // Someone installs a package by hand after the review.
    fleet.ssh_ok(
        "h001",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q pf-hello >/dev/null 2>&1; echo done",
    );
    let apply = workspace.run(&["apply", "plan.pf"]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    let stderr = String::from_utf8_lossy(&apply.stderr);
    assert!(
        stderr.contains("Saved plan is stale: host h001's package database changed"),
        "{}",
        text(&apply)
    );
    assert_eq!(
        installed_version(&fleet, "h002", "pf-libssl"),
        "1.0-1",
        "nothing installed after a refusal"
    );

    // A window that opens in 6 hours.
    std::fs::write(
        workspace.file("main.hcl"),
        config(jiff::SignedDuration::from_hours(-6), 2, 1, ""),
    )
    .unwrap();
    let apply = workspace.run(&["apply", "-auto-approve", "-refresh-cache=false"]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    assert!(
        String::from_utf8_lossy(&apply.stderr).contains("outside its maintenance window"),
        "{}",
        text(&apply)
    );

    // Open, but its cutoff passed: no host starts.
    std::fs::write(
        workspace.file("main.hcl"),
        config(jiff::SignedDuration::from_mins(90), 2, 1, ""),
    )
    .unwrap();
    let apply = workspace.run(&[
        "apply",
        "-auto-approve",
        "-refresh-cache=false",
        "-report=report.json",
    ]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    let report = report(&workspace);
    assert_eq!(outcome(&report, "h001"), "NOT_STARTED", "{}", text(&apply));
    assert!(
        report["report"]["hosts"]["h001"]["reason"]
            .as_str()
            .unwrap()
            .contains("cutoff")
    );
    // h002 (web) waits for the canary, which never ran.
    assert_eq!(outcome(&report, "h002"), "SKIPPED", "{}", text(&apply));
    assert_eq!(installed_version(&fleet, "h001", "pf-libssl"), "1.0-1");
    assert_eq!(installed_version(&fleet, "h002", "pf-libssl"), "1.0-1");
}

#[test]
fn sigint_mid_apply_leaves_consistent_state_and_a_reapply_converges() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(5);
    let workspace = Workspace::new(
        &fleet,
        &open_window("    max_concurrency = \"1\"\n    max_errors      = \"100%\"\n"),
    );
    let child = Command::new(env!("CARGO_BIN_EXE_patchform"))
        .args([
            "apply",
            "-auto-approve",
            "-refresh-cache=false",
            "-report=report.json",
        ])
        .current_dir(workspace.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the canary host finished (its apply record is in state), then interrupt once.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !std::fs::read_to_string(workspace.file("patchform.pfstate"))
        .unwrap_or_default()
        .contains("\"outcome\"")
    {
        assert!(
            Instant::now() < deadline,
            "apply never reached the first host"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report = report(&workspace);
    let outcomes: Vec<String> = fleet
        .hosts()
        .iter()
        .map(|h| outcome(&report, &h.name))
        .collect();
    assert!(
        outcomes.iter().any(|o| o == "NOT_STARTED"),
        "{outcomes:?}\n{}",
        text(&output)
    );
    // The state parses, the lock is free, and a new run finishes the job.
    let state = state(&workspace);
    assert_eq!(state["history"].as_array().unwrap().len(), 1);
    let again = workspace.run(&[
        "apply",
        "-auto-approve",
        "-refresh-cache=false",
        "-lock-timeout=5s",
    ]);
    assert!(again.status.success(), "{}", text(&again));
    let plan = workspace.run(&["plan", "-detailed-exitcode", "-refresh-cache=false"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    for host in fleet.hosts() {
        let audit = fleet.ssh_ok(&host.name, "dpkg --audit; echo audited");
        assert_eq!(
            audit.trim(),
            "audited",
            "dpkg left work unfinished on {}",
            host.name
        );
    }
}

#[test]
fn a_second_apply_is_refused_by_the_lock_naming_the_holder() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(2);
    let workspace = Workspace::new(&fleet, &open_window("    max_concurrency = \"1\"\n"));
    let mut first = Command::new(env!("CARGO_BIN_EXE_patchform"))
        .args(["apply", "-auto-approve", "-refresh-cache=false"])
        .current_dir(workspace.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = workspace.file("patchform.pfstate.lock.info");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&lock)
        .unwrap_or_default()
        .contains("\"apply\"")
    {
        assert!(
            Instant::now() < deadline,
            "the first apply never took the lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = workspace.run(&[
        "apply",
        "-auto-approve",
        "-refresh=false",
        "-lock-timeout=1s",
    ]);
    let _ = first.wait();
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("the state is locked") && stderr.contains("operation apply"),
        "{}",
        text(&second)
    );
    assert!(stderr.contains("force-unlock"), "{}", text(&second));
}
