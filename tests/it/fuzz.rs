//! Fuzz targets for every reader of untrusted input: the HCL loader, each apt parser, and the
//! state, plan and inventory file readers.
//!
//! Stable Rust has no libFuzzer, so each target is a proptest runner fed three kinds of input:
//! arbitrary bytes, lines built from the format's own tokens, and mutations (truncation, line
//! edits, hostile tokens, byte flips, JSON value swaps) of the corpus in
//! `testdata/fuzz/<target>/`. Every run first replays that corpus, so a crash found once stays
//! a regression case: proptest prints the shrunk input, save it there.
//!
//! The property everywhere: no panic, no input that takes seconds, and either `Ok` holding only
//! names and versions that re-validate (JSON readers: that also round-trip), or an `Err` with a
//! short, non-empty message.
//!
//! Quick run (part of the suite, a few hundred cases per target):
//!
//! ```sh
//! cargo test --test integration fuzz::
//! ```
//!
//! Long run, `PF_FUZZ_SECONDS` per target (prints cases and duration per target):
//!
//! ```sh
//! PF_FUZZ_SECONDS=600 cargo test --release --test integration fuzz:: -- --nocapture --test-threads=7
//! ```

use patchform::config::{self, LoadOptions};
use patchform::inventory::Inventory;
use patchform::pkg::apt::{self, AptFacts, AvailableVersion, Release};
use patchform::pkg::{PackageName, Version};
use patchform::plan::{Plan, planfile};
use patchform::state::State;
use patchform::{model, render};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Cases per target in the default run: enough to exercise every generator, small enough
/// that the whole file stays well under a minute in a debug build.
const QUICK_CASES: u32 = 1_000;

/// Cases per runner in a timed run; the loop starts a fresh, randomly seeded runner until the
/// time is up.
const TIMED_CHUNK: u32 = 2_000;

/// One input taking longer than this is a failure: a parser that is quadratic in hostile
/// input would hang a scan long before it ran out of memory. Generous, because a loaded
/// 2-core machine once took 2.4 s for an input that normally takes microseconds.
const SLOW_INPUT: Duration = Duration::from_secs(10);

/// Longest acceptable error from an apt parser: it ends up in a diagnostic and in the
/// inventory, and a host printing a line of megabytes must not turn into a message of
/// megabytes. The file readers are not held to it: their input is the user's own file, and
/// serde's messages quote what they reject.
const MAX_ERROR: usize = 2_048;

/// Pieces the generators assemble: apt and dpkg syntax, shell metacharacters, odd Unicode.
const APT_TOKENS: &[&str] = &[
    "@@pf ",
    "@@pf-status ",
    "@@pf-status 0",
    "@@pf-status 1",
    "@@pf show",
    "os-release",
    "dpkg",
    "simulate",
    "policy",
    "holds",
    "fingerprint",
    "boot-id",
    "Inst ",
    "Conf ",
    "pf-libssl",
    "libc6:amd64",
    "1.0-1",
    "2:1.0~rc1+deb12u1",
    "[",
    "] ",
    "(",
    ")",
    " ",
    "\t",
    "\n",
    ":",
    ",",
    "|",
    ";",
    "=",
    "ii ",
    "iF ",
    "iHR",
    "rc ",
    "n",
    "-",
    " *** ",
    "     ",
    "        ",
    "Version table:",
    "500 ",
    "100 /var/lib/dpkg/status",
    "release ",
    "o=Debian,a=stable-security,n=bookworm,l=Debian-Security,c=main",
    "Packages",
    "Package: ",
    "Version: ",
    "Depends: ",
    "Pre-Depends: ",
    "Priority: ",
    "(>= 1.0)",
    "$(touch /tmp/pwned)",
    "`touch /tmp/pwned`",
    "'\"",
    "\\",
    "\0",
    "\r",
    "é",
    "\u{202e}",
    "\u{fffd}",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "5f3c2ad0-1b2e-4c84-9f57-3ad2c1b8e0aa",
    "APT::Periodic::Unattended-Upgrade \"1\";",
    "enabled",
    "yes",
    "Could not get lock",
    "subprocess returned error exit status",
];

/// Pieces for JSON inputs, in addition to structure-aware value swaps.
const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "null",
    "true",
    "-1",
    "1e999",
    "\"format_version\"",
    "\"hosts\"",
    "\"result\"",
    "\"scanned\"",
    "\\u0000",
    "\\ud800",
    "\n",
    " ",
];

/// Values a structure-aware JSON mutation puts somewhere in a document.
fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        select(vec![
            "",
            "1.0-1",
            "pf-libssl",
            "$(touch /tmp/pwned)",
            "a;b",
            "scanned",
            "failed",
            "unreachable",
            "2026-02-30T00:00:00Z",
            "-999999-01-01T00:00:00Z",
            "\u{0}",
            "strict",
        ])
        .prop_map(Value::from),
        Just(Value::Array(Vec::new())),
        Just(Value::Object(serde_json::Map::new())),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(Index),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    RepeatLine(Index, usize),
    InsertToken(Index, &'static str),
    ReplaceLine(Index, String),
    FlipByte(Index, u8),
    /// Repeats one byte: long names, versions and lines.
    Stretch(Index, usize),
}

fn mutation(tokens: &'static [&'static str]) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        any::<Index>().prop_map(Mutation::DeleteLine),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<Index>(), 2..200usize).prop_map(|(i, n)| Mutation::RepeatLine(i, n)),
        (any::<Index>(), select(tokens)).prop_map(|(i, t)| Mutation::InsertToken(i, t)),
        (any::<Index>(), token_line(tokens)).prop_map(|(i, l)| Mutation::ReplaceLine(i, l)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::FlipByte(i, b)),
        (any::<Index>(), 1..5_000usize).prop_map(|(i, n)| Mutation::Stretch(i, n)),
    ]
}

fn token_line(tokens: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(select(tokens), 0..8).prop_map(|t| t.concat())
}

fn apply_mutations(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for mutation in mutations {
        let mut lines: Vec<Vec<u8>> = bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
        match mutation {
            Mutation::Truncate(at) => {
                bytes.truncate(at.index(bytes.len() + 1));
                continue;
            }
            Mutation::InsertToken(at, token) => {
                let at = at.index(bytes.len() + 1);
                bytes.splice(at..at, token.bytes());
                continue;
            }
            Mutation::FlipByte(at, value) => {
                if !bytes.is_empty() {
                    let at = at.index(bytes.len());
                    bytes[at] ^= value;
                }
                continue;
            }
            Mutation::Stretch(at, times) => {
                if !bytes.is_empty() {
                    let at = at.index(bytes.len());
                    let byte = bytes[at];
                    bytes.splice(at..at, std::iter::repeat_n(byte, *times));
                }
                continue;
            }
            Mutation::DeleteLine(at) => {
                lines.remove(at.index(lines.len()));
            }
            Mutation::DuplicateLine(at) => {
                let at = at.index(lines.len());
                lines.insert(at, lines[at].clone());
            }
            Mutation::SwapLines(a, b) => {
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(a, b);
            }
            Mutation::RepeatLine(at, times) => {
                let at = at.index(lines.len());
                let line = lines[at].clone();
                lines.splice(at..at, std::iter::repeat_n(line, *times));
            }
            Mutation::ReplaceLine(at, text) => {
                let at = at.index(lines.len());
                lines[at] = text.clone().into_bytes();
            }
        }
        bytes = lines.join(&b'\n');
    }
    bytes
}

/// Replaces the value at a path chosen by `steps` with `replacement`, or removes it.
fn mutate_json(value: &mut Value, steps: &[Index], replacement: Option<Value>) {
    let Some((last, path)) = steps.split_last() else {
        if let Some(replacement) = replacement {
            *value = replacement;
        }
        return;
    };
    let mut current = value;
    for step in path {
        let len = match &*current {
            Value::Object(map) => map.len(),
            Value::Array(items) => items.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        let at = step.index(len);
        current = match current {
            Value::Object(map) => map.values_mut().nth(at).expect("index below len"),
            Value::Array(items) => &mut items[at],
            leaf => leaf,
        };
    }
    match (current, replacement) {
        (Value::Object(map), replacement) if !map.is_empty() => {
            let key = map.keys().nth(last.index(map.len())).cloned();
            match (key, replacement) {
                (Some(key), Some(replacement)) => {
                    map.insert(key, replacement);
                }
                (Some(key), None) => {
                    map.remove(&key);
                }
                (None, _) => {}
            }
        }
        (Value::Array(items), replacement) if !items.is_empty() => {
            let at = last.index(items.len());
            match replacement {
                Some(replacement) => items[at] = replacement,
                None => {
                    items.remove(at);
                }
            }
        }
        (leaf, Some(replacement)) => *leaf = replacement,
        (_, None) => {}
    }
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fuzz")
        .join(target)
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus_dir(target))
        .unwrap_or_else(|e| panic!("corpus of {target}: {e}"))
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    let files: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(!files.is_empty(), "the corpus of {target} is empty");
    files
}

/// Bytes for a line-oriented text format: arbitrary, token lines, or corpus mutations.
fn text_input(seeds: Vec<Vec<u8>>, tokens: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => any::<String>().prop_map(String::into_bytes),
        2 => prop::collection::vec(token_line(tokens), 0..24)
            .prop_map(|lines| lines.join("\n").into_bytes()),
        4 => (select(seeds), prop::collection::vec(mutation(tokens), 1..6))
            .prop_map(|(seed, mutations)| apply_mutations(&seed, &mutations)),
    ]
    .boxed()
}

/// Bytes for a JSON document: text mutations plus swaps of values at random paths.
fn json_input(seeds: Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    let documents: Vec<Value> = seeds
        .iter()
        .filter_map(|s| serde_json::from_slice(s).ok())
        .collect();
    assert!(!documents.is_empty(), "no seed parses as JSON");
    let swaps = (
        select(documents),
        prop::collection::vec(
            (
                prop::collection::vec(any::<Index>(), 0..8),
                prop::option::weighted(0.9, json_value()),
            ),
            1..4,
        ),
    )
        .prop_map(|(mut document, edits)| {
            for (steps, replacement) in edits {
                mutate_json(&mut document, &steps, replacement);
            }
            serde_json::to_vec_pretty(&document).unwrap()
        });
    prop_oneof![1 => text_input(seeds, JSON_TOKENS), 2 => swaps].boxed()
}

/// Runs `check` on the corpus, then on generated inputs: `QUICK_CASES`, or as many as fit
/// in `PF_FUZZ_SECONDS`. Prints what ran, for the figures in RELIABILITY.md.
fn fuzz(
    target: &str,
    strategy: BoxedStrategy<Vec<u8>>,
    check: impl Fn(&[u8]) -> Result<(), TestCaseError>,
) {
    let timed_check = |input: &[u8]| {
        let started = Instant::now();
        check(input)?;
        let took = started.elapsed();
        prop_assert!(took < SLOW_INPUT, "one input took {took:?}");
        Ok(())
    };
    for seed in corpus(target) {
        if let Err(error) = timed_check(&seed) {
            panic!(
                "{target}: corpus input {:?} fails: {error}",
                String::from_utf8_lossy(&seed)
            );
        }
    }
    let budget = std::env::var("PF_FUZZ_SECONDS")
        .ok()
        .map(|s| Duration::from_secs(s.parse().expect("PF_FUZZ_SECONDS is a number of seconds")));
    let started = Instant::now();
    let mut cases: u64 = 0;
    loop {
        let config = Config {
            cases: if budget.is_some() {
                TIMED_CHUNK
            } else {
                QUICK_CASES
            },
            failure_persistence: None,
            max_shrink_iters: 4_096,
            ..Config::default()
        };
        let mut runner = match budget {
            // A fixed seed keeps the default run reproducible; timed runs explore.
            None => TestRunner::new_with_rng(
                config.clone(),
                TestRng::deterministic_rng(RngAlgorithm::ChaCha),
            ),
            Some(_) => TestRunner::new(config.clone()),
        };
        if let Err(failure) = runner.run(&strategy, |input| timed_check(&input)) {
            panic!("{target}: {failure}");
        }
        cases += u64::from(config.cases);
        if budget.is_none_or(|budget| started.elapsed() >= budget) {
            break;
        }
    }
    eprintln!(
        "fuzz {target}: {cases} cases in {:.0?}, 0 failures",
        started.elapsed()
    );
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn check_error(message: &str) -> Result<(), TestCaseError> {
    prop_assert!(!message.trim().is_empty(), "empty error message");
    Ok(())
}

fn check_parse_error(error: &patchform::pkg::ParseError) -> Result<(), TestCaseError> {
    let message = error.to_string();
    check_error(&message)?;
    prop_assert!(
        message.len() <= MAX_ERROR,
        "error message of {} bytes: {}...",
        message.len(),
        message.chars().take(200).collect::<String>()
    );
    Ok(())
}

fn check_name(name: &PackageName) -> Result<(), TestCaseError> {
    prop_assert!(PackageName::parse(name.as_str()).is_ok(), "{name:?}");
    Ok(())
}

fn check_version(version: &Version) -> Result<(), TestCaseError> {
    prop_assert!(Version::parse(version.as_str()).is_ok(), "{version:?}");
    Ok(())
}

fn check_facts(facts: &AptFacts) -> Result<(), TestCaseError> {
    for (name, package) in &facts.installed {
        check_name(name)?;
        check_version(&package.version)?;
    }
    for name in facts.holds.iter().chain(&facts.reboot_required_packages) {
        check_name(name)?;
    }
    for install in &facts.simulated {
        check_name(&install.name)?;
        check_version(&install.to)?;
        if let Some(from) = &install.from {
            check_version(from)?;
        }
    }
    prop_assert_eq!(facts.dpkg_status_digest.len(), 64);
    prop_assert_eq!(facts.apt_lists_digest.len(), 64);
    Ok(())
}

fn check_facts_text(text: &str) -> Result<(), TestCaseError> {
    match apt::parse_facts(text) {
        Ok(facts) => check_facts(&facts),
        Err(error) => check_parse_error(&error),
    }
}

fn check_details_text(text: &str) -> Result<(), TestCaseError> {
    match apt::parse_details(text, &fixture().releases) {
        Ok(details) => {
            for (name, versions) in &details {
                check_name(name)?;
                for AvailableVersion {
                    version, depends, ..
                } in versions
                {
                    check_version(version)?;
                    for dependency in depends {
                        check_name(dependency)?;
                    }
                }
            }
            Ok(())
        }
        Err(error) => check_parse_error(&error),
    }
}

/// The recorded scan of a fleet host, split so one part can be replaced by fuzz input.
struct Fixture {
    facts: String,
    details_policy: String,
    details_show: String,
    releases: BTreeMap<String, Release>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/scan/apt/fleet-bookworm");
        let scan = std::fs::read_to_string(dir.join("scan.stdout")).unwrap();
        let (facts, details) = apt::split_scan_output(&scan).unwrap();
        let facts = facts.to_owned();
        let (policy, show) = details.split_once("\n@@pf show\n").unwrap();
        Fixture {
            releases: apt::parse_facts(&facts).unwrap().releases,
            details_policy: policy.to_owned(),
            details_show: show.to_owned(),
            facts,
        }
    })
}

/// The facts fixture with the body of section `name` replaced.
fn facts_with_section(name: &str, body: &str) -> String {
    let facts = &fixture().facts;
    let start = facts
        .find(&format!("@@pf {name}\n"))
        .expect("section in fixture")
        + format!("@@pf {name}\n").len();
    let end = start + facts[start..].find("@@pf-status ").unwrap();
    format!("{}{body}\n{}", &facts[..start], &facts[end..])
}

#[test]
fn fuzz_apt_facts() {
    fuzz(
        "apt_facts",
        text_input(corpus("apt_facts"), APT_TOKENS),
        |input| check_facts_text(&lossy(input)),
    );
}

#[test]
fn fuzz_apt_dpkg() {
    fuzz(
        "apt_dpkg",
        text_input(corpus("apt_dpkg"), APT_TOKENS),
        |input| check_facts_text(&facts_with_section("dpkg", &lossy(input))),
    );
}

#[test]
fn fuzz_apt_simulation() {
    fuzz(
        "apt_simulation",
        text_input(corpus("apt_simulation"), APT_TOKENS),
        |input| check_facts_text(&facts_with_section("simulate", &lossy(input))),
    );
}

#[test]
fn fuzz_apt_details() {
    fuzz(
        "apt_details",
        text_input(corpus("apt_details"), APT_TOKENS),
        |input| check_details_text(&lossy(input)),
    );
}

#[test]
fn fuzz_apt_policy() {
    fuzz(
        "apt_policy",
        text_input(corpus("apt_policy"), APT_TOKENS),
        |input| {
            let text = format!(
                "{}\n@@pf-status 0\n@@pf show\n{}",
                lossy(input),
                fixture().details_show
            );
            check_details_text(&text)
        },
    );
}

#[test]
fn fuzz_apt_show() {
    fuzz(
        "apt_show",
        text_input(corpus("apt_show"), APT_TOKENS),
        |input| {
            let text = format!(
                "{}\n@@pf show\n{}\n@@pf-status 0\n",
                fixture().details_policy,
                lossy(input)
            );
            check_details_text(&text)
        },
    );
}

#[test]
fn fuzz_apt_verify() {
    fuzz(
        "apt_verify",
        text_input(corpus("apt_verify"), APT_TOKENS),
        |input| match apt::parse_verify(&lossy(input)) {
            Ok(verified) => {
                for (name, package) in &verified {
                    check_name(name)?;
                    if let Some(version) = &package.version {
                        check_version(version)?;
                    }
                }
                Ok(())
            }
            Err(error) => check_parse_error(&error),
        },
    );
}

#[test]
fn fuzz_apt_fingerprint() {
    fuzz(
        "apt_fingerprint",
        text_input(corpus("apt_fingerprint"), APT_TOKENS),
        |input| match apt::parse_fingerprint(&lossy(input)) {
            Ok((dpkg, lists)) => {
                for digest in [dpkg, lists] {
                    prop_assert!(
                        digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()),
                        "{digest:?}"
                    );
                }
                Ok(())
            }
            Err(error) => check_parse_error(&error),
        },
    );
}

#[test]
fn fuzz_apt_install_failure() {
    fuzz(
        "apt_install_failure",
        text_input(corpus("apt_install_failure"), APT_TOKENS),
        |input| {
            let log = lossy(input);
            // Total and deterministic: the same log always gets the same class.
            let class = apt::classify_install_failure(&log);
            prop_assert_eq!(class, apt::classify_install_failure(&log));
            prop_assert!(!class.as_str().is_empty());
            Ok(())
        },
    );
}

#[test]
fn fuzz_state() {
    fuzz(
        "state",
        json_input(corpus("state")),
        |input| match State::from_json(&lossy(input)) {
            Ok(state) => {
                let again = State::from_json(&state.to_json());
                prop_assert_eq!(again.as_ref(), Ok(&state), "state does not round-trip");
                Ok(())
            }
            Err(error) => check_error(&error),
        },
    );
}

#[test]
fn fuzz_inventory() {
    fuzz(
        "inventory",
        json_input(corpus("inventory")),
        |input| match Inventory::from_json(&lossy(input)) {
            Ok(inventory) => {
                let text = serde_json::to_string(&inventory).unwrap();
                let again = Inventory::from_json(&text);
                prop_assert_eq!(
                    again.as_ref(),
                    Ok(&inventory),
                    "inventory does not round-trip"
                );
                Ok(())
            }
            Err(error) => check_error(&error),
        },
    );
}

/// Re-signs an edited plan file when its plan still deserializes, so mutations also reach
/// the code behind the checksum.
fn resign(bytes: Vec<u8>) -> Vec<u8> {
    let Ok(mut document) = serde_json::from_slice::<Value>(&bytes) else {
        return bytes;
    };
    let Some(plan) = document
        .get("plan")
        .and_then(|p| serde_json::from_value::<Plan>(p.clone()).ok())
    else {
        return bytes;
    };
    document["checksum"] = Value::from(planfile::digest(&plan));
    serde_json::to_vec_pretty(&document).unwrap()
}

#[test]
fn fuzz_planfile() {
    let strategy = (json_input(corpus("planfile")), any::<bool>())
        .prop_map(|(bytes, sign)| if sign { resign(bytes) } else { bytes })
        .boxed();
    fuzz("planfile", strategy, |input| {
        match planfile::from_bytes(input) {
            Ok(plan) => {
                let again = planfile::from_bytes(&planfile::to_bytes(&plan));
                prop_assert_eq!(again.as_ref(), Ok(&plan), "plan does not round-trip");
                Ok(())
            }
            Err(error) => check_error(&error),
        }
    });
}

/// Names the HCL generator draws from: real block types and attributes, so inputs get past
/// the parser into evaluation, references and lowering.
const HCL_BLOCKS: &[&str] = &[
    "patch_baseline",
    "approval_rule",
    "patch_filter",
    "patch_group",
    "maintenance_window",
    "task",
    "variable",
    "validation",
    "locals",
    "output",
    "module",
    "host",
    "ssh",
    "state",
    "global_filter",
];
const HCL_ATTRIBUTES: &[&str] = &[
    "operating_system",
    "baseline",
    "depends_on",
    "key",
    "values",
    "compliance_level",
    "enable_non_security",
    "approve_after_days",
    "rejected_patches",
    "rejected_patches_action",
    "approved_patches",
    "schedule",
    "schedule_timezone",
    "duration",
    "cutoff",
    "targets",
    "operation",
    "pre_hook",
    "post_hook",
    "health_check",
    "reboot",
    "max_concurrency",
    "max_errors",
    "type",
    "default",
    "sensitive",
    "condition",
    "error_message",
    "value",
    "source",
    "address",
    "user",
    "port",
    "tags",
    "a",
    "b",
];
const HCL_LEAVES: &[&str] = &[
    "0",
    "1",
    "-1",
    "4.5",
    "1e400",
    "18446744073709551616",
    "true",
    "null",
    "\"\"",
    "\"DEBIAN\"",
    "\"CRITICAL\"",
    "\"PRIORITY\"",
    "\"*\"",
    "\"Install\"",
    "\"cron(0 2 ? * SUN *)\"",
    "\"rate(1 days)\"",
    "\"Europe/Berlin\"",
    "\"127.0.0.1\"",
    "\"$(touch /tmp/pwned)\"",
    "\"${var.v}\"",
    "\"%{ if true }x%{ endif }\"",
    "\"${\"",
    "\"\\u0000\"",
    "\"é\u{202e}\"",
    "\"./\"",
    "\"./sub\"",
    "\"./missing\"",
    "var.v",
    "var.missing",
    "local.a",
    "local.b",
    "patch_group.web",
    "patch_baseline.b",
    "maintenance_window.w",
    "module.m.out",
    "each.key",
    "self",
    "<<EOT\nx\nEOT\n",
];
const HCL_FUNCTIONS: &[&str] = &[
    "length",
    "upper",
    "lower",
    "trimspace",
    "concat",
    "merge",
    "contains",
    "join",
    "split",
    "replace",
    "keys",
    "values",
    "lookup",
    "tostring",
    "tonumber",
    "coalesce",
    "distinct",
    "flatten",
    "file",
    "nope",
];
const HCL_OPERATORS: &[&str] = &["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||"];

fn hcl_expression() -> BoxedStrategy<String> {
    select(HCL_LEAVES)
        .prop_map(str::to_owned)
        .prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(", "))),
                prop::collection::vec((select(HCL_ATTRIBUTES), inner.clone()), 0..3).prop_map(
                    |pairs| {
                        let fields: Vec<String> =
                            pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                        format!("{{ {} }}", fields.join(", "))
                    }
                ),
                (
                    select(HCL_FUNCTIONS),
                    prop::collection::vec(inner.clone(), 0..3)
                )
                    .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
                (inner.clone(), select(HCL_OPERATORS), inner.clone())
                    .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
                (inner.clone(), inner.clone(), inner.clone())
                    .prop_map(|(c, a, b)| format!("({c} ? {a} : {b})")),
                (inner.clone(), inner.clone())
                    .prop_map(|(list, body)| format!("[for x in {list} : {body}]")),
                (inner.clone(), inner.clone()).prop_map(|(a, i)| format!("{a}[{i}]")),
                inner.clone().prop_map(|a| format!("{a}[*].a")),
                inner.prop_map(|a| format!("\"pre-${{{a}}}-post\"")),
            ]
        })
        .boxed()
}

fn hcl_body() -> impl Strategy<Value = String> {
    let attribute = (select(HCL_ATTRIBUTES), hcl_expression())
        .prop_map(|(name, value)| format!("{name} = {value}\n"))
        .boxed();
    prop::collection::vec(attribute.clone(), 0..4)
        .prop_map(|lines| lines.concat())
        .prop_recursive(3, 16, 4, move |inner| {
            (
                prop::collection::vec(attribute.clone(), 0..4),
                prop::collection::vec(
                    (
                        select(HCL_BLOCKS),
                        prop::collection::vec(select(vec!["v", "web", "b", "w", "m", ""]), 0..3),
                        inner,
                    ),
                    0..4,
                ),
            )
                .prop_map(|(attributes, blocks)| {
                    let mut body = attributes.concat();
                    for (kind, labels, inner) in blocks {
                        let labels: Vec<String> =
                            labels.iter().map(|l| format!("\"{l}\"")).collect();
                        body.push_str(&format!("{kind} {} {{\n{inner}}}\n", labels.join(" ")));
                    }
                    body
                })
        })
}

#[test]
fn fuzz_hcl() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let seeds = corpus("hcl");
    // Generated configurations for the root and, half the time, a module in ./sub.
    let generated = (hcl_body(), prop::option::of(hcl_body())).prop_map(|(main, sub)| {
        let mut bytes = main.into_bytes();
        if let Some(sub) = sub {
            bytes.extend_from_slice(b"\n#@sub\n");
            bytes.extend_from_slice(sub.as_bytes());
        }
        bytes
    });
    let strategy = prop_oneof![
        1 => text_input(seeds, HCL_LEAVES),
        2 => generated,
    ]
    .boxed();
    fuzz("hcl", strategy, |input| {
        let (main, sub) = match input.windows(7).position(|w| w == b"\n#@sub\n") {
            Some(at) => (&input[..at], Some(&input[at + 7..])),
            None => (input, None),
        };
        std::fs::write(root.join("main.hcl"), main).unwrap();
        let sub_dir = root.join("sub");
        let _ = std::fs::remove_dir_all(&sub_dir);
        if let Some(sub) = sub {
            std::fs::create_dir(&sub_dir).unwrap();
            std::fs::write(sub_dir.join("main.hcl"), sub).unwrap();
        }
        let (config, diags) = config::load(&root, &LoadOptions::default());
        for diagnostic in diags.iter() {
            prop_assert!(!diagnostic.summary.trim().is_empty(), "{diagnostic:?}");
        }
        // Rendering resolves spans to lines and columns: it must cope with any source.
        render::diagnostics::human(&diags, &config.sources);
        if !diags.has_errors() {
            let (_, lowered) = model::lower(&config);
            render::diagnostics::human(&lowered, &config.sources);
        }
        Ok(())
    });
}
