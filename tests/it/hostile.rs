//! Hostile host output, end to end: fleet hosts whose `dpkg-query`, `apt-get` or `apt-cache`
//! are replaced by wrappers printing shell metacharacters, a line of megabytes, gigabytes,
//! invalid UTF-8 or output that never ends. Each such host must be reported failed with a
//! reason naming it and the command, the clean host must scan, controller memory must stay
//! bounded by the output cap, nothing printed may ever run, and no plan may name it.

use crate::fleet::{Fleet, require_root};
use crate::workspace::{FLEET_CONFIG, Workspace, text};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

/// A wrapper installed on one host: the tool it shadows and the script that replaces it.
struct Hostile {
    host: &'static str,
    what: &'static str,
    tool: &'static str,
    script: &'static str,
    /// The remote command whose output is refused, as the reason names it.
    command: &'static str,
}

const HOSTILE: &[Hostile] = &[
    Hostile {
        host: "h002",
        what: "shell metacharacters in dpkg-query names and versions",
        tool: "dpkg-query",
        script: r#"printf '%s\t%s\t%s\t%s\n' 'pf-a$(touch /tmp/pwned)' '1.0-1' amd64 'ii '
printf '%s\t%s\t%s\t%s\n' 'pf-b' '1.0`touch /tmp/pwned`' amd64 'ii '
printf '%s\t%s\t%s\t%s\n' 'pf-c;touch /tmp/pwned|x' '1.0' amd64 'ii '"#,
        command: "scan facts",
    },
    Hostile {
        host: "h003",
        what: "shell metacharacters in an apt-get simulation",
        tool: "apt-get",
        script: r#"echo 'Inst pf-x$(touch /tmp/pwned) [1.0-1] (2.0-1 Debian:12/stable [all])'
echo 'Inst pf-y [1.0-1] (2.0;touch${IFS}/tmp/pwned Debian:12/stable [all])'"#,
        command: "scan facts",
    },
    Hostile {
        host: "h004",
        what: "shell metacharacters in apt-cache policy of the package details",
        tool: "apt-cache",
        script: r#"case "$*" in
  *--*) printf 'pf-a;touch /tmp/pwned:\n  Installed: 1.0\n  Version table:\n';;
  *) exec /usr/bin/apt-cache "$@";;
esac"#,
        command: "scan facts",
    },
    Hostile {
        host: "h005",
        what: "a single line of 8 MB (a version field)",
        tool: "dpkg-query",
        script: r#"printf 'pf-a\t'; head -c 8000000 /dev/zero | tr '\0' 1; printf '\tall\tii \n'"#,
        command: "scan facts",
    },
    Hostile {
        host: "h006",
        what: "gigabytes of output (yes), stopped only by the output cap",
        tool: "dpkg-query",
        script: r#"exec yes 'pf-a	1.0	all	ii '"#,
        command: "scan facts",
    },
    Hostile {
        host: "h007",
        what: "invalid UTF-8 in a package name",
        tool: "dpkg-query",
        script: r#"printf 'pf-\377\376\t1.0\tall\tii \n'"#,
        command: "scan facts",
    },
    Hostile {
        host: "h008",
        what: "partial output, then never ends",
        tool: "dpkg-query",
        // An unusual duration, so the check below finds this sleep and not the host's own.
        script: r#"printf 'pf-a\t1.0'; exec sleep 86399"#,
        command: "scan facts",
    },
];

/// Peak resident memory allowed to the controller: the output cap is 32 MiB per stream, so a
/// host printing gigabytes must cost at most a few times that.
const MAX_RSS_KIB: u64 = 200 * 1024;

/// Command deadline for the scan: the host whose output never ends must be cut off by it.
const COMMAND_TIMEOUT: &str = "15s";

fn install_wrapper(fleet: &Fleet, hostile: &Hostile) {
    let install = format!(
        "cat > /usr/local/sbin/{tool} <<'PF_EOF'\n#!/bin/sh\n{script}\nPF_EOF\nchmod 755 /usr/local/sbin/{tool}",
        tool = hostile.tool,
        script = hostile.script
    );
    let output = fleet.script(&["exec", hostile.host, "sh", "-c", &install]);
    assert!(output.status.success(), "{}", text(&output));
    // The wrapper only works if an SSH session finds it before the real tool.
    let found = fleet.ssh_ok(hostile.host, &format!("command -v {}", hostile.tool));
    assert_eq!(
        found,
        format!("/usr/local/sbin/{}", hostile.tool),
        "{}",
        hostile.host
    );
}

/// Runs patchform under `/usr/bin/time` and returns its output and peak RSS in KiB.
fn run_measured(workspace: &Workspace, args: &[&str]) -> (std::process::Output, u64) {
    let rss_file = workspace.file("rss.txt");
    let output = Command::new("/usr/bin/time")
        .arg("-o")
        .arg(&rss_file)
        .args(["-f", "%M", env!("CARGO_BIN_EXE_patchform")])
        .args(args)
        .current_dir(workspace.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run /usr/bin/time patchform");
    let rss = std::fs::read_to_string(&rss_file).unwrap();
    let rss = rss
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS figure in {rss:?}"));
    (output, rss)
}

fn on_host(fleet: &Fleet, host: &str, command: &str) -> String {
    let output = fleet.script(&["exec", host, "sh", "-c", command]);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn hostile_package_tools_fail_their_host_only_and_run_nothing() {
    if !require_root() {
        return;
    }
    let pwned = std::path::Path::new("/tmp/pwned");
    let _ = std::fs::remove_file(pwned);
    let fleet = Fleet::start(1 + HOSTILE.len());
    for hostile in HOSTILE {
        install_wrapper(&fleet, hostile);
    }
    let workspace = Workspace::new(&fleet, FLEET_CONFIG);
    let started = Instant::now();
    let (output, rss_kib) = run_measured(
        &workspace,
        &[
            "scan",
            "-out=inventory.json",
            "-refresh-cache=false",
            &format!("-command-timeout={COMMAND_TIMEOUT}"),
        ],
    );
    let elapsed = started.elapsed();
    eprintln!("hostile scan: {elapsed:?}, peak RSS {rss_kib} KiB");
    assert!(output.status.success(), "{}", text(&output));
    // 15 s remote deadline plus the 15 s local grace, with room for a loaded machine.
    assert!(elapsed < Duration::from_secs(60), "scan took {elapsed:?}");
    assert!(
        rss_kib < MAX_RSS_KIB,
        "peak RSS {rss_kib} KiB with a 32 MiB output cap"
    );

    let inventory: Value =
        serde_json::from_str(&std::fs::read_to_string(workspace.file("inventory.json")).unwrap())
            .unwrap();
    assert_eq!(inventory["hosts"]["h001"]["result"], "scanned");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for hostile in HOSTILE {
        let facts = &inventory["hosts"][hostile.host];
        let reason = facts["reason"].as_str().unwrap_or_default();
        eprintln!(
            "{} ({}): {} — {reason}",
            hostile.host, hostile.what, facts["result"]
        );
        assert!(
            facts["result"] == "failed" || facts["result"] == "unreachable",
            "{}: {facts}",
            hostile.what
        );
        assert!(
            reason.contains(hostile.host) && reason.contains(&format!("`{}`", hostile.command)),
            "{}: {reason}",
            hostile.what
        );
        assert!(
            reason.len() < 2_000,
            "{}: reason of {} bytes",
            hostile.what,
            reason.len()
        );
        assert!(stderr.contains(hostile.host), "{stderr}");
    }

    // Nothing the hosts printed ran, here or there.
    assert!(!pwned.exists(), "/tmp/pwned appeared on the controller");
    for hostile in HOSTILE {
        assert_eq!(
            on_host(
                &fleet,
                hostile.host,
                "test -e /tmp/pwned && echo yes || echo no"
            ),
            "no",
            "/tmp/pwned appeared on {}",
            hostile.host
        );
    }
    // The remote writers stop too (closed channel, remote `timeout`): nothing keeps running.
    let deadline = Instant::now() + Duration::from_secs(20);
    for (host, pattern) in [("h006", "^yes"), ("h008", "^sleep 8639[9]")] {
        loop {
            let left = on_host(&fleet, host, &format!("pgrep -f '{pattern}'; true"));
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{host} still runs the hostile command: pids {left}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    // An offline plan from this inventory patches the clean host and names no hostile package.
    let plan = workspace.run(&["plan", "-inventory=inventory.json", "-out=plan.pfplan"]);
    assert!(
        plan.status.code() == Some(0) || plan.status.code() == Some(2),
        "{}",
        text(&plan)
    );
    // Failed hosts' reasons quote the refused text (escaped, never run); what matters is that
    // no change is planned for a hostile host or under a hostile name.
    let show = workspace.run(&["show", "-json", "plan.pfplan"]);
    assert!(show.status.success(), "{}", text(&show));
    let shown: Value = serde_json::from_slice(&show.stdout).unwrap();
    let changes = shown["resource_changes"].as_array().unwrap();
    assert!(
        changes.iter().any(|c| c["host"] == "h001"),
        "no change for h001"
    );
    for change in changes {
        let name = change["name"].as_str().unwrap();
        assert!(
            !HOSTILE.iter().any(|h| change["host"] == h.host),
            "change planned on a hostile host: {change}"
        );
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.:".contains(c)),
            "hostile name in the plan: {change}"
        );
    }
}
