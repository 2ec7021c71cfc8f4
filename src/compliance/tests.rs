//! Evaluation goldens: `testdata/compliance/<case>/main.hcl` declares `patch_baseline "b"`,
//! evaluated against the snapshot recorded from a fleet host; `expected.txt` is the result.

use super::*;
use crate::config::{self, LoadOptions};
use crate::model;
use std::path::Path;

fn testdata() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"))
}

fn fleet_snapshot() -> HostSnapshot {
    let dir = testdata().join("scan/apt/fleet-bookworm");
    let scan = std::fs::read_to_string(dir.join("scan.stdout")).unwrap();
    crate::inventory::snapshot_from_output(&scan).unwrap()
}

/// The clock every golden uses; first-seen times are relative to it.
fn now() -> jiff::Timestamp {
    "2026-12-04T12:00:00Z".parse().unwrap()
}

fn render(result: &HostCompliance) -> String {
    let mut out = format!(
        "status: {:?}\nlevel: {}\ncounts: {}\n",
        result.status,
        result.level.map_or("-".to_owned(), |l| l.to_string()),
        result
            .counts
            .iter()
            .map(|(s, n)| format!("{}={n}", s.as_str()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    for p in &result.packages {
        let version = |v: &Option<Version>| v.as_ref().map_or("-".to_owned(), |v| v.to_string());
        out += &format!(
            "{} {} {} -> {} {} {} {} {}{}{}\n",
            p.name,
            p.state.as_str(),
            version(&p.installed),
            version(&p.target),
            p.classification
                .map_or("-".to_owned(), |c| format!("{c:?}")),
            if p.suite.is_empty() { "-" } else { &p.suite },
            p.approved_by.map_or("-".to_owned(), |a| a.to_string()),
            p.compliance_level,
            if p.new_package { " (new)" } else { "" },
            p.blocked
                .as_ref()
                .map(|b| format!(" blocked: {b}"))
                .unwrap_or_default(),
        );
    }
    out
}

#[test]
fn baselines_evaluate_to_their_goldens() {
    let snapshot = fleet_snapshot();
    let mut cases: Vec<_> = std::fs::read_dir(testdata().join("compliance"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 6);
    for dir in cases {
        let (config, diags) = config::load(&dir, &LoadOptions::default());
        assert!(!diags.has_errors(), "{}: {diags:?}", dir.display());
        let (state, diags) = model::lower(&config);
        let state = state.unwrap_or_else(|| panic!("{}: {diags:?}", dir.display()));
        let baseline = &state.baselines["patch_baseline.b"];
        // `seen` lists "package version days-ago" lines; unlisted versions were first seen now.
        let mut first_seen = FirstSeen::new();
        for line in std::fs::read_to_string(dir.join("seen"))
            .unwrap_or_default()
            .lines()
        {
            let [name, version, days]: [&str; 3] =
                line.split(' ').collect::<Vec<_>>().try_into().unwrap();
            let at = now() - jiff::SignedDuration::from_hours(24 * days.parse::<i64>().unwrap());
            first_seen.insert(
                (
                    PackageName::parse(name).unwrap(),
                    Version::parse(version).unwrap(),
                ),
                at,
            );
        }
        let failed: BTreeSet<PackageName> = std::fs::read_to_string(dir.join("failed"))
            .unwrap_or_default()
            .lines()
            .map(|l| PackageName::parse(l).unwrap())
            .collect();
        let actual = render(&evaluate(baseline, &snapshot, &first_seen, &failed, now()));
        let path = dir.join("expected.txt");
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(&path, &actual).unwrap();
        }
        assert_eq!(
            actual,
            std::fs::read_to_string(&path).unwrap(),
            "{} (UPDATE_EXPECT=1 to accept)",
            path.display()
        );
    }
}

#[test]
fn evaluation_is_deterministic() {
    let snapshot = fleet_snapshot();
    let baseline = model::PatchBaseline::predefined(model::OperatingSystem::Debian).unwrap();
    let a = evaluate(
        &baseline,
        &snapshot,
        &FirstSeen::new(),
        &BTreeSet::new(),
        now(),
    );
    let b = evaluate(
        &baseline,
        &snapshot,
        &FirstSeen::new(),
        &BTreeSet::new(),
        now(),
    );
    assert_eq!(a, b);
}
