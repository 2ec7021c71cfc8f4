//! patchform orders Debian versions exactly as dpkg does: thousands of generated pairs are
//! compared by `Version` and by `dpkg --compare-versions` on this machine.

use patchform::pkg::Version;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

/// Versions built from the pieces that make ordering subtle: epochs, tildes, plus signs,
/// letters against digits, leading zeros, Debian revisions.
fn version() -> impl Strategy<Value = String> {
    let upstream_part = prop::sample::select(vec![
        "0", "1", "01", "2", "10", "a", "b", "~", "~rc1", "+", "+dfsg", ".", "-", "9", "z", "+b1",
        "~~", "1a", "00", "0a", "a0",
    ]);
    (
        prop::option::weighted(0.2, 0u8..3),
        prop::sample::select(vec!["0", "1", "2", "10"]),
        prop::collection::vec(upstream_part, 0..5),
        prop::option::weighted(
            0.7,
            prop::sample::select(vec![
                "1",
                "0",
                "1+deb12u1",
                "1~bpo12+1",
                "2ubuntu0.1",
                "1.1",
                "10",
            ]),
        ),
    )
        .prop_map(|(epoch, first, rest, revision)| {
            let mut text = String::new();
            if let Some(epoch) = epoch {
                text.push_str(&format!("{epoch}:"));
            }
            text.push_str(first);
            for part in rest {
                // A hyphen in the upstream part is only valid with a revision; keep it out
                // of the upstream otherwise so every generated version is valid.
                text.push_str(if part == "-" && revision.is_none() {
                    "."
                } else {
                    part
                });
            }
            if let Some(revision) = revision {
                text.push('-');
                text.push_str(revision);
            }
            text
        })
}

/// dpkg's verdicts for many pairs at once: one shell loop, one line per pair.
fn dpkg_orders(pairs: &[(String, String)]) -> Vec<Ordering> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("while read a b; do if dpkg --compare-versions \"$a\" lt \"$b\"; then echo lt; elif dpkg --compare-versions \"$a\" eq \"$b\"; then echo eq; else echo gt; fi; done")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run sh with dpkg");
    let mut input = String::new();
    for (a, b) in pairs {
        input.push_str(&format!("{a} {b}\n"));
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| match l {
            "lt" => Ordering::Less,
            "eq" => Ordering::Equal,
            _ => Ordering::Greater,
        })
        .collect()
}

#[test]
fn version_order_matches_dpkg_on_thousands_of_pairs() {
    let mut runner = TestRunner::new(Config::default());
    let mut pairs = Vec::new();
    let strategy = (version(), version());
    while pairs.len() < 3000 {
        let (a, b) = strategy.new_tree(&mut runner).unwrap().current();
        pairs.push((a, b));
    }
    // Equal-but-differently-spelled pairs matter too.
    pairs.push(("1.0".into(), "0:1.0".into()));
    pairs.push(("1.0-0".into(), "1.0".into()));
    // The debversion crate held these unequal; see src/pkg/debver.rs.
    pairs.push(("10a".into(), "010a0".into()));
    pairs.push(("1a".into(), "1a00".into()));
    let expected = dpkg_orders(&pairs);
    assert_eq!(expected.len(), pairs.len(), "dpkg answered for every pair");
    let mut mismatches = Vec::new();
    for ((a, b), dpkg) in pairs.iter().zip(expected) {
        let ours = Version::parse(a)
            .unwrap()
            .cmp_dpkg(&Version::parse(b).unwrap());
        if ours != dpkg {
            mismatches.push(format!("{a} vs {b}: dpkg {dpkg:?}, patchform {ours:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} pairs differ:\n{}",
        mismatches.len(),
        pairs.len(),
        mismatches.join("\n")
    );
}
