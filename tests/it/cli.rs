//! The command-line shell: exit codes, fmt on every example, validate's JSON, completions.

use std::path::Path;
use std::process::{Command, Output};

fn patchform(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patchform"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every HCL file of the examples and modules, copied into a scratch directory.
fn copy_hcl(target: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut copied = Vec::new();
    for top in ["examples", "modules"] {
        for entry in std::fs::read_dir(root().join(top)).unwrap() {
            let dir = entry.unwrap().path();
            if !dir.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&dir).unwrap() {
                let file = file.unwrap().path();
                if file.extension().is_some_and(|e| e == "hcl") {
                    let dest = target.join(format!(
                        "{top}-{}-{}",
                        dir.file_name().unwrap().to_string_lossy(),
                        file.file_name().unwrap().to_string_lossy()
                    ));
                    let text = std::fs::read_to_string(&file).unwrap();
                    std::fs::write(&dest, &text).unwrap();
                    copied.push((dest, text));
                }
            }
        }
    }
    copied
}

#[test]
fn examples_and_modules_are_formatted_and_fmt_keeps_every_comment() {
    let scratch = tempfile::tempdir().unwrap();
    let files = copy_hcl(scratch.path());
    assert!(files.len() >= 4);
    let check = patchform(scratch.path(), &["fmt", "-check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "an example or module is not formatted:\n{}",
        String::from_utf8_lossy(&check.stdout)
    );
    // Mangle the layout, keep the comments; fmt must restore the canonical text exactly.
    for (path, text) in &files {
        let mangled: String = text
            .lines()
            .map(|l| format!("      {}   \n", l.trim()))
            .collect();
        std::fs::write(path, mangled).unwrap();
    }
    let unformatted = patchform(scratch.path(), &["fmt", "-check"]);
    assert_eq!(unformatted.status.code(), Some(3));
    let format = patchform(scratch.path(), &["fmt"]);
    assert_eq!(format.status.code(), Some(0));
    for (path, text) in &files {
        assert_eq!(
            &std::fs::read_to_string(path).unwrap(),
            text,
            "{} did not format back",
            path.display()
        );
    }
    let again = patchform(scratch.path(), &["fmt", "-check"]);
    assert_eq!(again.status.code(), Some(0), "fmt is not idempotent");
}

#[test]
fn fmt_reports_parse_errors_with_exit_code_2() {
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(
        scratch.path().join("bad.hcl"),
        "host \"a\" {\n  address = \n",
    )
    .unwrap();
    let output = patchform(scratch.path(), &["fmt", "-check"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("bad.hcl:"),
        "{output:?}"
    );
}

#[test]
fn validate_exit_codes_and_json() {
    let valid = patchform(&root().join("examples/quickstart"), &["validate", "-json"]);
    assert_eq!(valid.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&valid.stdout).unwrap();
    assert_eq!(report["valid"], true);
    let invalid = patchform(
        &root().join("testdata/config/invalid/many-errors-in-one-run"),
        &["validate", "-json"],
    );
    assert_eq!(invalid.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&invalid.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["error_count"], 6);
    let first = &report["diagnostics"][0];
    assert_eq!(first["range"]["filename"], "main.hcl");
    assert_eq!(first["range"]["start"]["line"], 2);
    // -chdir works like Terraform's.
    let chdir = patchform(root(), &["-chdir=examples/quickstart", "validate"]);
    assert_eq!(chdir.status.code(), Some(0), "{chdir:?}");
}

#[test]
fn the_bundled_example_plans_offline() {
    let scratch = tempfile::tempdir().unwrap();
    for file in ["main.hcl", "inventory.json"] {
        std::fs::copy(
            root().join("examples/quickstart").join(file),
            scratch.path().join(file),
        )
        .unwrap();
    }
    let output = patchform(
        scratch.path(),
        &[
            "plan",
            "-inventory=inventory.json",
            "-detailed-exitcode",
            "-out=plan.pf",
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Plan: 2 hosts to patch (8 updates), 2 reboots"),
        "{stdout}"
    );
    let show = patchform(scratch.path(), &["show", "-json", "plan.pf"]);
    assert!(show.status.success());
    let graph = patchform(scratch.path(), &["graph", "-plan=plan.pf"]);
    assert!(String::from_utf8_lossy(&graph.stdout).starts_with("digraph"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(scratch.path().join("plan.pf"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn version_completions_and_man_page() {
    let dir = root();
    let version = patchform(dir, &["version"]);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("patchform v{}\n", env!("CARGO_PKG_VERSION"))
    );
    let completions = patchform(dir, &["completions", "bash"]);
    assert!(String::from_utf8_lossy(&completions.stdout).contains("patchform"));
    let man = patchform(dir, &["man"]);
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH patchform"));
    for command in [
        "init", "validate", "fmt", "scan", "report", "plan", "apply", "show", "graph", "windows",
    ] {
        let help = patchform(dir, &[command, "--help"]);
        assert!(help.status.success(), "{command} --help");
    }
    let unknown = patchform(dir, &["frobnicate"]);
    assert_eq!(unknown.status.code(), Some(1));
}
