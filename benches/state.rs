//! Saving and reading back the state of 10,000 hosts, with the local file and with PostgreSQL.
//!
//! Each host has a record, a last-scan snapshot (the first scanned host of
//! testdata/plan/canary-then-prod/inventory.json with its installed list cut to 30 packages
//! and its pending updates to 3) and an entry with one package in an apply's history.
//! PostgreSQL is measured when `PATCHFORM_TEST_PG` holds a connection string (`.ci/run` and
//! docs/state.md say how to start one). Run: `cargo bench --bench state`.

use patchform::inventory::Inventory;
use patchform::state::local::LocalBackend;
use patchform::state::pg::{PgBackend, PgSettings};
use patchform::state::{
    ApplyRecord, Backend, HostApplyRecord, HostRecord, PackageApplyRecord, State,
};
use std::collections::BTreeMap;
use std::time::Instant;

const HOSTS: usize = 10_000;
/// Installed packages kept per host: a full Debian host lists hundreds, which would make the
/// figure about JSON size rather than about the backend.
const INSTALLED_PER_HOST: usize = 30;
/// Pending updates kept per host (each lists every newer version with its origins).
const UPDATES_PER_HOST: usize = 3;

fn state() -> State {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/plan/canary-then-prod/inventory.json"
    );
    let mut inventory: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read the fixture")).unwrap();
    let template = inventory["hosts"]
        .as_object()
        .unwrap()
        .values()
        .find(|h| h["result"] == "scanned")
        .expect("a scanned host")
        .clone();
    let mut host = template;
    let installed: serde_json::Map<String, serde_json::Value> = host["installed"]
        .as_object()
        .unwrap()
        .iter()
        .take(INSTALLED_PER_HOST)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    host["installed"] = serde_json::Value::Object(installed);
    let updates: serde_json::Map<String, serde_json::Value> = host["updates"]
        .as_object()
        .unwrap()
        .iter()
        .take(UPDATES_PER_HOST)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    host["updates"] = serde_json::Value::Object(updates);
    let hosts: serde_json::Map<String, serde_json::Value> = (0..HOSTS)
        .map(|i| (format!("web-{i:05}"), host.clone()))
        .collect();
    inventory["hosts"] = serde_json::Value::Object(hosts);
    let inventory = Inventory::from_json(&inventory.to_string()).expect("a valid inventory");
    let finished: jiff::Timestamp = "2026-12-01T03:30:00Z".parse().unwrap();
    let mut state = State::new("lineage-bench".into());
    state.serial = 1;
    state.record_scan(&inventory);
    let mut apply = ApplyRecord {
        id: "apply-1".into(),
        plan_digest: "digest".into(),
        started_at: finished,
        finished_at: Some(finished),
        ignored_window: false,
        hosts: BTreeMap::new(),
    };
    for name in inventory.hosts.keys() {
        state.hosts.insert(
            name.clone(),
            HostRecord {
                failed_packages: Default::default(),
                last_apply: Some(finished),
            },
        );
        apply.hosts.insert(
            name.clone(),
            HostApplyRecord {
                outcome: "succeeded".into(),
                failure_class: None,
                message: None,
                started_at: Some(finished),
                finished_at: Some(finished),
                packages: BTreeMap::from([(
                    "openssl".to_owned(),
                    PackageApplyRecord {
                        from: Some("3.0.14-1~deb12u2".into()),
                        to: "3.0.15-1~deb12u1".into(),
                        state: "INSTALLED".into(),
                    },
                )]),
                rebooted: false,
            },
        );
    }
    state.history.push(apply);
    state
}

/// Writes serial 1 (first save: every history row inserted), then serial 2 (a later save),
/// then reads back; prints each time.
fn measure(name: &str, backend: &mut dyn Backend, state: &State) {
    let mut state = state.clone();
    let started = Instant::now();
    backend.write(&state).expect("first save");
    let first = started.elapsed();
    state.serial += 1;
    let started = Instant::now();
    backend.write(&state).expect("second save");
    let second = started.elapsed();
    let started = Instant::now();
    let read = backend.read().expect("read").expect("a state");
    let reading = started.elapsed();
    assert_eq!(read, state);
    println!(
        "{name:<10} first save {:>7.1} ms   next save {:>7.1} ms   read {:>7.1} ms",
        first.as_secs_f64() * 1e3,
        second.as_secs_f64() * 1e3,
        reading.as_secs_f64() * 1e3
    );
}

fn main() {
    let state = state();
    println!(
        "state of {HOSTS} hosts: {:.1} MB of JSON as stored ({:.1} MB pretty-printed)",
        state.to_compact_json().len() as f64 / 1e6,
        state.to_json().len() as f64 / 1e6
    );
    let dir = tempfile::tempdir().unwrap();
    measure(
        "local",
        &mut LocalBackend::new(dir.path().join("patchform.pfstate")),
        &state,
    );
    match std::env::var("PATCHFORM_TEST_PG") {
        Ok(conn_str) if !conn_str.is_empty() => {
            let schema = "bench_state";
            let mut client = postgres::Client::connect(&conn_str, postgres::NoTls).unwrap();
            client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .unwrap();
            let settings = BTreeMap::from([
                ("conn_str".to_owned(), conn_str),
                ("schema_name".to_owned(), schema.to_owned()),
            ]);
            let mut pg = PgBackend::new(PgSettings::from_settings(&settings).unwrap(), "default");
            measure("postgresql", &mut pg, &state);
            client
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .unwrap();
        }
        _ => println!("postgresql skipped: set PATCHFORM_TEST_PG to a connection string"),
    }
}
