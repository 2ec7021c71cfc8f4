//! Secrets and saved files, through the real binary and without hosts: sensitive variables are
//! redacted in every plan rendering, plan and report files are private, and a truncated or
//! edited plan file is refused before anything runs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

/// The value of the sensitive variable in testdata/plan/sensitive-hooks/main.hcl.
const SECRET: &str = "s3cr3t-t0ken";

fn case_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("pf-sec-")
        .tempdir()
        .unwrap();
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/plan/sensitive-hooks");
    for name in ["main.hcl", "inventory.json"] {
        std::fs::copy(case.join(name), dir.path().join(name)).unwrap();
    }
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patchform"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run patchform")
}

fn all_text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn sensitive_values_are_redacted_in_every_plan_rendering() {
    let dir = case_dir();
    let path = dir.path();
    let plan = run(
        path,
        &["plan", "-inventory=inventory.json", "-out=plan.pfplan"],
    );
    assert!(
        matches!(plan.status.code(), Some(0 | 2)),
        "{}",
        all_text(&plan)
    );
    let renderings = [
        ("plan", plan),
        (
            "plan -format=markdown",
            run(
                path,
                &["plan", "-inventory=inventory.json", "-format=markdown"],
            ),
        ),
        (
            "plan -format=json",
            run(path, &["plan", "-inventory=inventory.json", "-format=json"]),
        ),
        ("show", run(path, &["show", "plan.pfplan"])),
        ("show -json", run(path, &["show", "-json", "plan.pfplan"])),
        (
            "show -format=markdown",
            run(path, &["show", "-format=markdown", "plan.pfplan"]),
        ),
    ];
    for (name, output) in &renderings {
        let text = all_text(output);
        assert!(
            output.status.success() || output.status.code() == Some(2),
            "{name}: {text}"
        );
        assert!(text.contains("(sensitive)"), "{name} shows no hook: {text}");
        assert!(!text.contains(SECRET), "{name} shows the secret: {text}");
    }
    // The plan file itself must hold the real value, or apply could not run the hook; that
    // is why it is private.
    let saved = std::fs::read_to_string(path.join("plan.pfplan")).unwrap();
    assert!(saved.contains(SECRET));
    assert_eq!(mode(&path.join("plan.pfplan")), 0o600);
}

#[test]
fn reports_are_private() {
    let dir = case_dir();
    let output = run(
        dir.path(),
        &["report", "-inventory=inventory.json", "-out=report.json"],
    );
    assert!(output.status.success(), "{}", all_text(&output));
    assert_eq!(mode(&dir.path().join("report.json")), 0o600);
}

#[test]
fn truncated_and_edited_plans_are_refused_before_anything_runs() {
    let dir = case_dir();
    let path = dir.path();
    let plan = run(
        path,
        &["plan", "-inventory=inventory.json", "-out=plan.pfplan"],
    );
    assert!(
        matches!(plan.status.code(), Some(0 | 2)),
        "{}",
        all_text(&plan)
    );
    let bytes = std::fs::read(path.join("plan.pfplan")).unwrap();
    std::fs::write(path.join("truncated.pfplan"), &bytes[..bytes.len() / 2]).unwrap();
    let edited =
        String::from_utf8(bytes.clone())
            .unwrap()
            .replacen("\"1.0-1+deb12u1\"", "\"9.9-9\"", 1);
    assert_ne!(
        edited.as_bytes(),
        &bytes[..],
        "the fixture names 1.0-1+deb12u1"
    );
    std::fs::write(path.join("edited.pfplan"), edited).unwrap();
    let files_before = std::fs::read_dir(path).unwrap().count();
    for (file, expected) in [
        (
            "truncated.pfplan",
            "is not a patchform plan or is truncated",
        ),
        ("edited.pfplan", "checksum does not match"),
    ] {
        let output = run(path, &["apply", "-auto-approve", file]);
        let text = all_text(&output);
        assert_eq!(output.status.code(), Some(1), "{file}: {text}");
        assert!(
            text.contains(file) && text.contains(expected),
            "{file}: {text}"
        );
        // Refused before any connection: no host is named as contacted, no state written.
        assert!(!text.contains("pre_hook"), "{file}: {text}");
        assert!(
            !path.join("patchform.pfstate").exists(),
            "{file} wrote state"
        );
    }
    let files_after = std::fs::read_dir(path).unwrap().count();
    assert_eq!(
        files_before, files_after,
        "a refused apply left files behind"
    );
}

/// A sensitive value for the fleet test, unusual enough that a match in /proc is ours.
const FLEET_SECRET: &str = "pf-s3cret-7c41e9";

/// Every group of the fleet takes every update; the install task's pre_hook writes the
/// sensitive variable to a file on the host after a pause, so the scan of /proc below has
/// time to look while it runs.
fn hook_config() -> String {
    format!(
        r#"
variable "api_token" {{
  type      = string
  default   = "{FLEET_SECRET}"
  sensitive = true
}}

patch_baseline "everything" {{
  operating_system = "DEBIAN"
  approval_rule {{
    enable_non_security = true
    patch_filter {{
      key    = "PRIORITY"
      values = ["*"]
    }}
  }}
}}

patch_group "canary" {{
  baseline = patch_baseline.everything
}}

maintenance_window "sunday" {{
  schedule          = "cron(0 2 ? * SUN *)"
  schedule_timezone = "UTC"
  duration          = 4
  cutoff            = 1
  targets           = [patch_group.canary]

  task "install" {{
    operation = "Install"
    pre_hook  = "sleep 3; printf '%s' '${{var.api_token}}' > /root/pf-hook-secret"
  }}
}}
"#
    )
}

/// Command lines of every process on the machine (fleet hosts' included: their PID
/// namespaces are children of ours) that contain `needle`.
fn processes_showing(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(format!(
                    "{}: {cmdline}",
                    entry.file_name().to_string_lossy()
                ));
            }
        }
    }
    found
}

#[test]
fn hooks_run_with_the_secret_which_no_output_or_process_list_shows() {
    use crate::fleet::{Fleet, require_root};
    use crate::workspace::Workspace;
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(1);
    let workspace = Workspace::new(&fleet, &hook_config());
    let mut child = Command::new(env!("CARGO_BIN_EXE_patchform"))
        .args([
            "apply",
            "-auto-approve",
            "-ignore-window",
            "-refresh-cache=false",
            "-report=report.json",
        ])
        .current_dir(workspace.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run patchform apply");
    // Only this test's own process may hold the secret (it is a literal in its binary, not
    // in its arguments), so any match is a leak.
    let mut leaks = Vec::new();
    let mut looks = 0;
    while child.try_wait().unwrap().is_none() {
        leaks.extend(processes_showing(FLEET_SECRET));
        looks += 1;
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let text = all_text(&output);
    assert!(output.status.success(), "{text}");
    assert!(looks > 10, "the apply ended before /proc could be read");
    assert!(leaks.is_empty(), "secret in process arguments: {leaks:?}");
    assert_eq!(
        fleet.ssh_ok("h001", "cat /root/pf-hook-secret"),
        FLEET_SECRET,
        "the hook did not run with the real value"
    );
    assert!(
        !text.contains(FLEET_SECRET),
        "apply output shows the secret: {text}"
    );
    let report = std::fs::read_to_string(workspace.file("report.json")).unwrap();
    assert!(
        !report.contains(FLEET_SECRET),
        "the report shows the secret"
    );
    assert_eq!(mode(&workspace.file("report.json")), 0o600);
    let state = workspace.file("patchform.pfstate");
    assert!(
        !std::fs::read_to_string(&state)
            .unwrap()
            .contains(FLEET_SECRET),
        "the state holds the secret"
    );
    assert_eq!(mode(&state), 0o600);
}

#[test]
fn a_truncated_state_file_is_refused_naming_it_and_its_backup() {
    let dir = case_dir();
    let path = dir.path();
    let truncated = br#"{"format_version": 1, "lineage": "ab"#;
    std::fs::write(path.join("patchform.pfstate"), truncated).unwrap();
    for args in [
        &["plan", "-inventory=inventory.json"][..],
        &["plan", "-refresh=false"],
        &["scan", "-refresh-cache=false"],
    ] {
        let output = run(path, args);
        let text = all_text(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {text}");
        for needle in [
            "cannot read state patchform.pfstate",
            "truncated",
            "patchform.pfstate.backup",
        ] {
            assert!(
                text.contains(needle),
                "{args:?} does not say {needle:?}: {text}"
            );
        }
        // Refused, not repaired or overwritten.
        assert_eq!(
            std::fs::read(path.join("patchform.pfstate")).unwrap(),
            truncated,
            "{args:?}"
        );
    }
}

#[test]
fn accepting_new_host_keys_is_explicit_and_recorded() {
    use crate::fleet::{Fleet, require_root};
    use crate::workspace::{FLEET_CONFIG, Workspace};
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(1);
    let workspace = Workspace::new(&fleet, FLEET_CONFIG);
    let known_hosts = workspace.file("known_hosts");
    std::fs::write(&known_hosts, "").unwrap();
    std::fs::write(
        workspace.file("ssh.hcl"),
        format!(
            "ssh {{\n  known_hosts_file = \"{}\"\n  connect_timeout  = 3\n}}\n",
            known_hosts.display()
        ),
    )
    .unwrap();
    let inventory = |output: &Output| -> serde_json::Value {
        assert!(output.status.success(), "{}", all_text(output));
        serde_json::from_str(&std::fs::read_to_string(workspace.file("inventory.json")).unwrap())
            .unwrap()
    };
    let scan = ["scan", "-out=inventory.json", "-refresh-cache=false"];

    let refused = workspace.run(&scan);
    assert_eq!(
        inventory(&refused)["hosts"]["h001"]["result"],
        "unreachable"
    );
    assert!(all_text(&refused).contains("host key of h001 is not known"));
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), "");

    let accepting = workspace.run(&[&scan[..], &["-accept-new-host-keys"]].concat());
    let accepted = inventory(&accepting);
    assert_eq!(accepted["hosts"]["h001"]["result"], "scanned");
    assert_eq!(accepted["host_key_policy"], "accept-new");
    assert!(all_text(&accepting).contains("-accept-new-host-keys"));
    // ssh may hash the names it records; ssh-keygen -F finds them either way.
    let lookup = Command::new("ssh-keygen")
        .args(["-F", &fleet.host(0).address, "-f"])
        .arg(&known_hosts)
        .output()
        .unwrap();
    assert!(
        lookup.status.success() && !lookup.stdout.is_empty(),
        "the key of h001 was not recorded: {}",
        all_text(&lookup)
    );

    // The key is now known: a strict scan connects, and says so.
    let strict = inventory(&workspace.run(&scan));
    assert_eq!(strict["hosts"]["h001"]["result"], "scanned");
    assert_eq!(strict["host_key_policy"], "strict");
}
