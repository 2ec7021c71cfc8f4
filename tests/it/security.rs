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
