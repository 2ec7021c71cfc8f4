//! Golden plans: `testdata/plan/<case>/` holds a configuration, an inventory snapshot, an
//! optional `state.json` and `args` (`target ADDRESS` lines); the expected human, Markdown and
//! JSON renderings sit beside them. `UPDATE_EXPECT=1` rewrites them.

use super::*;
use crate::config::{self, LoadOptions};
use crate::inventory::Inventory;
use crate::state::State;
use crate::{model, render};
use std::path::{Path, PathBuf};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/plan")
}

fn now() -> jiff::Timestamp {
    "2026-12-04T12:00:00Z".parse().unwrap()
}

fn expect(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        expected == actual,
        "{} differs (UPDATE_EXPECT=1 to accept):\n{}",
        path.display(),
        similar::TextDiff::from_lines(&expected, actual).unified_diff()
    );
}

struct Case {
    desired: model::DesiredState,
    inventory: Inventory,
    state: State,
    options: PlanOptions,
}

fn load(dir: &Path) -> Case {
    let (config, diags) = config::load(dir, &LoadOptions::default());
    assert!(!diags.has_errors(), "{}: {diags:?}", dir.display());
    let (desired, diags) = model::lower(&config);
    let desired = desired.unwrap_or_else(|| panic!("{}: {diags:?}", dir.display()));
    let inventory =
        Inventory::from_json(&std::fs::read_to_string(dir.join("inventory.json")).unwrap())
            .unwrap();
    let state = match std::fs::read_to_string(dir.join("state.json")) {
        Ok(text) => State::from_json(&text).unwrap(),
        Err(_) => State::new("00000000-0000-4000-8000-000000000000".to_owned()),
    };
    let targets = std::fs::read_to_string(dir.join("args"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("target ").map(str::to_owned))
        .collect();
    let sensitive_values = config
        .variables
        .iter()
        .filter(|v| v.sensitive)
        .filter_map(|v| v.value.as_str().map(str::to_owned))
        .collect();
    Case {
        desired,
        inventory,
        state,
        options: PlanOptions {
            targets,
            configuration_digest: "test".to_owned(),
            variables: BTreeMap::new(),
            sensitive_values,
        },
    }
}

fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn schema_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn plans_render_to_their_goldens() {
    let validator = schema_validator();
    for dir in cases() {
        let case = load(&dir);
        let (plan, diags) = build(
            &case.desired,
            &case.inventory,
            &case.state,
            now(),
            &case.options,
        );
        assert!(!diags.has_errors(), "{}: {diags:?}", dir.display());
        let human = anstream::adapter::strip_str(&render::plan::human(&plan)).to_string();
        expect(&dir.join("plan.txt"), &human);
        expect(
            &dir.join("plan.md"),
            &render::plan::markdown(&plan).join("\n---\n\n"),
        );
        let json = render::plan::json(&plan);
        assert_eq!(json.lines().count(), 1, "show -json prints one line");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        // The golden is pretty-printed so that its diffs are readable.
        expect(
            &dir.join("plan.json"),
            &(serde_json::to_string_pretty(&value).unwrap() + "\n"),
        );
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{}: plan.json does not match docs/plan.schema.json: {errors:?}",
            dir.display()
        );
    }
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan.schema.json");
    expect(&path, &render::plan::json_schema());
}

#[test]
fn plan_files_round_trip_and_refuse_edits() {
    let case = load(&testdata().join("canary-then-prod"));
    let (plan, _) = build(
        &case.desired,
        &case.inventory,
        &case.state,
        now(),
        &case.options,
    );
    let bytes = planfile::to_bytes(&plan);
    assert_eq!(planfile::from_bytes(&bytes).unwrap(), plan);
    let edited = String::from_utf8(bytes.clone())
        .unwrap()
        .replacen("1.0-1+deb12u1", "9.9-9", 1);
    let error = planfile::from_bytes(edited.as_bytes()).unwrap_err();
    assert!(error.contains("checksum"), "{error}");
    let error = planfile::from_bytes(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(error.contains("truncated"), "{error}");
}

#[test]
fn canary_steps_come_before_prod_steps() {
    let case = load(&testdata().join("canary-then-prod"));
    let (plan, _) = build(
        &case.desired,
        &case.inventory,
        &case.state,
        now(),
        &case.options,
    );
    let graph = plan.graph();
    let order = petgraph::algo::toposort(&graph, None).unwrap();
    let position = |id: &str| order.iter().position(|n| graph[*n].id == id).unwrap();
    assert!(position("patch_group.canary.done") < position("host.h03.install"));
    assert!(position("host.h01.verify") < position("patch_group.canary.done"));
    // Waves of prod: 1 host, then up to 50%, then the rest, each after the previous.
    let prod = plan
        .groups
        .iter()
        .find(|g| g.address == "patch_group.prod")
        .unwrap();
    let sizes: Vec<usize> = prod.waves.iter().map(Vec::len).collect();
    assert_eq!(sizes, [1, 3, 4]);
    assert!(
        position("patch_group.prod.wave[0]")
            < position(&format!("host.{}.install", prod.waves[1][0]))
    );
}

#[test]
fn markdown_splits_under_the_comment_limit() {
    let case = load(&testdata().join("window-too-short"));
    let (mut plan, _) = build(
        &case.desired,
        &case.inventory,
        &case.state,
        now(),
        &case.options,
    );
    // Inflate every host to make the rendering far larger than one comment.
    for host in plan.hosts.values_mut() {
        let first = host.changes[0].clone();
        for _ in 0..120 {
            host.changes.push(first.clone());
        }
    }
    let parts = render::plan::markdown(&plan);
    assert!(parts.len() > 1);
    for (index, part) in parts.iter().enumerate() {
        assert!(
            part.chars().count() <= render::plan::MARKDOWN_PART_LIMIT,
            "part {index} has {} chars",
            part.chars().count()
        );
        assert!(part.starts_with(&format!("_(part {} of {})_", index + 1, parts.len())));
    }
    let hosts_shown: usize = parts.iter().map(|p| p.matches("<details>").count()).sum();
    assert_eq!(hosts_shown, plan.summary.hosts_to_patch);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Planning twice from the same inputs gives the same bytes, whatever subset is targeted.
    #[test]
    fn planning_is_deterministic(mask in 0u16..1024, minutes in 0i64..100_000) {
        let mut case = load(&testdata().join("canary-then-prod"));
        case.options.targets = (0..10).filter(|i| mask & (1 << i) != 0).map(|i| format!("host.h{:02}", i + 1)).collect();
        let at = now() + jiff::SignedDuration::from_mins(minutes);
        let (first, _) = build(&case.desired, &case.inventory, &case.state, at, &case.options);
        let (second, _) = build(&case.desired, &case.inventory, &case.state, at, &case.options);
        proptest::prop_assert_eq!(planfile::to_bytes(&first), planfile::to_bytes(&second));
        proptest::prop_assert_eq!(render::plan::human(&first), render::plan::human(&second));
    }
}
