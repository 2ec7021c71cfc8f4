//! Golden tests of the configuration language: every `testdata/config/<case>/` directory is
//! loaded and lowered; invalid cases must print `diagnostics.txt`, valid ones must evaluate to
//! `model.json`. `UPDATE_EXPECT=1 cargo test` rewrites the expected files.

use patchform::config::{self, LoadOptions, VarArg, VarInputs};
use patchform::{model, render};
use std::path::{Path, PathBuf};

fn testdata(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(sub)
}

/// Reads a case's optional `args` file: `var NAME=VALUE`, `var-file PATH`, `env NAME=VALUE`.
fn inputs(dir: &Path) -> VarInputs {
    let mut inputs = VarInputs::default();
    let mut env = Vec::new();
    let text = std::fs::read_to_string(dir.join("args")).unwrap_or_default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (kind, rest) = line.split_once(' ').expect("args line: KIND VALUE");
        match kind {
            "var" => {
                let (name, raw) = rest.split_once('=').expect("var NAME=VALUE");
                inputs.args.push(VarArg::Assign {
                    name: name.into(),
                    raw: raw.into(),
                });
            }
            "var-file" => inputs.args.push(VarArg::File(rest.into())),
            "env" => {
                let (name, value) = rest.split_once('=').expect("env NAME=VALUE");
                env.push((name.to_owned(), value.to_owned()));
            }
            other => panic!("unknown args kind {other}"),
        }
    }
    inputs.with_env(env)
}

/// Loads, lowers and renders one configuration directory the way `validate` does.
pub(crate) fn evaluate(dir: &Path) -> (String, Option<model::DesiredState>) {
    let (config, mut diags) = config::load(dir, &LoadOptions { vars: inputs(dir) });
    let (state, lower_diags) = model::lower(&config);
    diags.extend(lower_diags);
    diags.sort();
    let text = render::diagnostics::human(&diags, &config.sources);
    let state = if diags.has_errors() { None } else { state };
    (anstream::adapter::strip_str(&text).to_string(), state)
}

/// Compares with a golden file, or rewrites it under UPDATE_EXPECT=1.
pub(crate) fn expect_file(path: &Path, actual: &str) {
    // CI checks out elsewhere; a golden holding this checkout's path passes only here.
    assert!(
        !actual.contains(env!("CARGO_MANIFEST_DIR")),
        "{}: output names the checkout directory, so it cannot be a golden:\n{actual}",
        path.display()
    );
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{} is missing; run with UPDATE_EXPECT=1", path.display()));
    if expected != actual {
        let diff = similar::TextDiff::from_lines(&expected, actual);
        panic!(
            "{} differs (UPDATE_EXPECT=1 to accept):\n{}",
            path.display(),
            diff.unified_diff()
        );
    }
}

fn cases(kind: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(testdata("config").join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn invalid_configurations_print_their_golden_diagnostics() {
    let dirs = cases("invalid");
    assert!(dirs.len() >= 40, "only {} invalid cases", dirs.len());
    // Every case runs before anything fails, so one run shows all broken cases.
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| {
            let (text, state) = evaluate(dir);
            let name = dir.display();
            if state.is_some() {
                return Some(format!("{name} should be invalid"));
            }
            // Values from -var have no source text to point at; every other error does.
            let from_command_line = dir.join("args").exists();
            if !text.contains("Error: ") || !(from_command_line || text.contains(" --> ")) {
                return Some(format!("{name}: no located error rendered:\n{text}"));
            }
            std::panic::catch_unwind(|| expect_file(&dir.join("diagnostics.txt"), &text))
                .err()
                .map(|_| format!("{name}: golden mismatch (see above)"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_configurations_evaluate_to_their_model_snapshot() {
    let dirs = cases("valid");
    assert!(!dirs.is_empty());
    for dir in dirs {
        let (text, state) = evaluate(&dir);
        let state = state.unwrap_or_else(|| panic!("{} is invalid:\n{text}", dir.display()));
        let json = serde_json::to_string_pretty(&state).unwrap() + "\n";
        expect_file(&dir.join("model.json"), &json);
    }
}

#[test]
fn every_example_and_module_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("examples")).unwrap() {
        let dir = entry.unwrap().path();
        if dir.is_dir() && config::config_files(&dir).is_ok_and(|f| !f.is_empty()) {
            let (text, state) = evaluate(&dir);
            assert!(state.is_some(), "{} is invalid:\n{text}", dir.display());
            assert_eq!(text, "", "{} has warnings", dir.display());
            checked += 1;
        }
    }
    // A module's required inputs come from its caller, so each is validated through a call.
    let callers = [
        ("security-baseline", ""),
        ("canary-rollout", "baseline = patch_baseline.b"),
    ];
    for (module, inputs) in callers {
        let dir = tempfile::tempdir().unwrap();
        let source = pathdiff_relative(&root.join("modules").join(module), dir.path());
        std::fs::write(
            dir.path().join("main.hcl"),
            format!(
                "patch_baseline \"b\" {{\n  operating_system = \"DEBIAN\"\n  approved_patches = [\"openssl\"]\n}}\n\
                 module \"m\" {{\n  source = \"{source}\"\n  {inputs}\n}}\n"
            ),
        )
        .unwrap();
        let (text, state) = evaluate(dir.path());
        assert!(state.is_some(), "module {module} is invalid:\n{text}");
        checked += 1;
    }
    let modules = std::fs::read_dir(root.join("modules")).unwrap().count();
    assert_eq!(
        modules,
        callers.len(),
        "a module in modules/ has no validation caller here"
    );
    assert!(checked >= 4);
}

/// `target` relative to `base` as a `../`-style module source.
fn pathdiff_relative(target: &Path, base: &Path) -> String {
    let base = base.canonicalize().unwrap();
    let target = target.canonicalize().unwrap();
    let up = base.components().count() - 1;
    format!(
        "{}{}",
        "../".repeat(up),
        target.strip_prefix("/").unwrap().display()
    )
}

#[test]
fn arbitrary_bytes_never_panic_the_loader() {
    use proptest::prelude::*;
    let fragments = prop::sample::select(vec![
        "patch_baseline",
        "\"x\"",
        "{",
        "}",
        "=",
        "[",
        "]",
        "var.",
        "local.",
        "${",
        "\n",
        "approval_rule",
        "operating_system",
        "module",
        "source",
        "\"./m\"",
        "locals",
        "a",
        "1",
        "for",
        "in",
        ":",
        "?",
        "<<EOT\n",
        "EOT\n",
        "#",
        "/*",
        "*/",
        ",",
        "(",
        ")",
        "\u{1F600}",
    ]);
    let config = ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    };
    proptest!(config, |(parts in prop::collection::vec(fragments, 0..60), bytes in prop::collection::vec(any::<u8>(), 0..200))| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.hcl"), parts.join(" ")).unwrap();
        std::fs::write(dir.path().join("b.hcl"), &bytes).unwrap();
        let _ = evaluate(dir.path());
    });
}
