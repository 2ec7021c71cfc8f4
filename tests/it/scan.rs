//! End-to-end scans of the test fleet: real sshd, apt and dpkg.

use crate::fleet::{Fleet, require_root};
use crate::workspace::{FLEET_CONFIG, Workspace, text};
use serde_json::Value;
use std::time::{Duration, Instant};

fn inventory(workspace: &Workspace) -> Value {
    serde_json::from_str(&std::fs::read_to_string(workspace.file("inventory.json")).unwrap())
        .unwrap()
}

fn report(workspace: &Workspace) -> Value {
    let output = workspace.run(&["report", "-format=json"]);
    assert!(output.status.success(), "{}", text(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The evaluated packages of one host in the JSON report, as "name state target" lines.
fn package_lines(report: &Value, host: &str) -> Vec<String> {
    let host = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == host)
        .unwrap();
    host["packages"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|p| {
            format!(
                "{} {} {}",
                p["name"].as_str().unwrap(),
                p["state"].as_str().unwrap(),
                p["target"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

#[test]
fn scan_ten_hosts_reports_states_per_group() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(10);
    let workspace = Workspace::new(&fleet, FLEET_CONFIG);
    let output = workspace.run(&["scan", "-out=inventory.json"]);
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("10 hosts: 10 non-compliant."),
        "{}",
        text(&output)
    );

    let inventory = inventory(&workspace);
    assert_eq!(inventory["format_version"], 1);
    assert_eq!(inventory["hosts"].as_object().unwrap().len(), 10);
    for (name, facts) in inventory["hosts"].as_object().unwrap() {
        assert_eq!(facts["result"], "scanned", "{name}");
        assert_eq!(facts["os"]["codename"], "bookworm");
        assert_eq!(facts["holds"], serde_json::json!(["pf-held"]));
    }
    let report = report(&workspace);
    // canary (h001): every update; the outranked security fix loses to the newer 1.1-1 and
    // the update that needs pf-newlib pulls it in.
    let canary = package_lines(&report, "h001");
    assert!(
        canary.contains(&"pf-outranked MISSING 1.1-1".to_owned()),
        "{canary:?}"
    );
    assert!(
        canary.contains(&"pf-newdep MISSING 2.0-1".to_owned()),
        "{canary:?}"
    );
    assert!(
        canary.contains(&"pf-newlib MISSING 2.0-1".to_owned()),
        "{canary:?}"
    );
    assert!(
        canary.contains(&"pf-held MISSING 1.0-2".to_owned()),
        "{canary:?}"
    );
    // web (h002): security only, so the security version is chosen over apt's candidate.
    let web = package_lines(&report, "h002");
    assert!(
        web.contains(&"pf-outranked MISSING 1.0-1+deb12u1".to_owned()),
        "{web:?}"
    );
    assert!(!web.iter().any(|l| l.starts_with("pf-newdep")), "{web:?}");
    assert!(!web.iter().any(|l| l.starts_with("pf-conffile")), "{web:?}");
    // db (h003): pf-newdep needs the rejected pf-newlib and is blocked.
    let db_host = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == "h003")
        .unwrap();
    let newdep = db_host["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "pf-newdep")
        .unwrap();
    assert_eq!(newdep["blocked"]["kind"], "needs_rejected");
    let held = db_host["warnings"].as_array().unwrap();
    assert!(
        held.iter().any(|w| w.as_str().unwrap().contains("pf-held")),
        "{held:?}"
    );

    // The snapshot is enough for an offline report.
    let offline = workspace.run(&["report", "-inventory=inventory.json", "-format=junit"]);
    assert!(offline.status.success(), "{}", text(&offline));
    let junit = String::from_utf8_lossy(&offline.stdout);
    assert_eq!(junit.matches("<testcase").count(), 10, "{junit}");
    assert_eq!(junit.matches("<failure").count(), 10, "{junit}");
}

#[test]
fn a_frozen_host_times_out_while_the_others_complete() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(3);
    let workspace = Workspace::new(&fleet, FLEET_CONFIG);
    fleet.fault("freeze", &["h002"]);
    let started = Instant::now();
    let output = workspace.run(&["scan", "-out=inventory.json", "-refresh-cache=false"]);
    let elapsed = started.elapsed();
    fleet.fault("thaw", &["h002"]);
    assert!(output.status.success(), "{}", text(&output));
    // connect_timeout is 3 s; the outer deadline is 2 × 3 + 5 s.
    assert!(elapsed < Duration::from_secs(30), "scan took {elapsed:?}");
    let inventory = inventory(&workspace);
    assert_eq!(
        inventory["hosts"]["h002"]["result"],
        "unreachable",
        "{}",
        text(&output)
    );
    assert_eq!(inventory["hosts"]["h001"]["result"], "scanned");
    assert_eq!(inventory["hosts"]["h003"]["result"], "scanned");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("h002"), "{stderr}");
}

#[test]
fn unknown_and_changed_host_keys_are_refused() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(2);
    let workspace = Workspace::new(&fleet, FLEET_CONFIG);
    // Give h002's address h001's key: a changed key. Drop h001 entirely: an unknown key.
    let known = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    let lines: Vec<&str> = known.lines().collect();
    let h001_key = lines
        .iter()
        .find(|l| l.contains("h001"))
        .unwrap()
        .split_once(' ')
        .unwrap()
        .1;
    let h002_address = fleet.host(1).address.clone();
    let edited = format!("{h002_address},h002 {h001_key}\n");
    let known_path = workspace.file("known_hosts");
    std::fs::write(&known_path, edited).unwrap();
    std::fs::write(
        workspace.file("ssh.hcl"),
        format!(
            "ssh {{\n  known_hosts_file = \"{}\"\n  connect_timeout  = 3\n}}\n",
            known_path.display()
        ),
    )
    .unwrap();
    let output = workspace.run(&["scan", "-out=inventory.json", "-refresh-cache=false"]);
    assert!(output.status.success(), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("host key of h001 is not known"),
        "{}",
        text(&output)
    );
    assert!(stderr.contains("ssh-keyscan"), "{}", text(&output));
    assert!(
        stderr.contains("host key of h002 has CHANGED"),
        "{}",
        text(&output)
    );
    let inventory = inventory(&workspace);
    assert_eq!(inventory["hosts"]["h001"]["result"], "unreachable");
    assert_eq!(inventory["hosts"]["h002"]["result"], "unreachable");
}

/// Accepted SSH logins in the host's sshd log (the reading connection counts itself).
fn logins(fleet: &Fleet, host: &str) -> usize {
    fleet
        .ssh_ok(host, "grep -c 'Accepted publickey' /var/log/pf-sshd.log")
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_kept_connection_is_reused_without_a_new_login() {
    use patchform::transport::{HostKeyPolicy, RemoteCommand, Ssh, SshOptions};
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(1);
    let host = patchform::model::Host {
        name: "h001".into(),
        address: fleet.host(0).address.clone(),
        port: 22,
        user: "root".into(),
        identity_file: Some(fleet.identity_file().display().to_string()),
        jump_host: None,
        tags: Default::default(),
        group: None,
    };
    let control = tempfile::Builder::new()
        .prefix("pf-")
        .tempdir_in("/tmp")
        .unwrap();
    let ssh = Ssh::new(SshOptions {
        host_keys: HostKeyPolicy::Strict,
        config_file: None,
        known_hosts_file: Some(fleet.known_hosts()),
        connect_timeout: Duration::from_secs(10),
        output_limit: 1 << 20,
        control_dir: control.path().to_path_buf(),
    })
    .unwrap();
    let echo = RemoteCommand::new("echo", "echo kept", Duration::from_secs(10));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let before = logins(&fleet, "h001");
    runtime.block_on(async {
        let first = ssh.connect(&host).await.unwrap();
        assert_eq!(first.run(&echo).await.unwrap().stdout, "kept\n");
        assert!(
            ssh.keep(first, 1).is_none(),
            "one connection fits the limit"
        );
        let again = ssh.connect(&host).await.unwrap();
        assert_eq!(again.run(&echo).await.unwrap().stdout, "kept\n");
        // Over the limit, the connection is handed back instead of kept.
        let extra = ssh.keep(again, 0).expect("limit 0 keeps nothing");
        extra.close().await;
    });
    // One login for both connects, plus the one that reads the log.
    assert_eq!(logins(&fleet, "h001") - before, 2);
}
