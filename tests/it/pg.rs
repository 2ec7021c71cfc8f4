//! The PostgreSQL state backend against a real server: round trip of a large state, locking
//! between processes, a killed lock connection, stale writers, migration local → pg → local,
//! workspaces and `state push`.
//!
//! The server is `PATCHFORM_TEST_PG` (a connection string; `.ci/run` starts one), else a
//! throwaway cluster this process starts once (initdb + pg_ctl as the postgres user, on
//! loopback, in a temporary directory) and a watchdog stops when the process exits. Without
//! either, as root that is a failure; as another user the tests print why they skip. Each test
//! uses its own schema, so they run in parallel.

use crate::workspace::text;
use patchform::state::pg::{PgBackend, PgSettings, lock_key};
use patchform::state::{
    ApplyRecord, Backend, HostApplyRecord, HostRecord, LockInfo, PackageApplyRecord, State,
    StateError,
};
use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The server for this test process, or why there is none.
fn server() -> Option<&'static str> {
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| match std::env::var("PATCHFORM_TEST_PG") {
        Ok(conn_str) if !conn_str.is_empty() => Ok(conn_str),
        _ => start_cluster(),
    });
    match server {
        Ok(conn_str) => Some(conn_str),
        Err(why) if crate::fleet::require_root() => {
            panic!("no PostgreSQL server for the pg tests: {why}")
        }
        Err(why) => {
            eprintln!(
                "SKIPPED: no PostgreSQL server ({why}); set PATCHFORM_TEST_PG or run as root"
            );
            None
        }
    }
}

fn run_checked(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Directory of the Debian packages' server binaries (initdb and pg_ctl are not on PATH).
fn pg_bin() -> Result<PathBuf, String> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("PostgreSQL is not installed (apt-get install postgresql): {e}"))?
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions
        .pop()
        .ok_or_else(|| "no /usr/lib/postgresql/*/bin/initdb".to_owned())
}

/// Starts a throwaway cluster as the postgres user (initdb refuses root) and leaves a watchdog
/// that stops it and removes its directory once this process is gone.
fn start_cluster() -> Result<String, String> {
    start_cluster_in("pf-pg", None)
}

/// Starts a throwaway cluster in `$TMPDIR/<tag>-<pid>`. With `tls`, a directory holding
/// `server.crt` and `server.key`, the cluster accepts TLS connections only.
fn start_cluster_in(tag: &str, tls: Option<&Path>) -> Result<String, String> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_owned))
        })
        .unwrap_or_default();
    if uid != "0" {
        return Err("starting a throwaway cluster needs root (runuser -u postgres)".to_owned());
    }
    let bin = pg_bin()?;
    let dir = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    run_checked(Command::new("chown").arg("postgres:postgres").arg(&dir))?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let data = dir.join("data");
    let as_postgres = |program: &str| {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(bin.join(program))
            .current_dir(&dir);
        command
    };
    run_checked(
        as_postgres("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data),
    )?;
    let mut options = format!(
        "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off",
        dir.display()
    );
    if let Some(certs) = tls {
        for file in ["server.crt", "server.key"] {
            std::fs::copy(certs.join(file), data.join(file)).map_err(|e| e.to_string())?;
            run_checked(
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(data.join(file)),
            )?;
        }
        run_checked(
            Command::new("chmod")
                .arg("600")
                .arg(data.join("server.key")),
        )?;
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
        )
        .map_err(|e| e.to_string())?;
        options.push_str(" -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key");
    }
    run_checked(
        as_postgres("pg_ctl")
            .args(["-w", "-D"])
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(dir.join("log"))
            .arg("start"),
    )?;
    let watchdog = format!(
        "while [ -d /proc/{pid} ]; do sleep 1; done; {pg_ctl} -D {data} -m immediate stop; rm -rf {dir}",
        pid = std::process::id(),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display()
    );
    Command::new("runuser")
        .args(["-u", "postgres", "--", "sh", "-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the cluster watchdog: {e}"))?;
    Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}

/// A direct SQL connection, for what the tests check behind patchform's back.
fn sql(conn_str: &str) -> postgres::Client {
    postgres::Client::connect(conn_str, postgres::NoTls).expect("connect to the test server")
}

/// A fresh schema per test, so tests run in parallel and reruns start clean.
fn fresh_schema(conn_str: &str, name: &str) -> String {
    let schema = format!("t_{name}");
    sql(conn_str)
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
    schema
}

fn backend(conn_str: &str, schema: &str, workspace: &str) -> PgBackend {
    let settings = BTreeMap::from([
        ("conn_str".to_owned(), conn_str.to_owned()),
        ("schema_name".to_owned(), schema.to_owned()),
    ]);
    PgBackend::new(PgSettings::from_settings(&settings).unwrap(), workspace)
}

fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

/// A state of `hosts` hosts, each with a record and a history entry upgrading openssl.
fn large_state(hosts: usize) -> State {
    let mut state = State::new("lineage-large".into());
    state.serial = 1;
    let mut apply = ApplyRecord {
        id: "apply-1".into(),
        plan_digest: "digest".into(),
        started_at: at("2026-12-01T03:00:00Z"),
        finished_at: Some(at("2026-12-01T04:00:00Z")),
        ignored_window: false,
        hosts: BTreeMap::new(),
    };
    for i in 0..hosts {
        let name = format!("web-{i:05}");
        state.hosts.insert(
            name.clone(),
            HostRecord {
                failed_packages: Default::default(),
                last_apply: Some(at("2026-12-01T03:30:00Z")),
            },
        );
        let packages = BTreeMap::from([(
            "openssl".to_owned(),
            PackageApplyRecord {
                from: Some("3.0.14-1~deb12u2".into()),
                to: if i % 2 == 0 {
                    "3.0.15-1~deb12u1"
                } else {
                    "3.0.14-1~deb12u2"
                }
                .into(),
                state: if i % 2 == 0 { "INSTALLED" } else { "FAILED" }.into(),
            },
        )]);
        apply.hosts.insert(
            name,
            HostApplyRecord {
                outcome: "succeeded".into(),
                failure_class: None,
                message: None,
                started_at: Some(at("2026-12-01T03:10:00Z")),
                finished_at: Some(at("2026-12-01T03:30:00Z")),
                packages,
                rebooted: false,
            },
        );
    }
    state.history.push(apply);
    state
}

#[test]
fn large_state_round_trips_and_history_is_plain_sql() {
    let Some(conn_str) = server() else { return };
    let schema = fresh_schema(conn_str, "large");
    let mut pg = backend(conn_str, &schema, "default");
    assert_eq!(pg.read().unwrap(), None);
    let state = large_state(10_000);
    pg.write(&state).unwrap();
    assert_eq!(pg.read().unwrap().as_ref(), Some(&state));
    // The documented example query (docs/state.md): which hosts got openssl 3.0.15.
    let rows = sql(conn_str)
        .query(
            &format!(
                "SELECT DISTINCT host FROM {schema}.apply_packages \
                 WHERE package = 'openssl' AND to_version LIKE '3.0.15%' AND state = 'INSTALLED' \
                 AND finished_at >= timestamptz '2026-12-01' - interval '7 days'"
            ),
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), 5_000);
    let version: i32 = sql(conn_str)
        .query_one(&format!("SELECT version FROM {schema}.schema_version"), &[])
        .unwrap()
        .get(0);
    assert_eq!(version, patchform::state::pg::SCHEMA_VERSION);
}

#[test]
fn stale_writer_is_refused() {
    let Some(conn_str) = server() else { return };
    let schema = fresh_schema(conn_str, "stale");
    let mut first = backend(conn_str, &schema, "default");
    let mut second = backend(conn_str, &schema, "default");
    let mut state = State::new("lineage-s".into());
    state.serial = 1;
    first.write(&state).unwrap();
    let mut seen_by_second = second.read().unwrap().unwrap();
    state.serial = 2;
    first.write(&state).unwrap();
    seen_by_second.serial += 1;
    let error = second.write(&seen_by_second).unwrap_err();
    assert!(
        matches!(
            error,
            StateError::StaleSerial {
                attempted: 2,
                stored: 2,
                ..
            }
        ),
        "{error}"
    );
    let mut foreign = State::new("lineage-other".into());
    foreign.serial = 3;
    assert!(matches!(
        second.write(&foreign),
        Err(StateError::LineageMismatch { .. })
    ));
    assert_eq!(first.read().unwrap().unwrap().serial, 2);
}

#[test]
fn a_lock_row_names_the_holder_and_unlock_releases_it() {
    let Some(conn_str) = server() else { return };
    let schema = fresh_schema(conn_str, "lockrow");
    let mut holder = backend(conn_str, &schema, "default");
    let info = LockInfo::new("apply", at("2026-12-04T12:00:00Z"));
    holder.lock(&info, Duration::ZERO).unwrap();
    // Another workspace has its own lock.
    backend(conn_str, &schema, "staging")
        .lock(
            &LockInfo::new("scan", at("2026-12-04T12:00:00Z")),
            Duration::ZERO,
        )
        .unwrap();
    let mut waiter = backend(conn_str, &schema, "default");
    let started = Instant::now();
    let error = waiter
        .lock(
            &LockInfo::new("plan", at("2026-12-04T12:00:00Z")),
            Duration::from_millis(700),
        )
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(700));
    match error {
        StateError::Locked { holder } => assert_eq!(*holder, info),
        other => panic!("expected Locked, got {other}"),
    }
    holder.unlock().unwrap();
    waiter
        .lock(
            &LockInfo::new("plan", at("2026-12-04T12:00:00Z")),
            Duration::ZERO,
        )
        .unwrap();
}

/// A host that accepts SSH connections and never answers, until released: it holds a
/// `patchform scan` (and so its state lock) for as long as a test needs.
struct SilentHost {
    port: u16,
    release: std::sync::mpsc::Sender<()>,
}

impl SilentHost {
    fn start() -> SilentHost {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let (release, released) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while released.try_recv().is_err() {
                if let Ok((stream, _)) = listener.accept() {
                    held.push(stream);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        SilentHost { port, release }
    }

    /// Closes every connection and the port: ssh fails at once from then on.
    fn release(&self) {
        let _ = self.release.send(());
    }
}

/// A working directory whose one host is `127.0.0.1:port`, with the pg backend (or local).
struct Dir {
    dir: tempfile::TempDir,
    conn_str: Option<String>,
}

impl Dir {
    fn new(port: u16, backend: Option<(&str, &str)>) -> Dir {
        let dir = tempfile::Builder::new().prefix("pf-pg-").tempdir().unwrap();
        let backend_block = match backend {
            Some((_, schema)) => format!(
                "patchform {{\n  backend \"pg\" {{\n    schema_name = \"{schema}\"\n  }}\n}}\n"
            ),
            None => String::new(),
        };
        std::fs::write(
            dir.path().join("main.hcl"),
            format!(
                "{backend_block}\
                 ssh {{\n  known_hosts_file = \"{known}\"\n  connect_timeout  = 60\n}}\n\
                 host \"h1\" {{\n  address = \"127.0.0.1\"\n  port    = {port}\n}}\n",
                known = dir.path().join("known_hosts").display()
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("known_hosts"), "").unwrap();
        Dir {
            dir,
            conn_str: backend.map(|(conn_str, _)| conn_str.to_owned()),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_patchform"));
        command
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("PATCHFORM_WORKSPACE")
            .stdin(Stdio::null());
        match &self.conn_str {
            Some(conn_str) => command.env("PATCHFORM_PG_CONN_STR", conn_str),
            None => command.env_remove("PATCHFORM_PG_CONN_STR"),
        };
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run patchform")
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {}", text(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn patchform")
    }

    fn pull(&self) -> State {
        State::from_json(&self.ok(&["state", "pull"])).unwrap()
    }
}

/// Waits for a lock row in `schema`, returning the holder's backend pid.
fn wait_for_lock_row(conn_str: &str, schema: &str) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut client = sql(conn_str);
    loop {
        let row = client
            .query_opt(
                &format!("SELECT backend_pid FROM {schema}.locks WHERE workspace = 'default'"),
                &[],
            )
            .ok()
            .flatten();
        if let Some(row) = row {
            return row.get(0);
        }
        assert!(Instant::now() < deadline, "no command took the lock");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn finish(child: Child) -> Output {
    let mut child = child;
    let status = child.wait().unwrap();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    Output {
        status,
        stdout,
        stderr,
    }
}

fn refused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_second_apply_waits_for_lock_timeout_then_names_the_holder() {
    let Some(conn_str) = server() else { return };
    let schema = fresh_schema(conn_str, "twoprocs");
    // A first scan fills the state, so that `apply -refresh=false` can plan from it.
    Dir::new(refused_port(), Some((conn_str, &schema))).ok(&["scan", "-refresh-cache=false"]);
    let host = SilentHost::start();
    let dir = Dir::new(host.port, Some((conn_str, &schema)));
    let holder = dir.spawn(&["scan", "-refresh-cache=false"]);
    wait_for_lock_row(conn_str, &schema);
    let started = Instant::now();
    let second = dir.run(&[
        "apply",
        "-refresh=false",
        "-auto-approve",
        "-lock-timeout=2s",
    ]);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{}",
        text(&second)
    );
    assert!(!second.status.success(), "{}", text(&second));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("operation scan"), "{}", text(&second));
    assert!(
        stderr.contains(&format!("(pid {})", holder.id())),
        "{}",
        text(&second)
    );
    // force-unlock with the printed ID ends the holder's lock session; the holder then
    // refuses to write its scan.
    let id = stderr
        .split("ID ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .expect("the message names the lock ID")
        .to_owned();
    dir.ok(&["force-unlock", "-force", &id]);
    host.release();
    let holder = finish(holder);
    assert!(!holder.status.success(), "{}", text(&holder));
    assert!(
        String::from_utf8_lossy(&holder.stderr).contains("lock was lost"),
        "{}",
        text(&holder)
    );
    assert_eq!(dir.pull().serial, 1);
}

#[test]
fn killing_the_lock_connection_releases_the_lock_and_writes_nothing() {
    let Some(conn_str) = server() else { return };
    let schema = fresh_schema(conn_str, "killed");
    let host = SilentHost::start();
    let dir = Dir::new(host.port, Some((conn_str, &schema)));
    let holder = dir.spawn(&["scan", "-refresh-cache=false"]);
    let backend_pid = wait_for_lock_row(conn_str, &schema);
    let mut client = sql(conn_str);
    client
        .execute("SELECT pg_terminate_backend($1)", &[&backend_pid])
        .unwrap();
    // pg_terminate_backend only signals the session; wait until it is gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    while client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
            &[&backend_pid],
        )
        .unwrap()
        .get::<_, i64>(0)
        > 0
    {
        assert!(Instant::now() < deadline, "the lock session did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
    // PostgreSQL released the advisory lock with the session.
    let key = lock_key(&schema, "default");
    let free: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
        .unwrap()
        .get(0);
    assert!(
        free,
        "the lock is still held after its connection was killed"
    );
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&key])
        .unwrap();
    host.release();
    let holder = finish(holder);
    assert!(!holder.status.success(), "{}", text(&holder));
    assert!(
        String::from_utf8_lossy(&holder.stderr).contains("lock was lost"),
        "{}",
        text(&holder)
    );
    let rows: i64 = client
        .query_one(&format!("SELECT count(*) FROM {schema}.states"), &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 0, "the scan wrote state after losing its lock");
    // The next run takes the lock and writes normally.
    let next = Dir::new(refused_port(), Some((conn_str, &schema)));
    next.ok(&["scan", "-refresh-cache=false"]);
    assert_eq!(next.pull().serial, 1);
}

/// A state with history, as apply leaves it.
fn state_with_history(lineage: &str, serial: u64) -> State {
    let mut state = large_state(3);
    state.lineage = lineage.to_owned();
    state.serial = serial;
    state
}

#[test]
fn migration_local_to_pg_and_back_keeps_lineage_serial_and_history() {
    let Some(conn_str) = server() else { return };
    let schema = fresh_schema(conn_str, "migrate");
    let port = refused_port();
    let local = Dir::new(port, None);
    let original = state_with_history("lineage-m", 5);
    std::fs::write(local.path().join("patchform.pfstate"), original.to_json()).unwrap();
    // Switch the configuration to pg; the connection string comes from -backend-config.
    let pg = Dir::new(port, Some((conn_str, &schema)));
    std::fs::copy(pg.path().join("main.hcl"), local.path().join("main.hcl")).unwrap();
    let refused = local.run(&["init"]);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("-migrate-state"),
        "{}",
        text(&refused)
    );
    let init = local.run(&[
        "init",
        "-migrate-state",
        &format!("-backend-config=conn_str={conn_str}"),
    ]);
    assert!(init.status.success(), "{}", text(&init));
    let backend_file = local.path().join(".patchform/backend.json");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&backend_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    // Without PATCHFORM_PG_CONN_STR: the stored -backend-config value is used.
    let in_pg = State::from_json(&local.ok(&["state", "pull"])).unwrap();
    assert_eq!(in_pg, original);
    let history_rows: i64 = sql(conn_str)
        .query_one(
            &format!("SELECT count(*) FROM {schema}.apply_packages"),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(history_rows, 3);
    // A write in pg, then back to the local file.
    local.ok(&["scan", "-refresh-cache=false"]);
    let after_scan = State::from_json(&local.ok(&["state", "pull"])).unwrap();
    assert_eq!(after_scan.serial, 6);
    let local_config = Dir::new(port, None);
    std::fs::copy(
        local_config.path().join("main.hcl"),
        local.path().join("main.hcl"),
    )
    .unwrap();
    let back = local.run(&["init", "-migrate-state"]);
    assert!(back.status.success(), "{}", text(&back));
    let in_file =
        State::from_json(&std::fs::read_to_string(local.path().join("patchform.pfstate")).unwrap())
            .unwrap();
    assert_eq!(in_file, after_scan);
    assert_eq!(in_file.lineage, "lineage-m");
    assert_eq!(in_file.history, original.history);
}

#[test]
fn workspaces_isolate_state_in_both_backends() {
    let Some(conn_str) = server() else { return };
    let schema = fresh_schema(conn_str, "workspaces");
    let port = refused_port();
    for dir in [
        Dir::new(port, None),
        Dir::new(port, Some((conn_str, &schema))),
    ] {
        dir.ok(&["scan", "-refresh-cache=false"]);
        let default_state = dir.pull();
        assert!(dir.ok(&["workspace", "new", "staging"]).contains("staging"));
        assert_eq!(dir.ok(&["workspace", "show"]), "staging\n");
        let fresh = dir.pull();
        assert_ne!(fresh.lineage, default_state.lineage);
        assert!(fresh.is_empty());
        dir.ok(&["scan", "-refresh-cache=false"]);
        assert_eq!(dir.pull().serial, 1);
        assert_eq!(dir.ok(&["workspace", "list"]), "  default\n* staging\n");
        // PATCHFORM_WORKSPACE overrides the selection.
        let overridden = dir
            .command(&["state", "pull"])
            .env("PATCHFORM_WORKSPACE", "default")
            .output()
            .unwrap();
        assert_eq!(
            State::from_json(&String::from_utf8_lossy(&overridden.stdout)).unwrap(),
            default_state
        );
        let current = dir.run(&["workspace", "delete", "staging"]);
        assert!(!current.status.success(), "{}", text(&current));
        dir.ok(&["workspace", "select", "default"]);
        assert_eq!(dir.pull(), default_state);
        let not_empty = dir.run(&["workspace", "delete", "staging"]);
        assert!(
            String::from_utf8_lossy(&not_empty.stderr).contains("-force"),
            "{}",
            text(&not_empty)
        );
        dir.ok(&["workspace", "delete", "-force", "staging"]);
        assert_eq!(dir.ok(&["workspace", "list"]), "* default\n");
        assert_eq!(dir.ok(&["state", "list"]), "host.h1\n");
        assert!(
            dir.ok(&["state", "show", "host.h1"])
                .contains("unreachable")
        );
        assert_eq!(
            dir.path().join("patchform.pfstate").exists(),
            dir.conn_str.is_none(),
            "only the local backend writes a state file"
        );
    }
}

#[test]
fn state_push_refuses_a_foreign_lineage() {
    let Some(conn_str) = server() else { return };
    let schema = fresh_schema(conn_str, "push");
    let dir = Dir::new(refused_port(), Some((conn_str, &schema)));
    dir.ok(&["scan", "-refresh-cache=false"]);
    let stored = dir.pull();
    let file = dir.path().join("foreign.json");
    std::fs::write(&file, state_with_history("lineage-foreign", 9).to_json()).unwrap();
    let refused = dir.run(&["state", "push", file.to_str().unwrap()]);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("lineage"),
        "{}",
        text(&refused)
    );
    assert_eq!(dir.pull(), stored);
    // Same lineage, lower serial: refused; higher: accepted as it is, serial kept.
    let mut older = stored.clone();
    older.serial = 0;
    std::fs::write(&file, older.to_json()).unwrap();
    assert!(
        !dir.run(&["state", "push", file.to_str().unwrap()])
            .status
            .success()
    );
    let mut newer = state_with_history(&stored.lineage, 7);
    newer.last_scan = stored.last_scan.clone();
    std::fs::write(&file, newer.to_json()).unwrap();
    dir.ok(&["state", "push", file.to_str().unwrap()]);
    assert_eq!(dir.pull(), newer);
    // -force pushes the foreign lineage.
    std::fs::write(&file, state_with_history("lineage-foreign", 2).to_json()).unwrap();
    dir.ok(&["state", "push", "-force", file.to_str().unwrap()]);
    assert_eq!(dir.pull().lineage, "lineage-foreign");
}

/// Runs openssl in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    run_checked(Command::new("openssl").args(args).current_dir(dir)).unwrap();
}

/// A CA, a server certificate it signed for `localhost` only, and an unrelated second CA.
fn certificates(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for ca in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=patchform test {ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.crt"),
            ],
        );
    }
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ],
    );
}

fn tls_backend(conn_str: &str, rootcert: Option<&Path>) -> PgBackend {
    let mut settings = BTreeMap::from([
        ("conn_str".to_owned(), conn_str.to_owned()),
        ("schema_name".to_owned(), "t_tls".to_owned()),
    ]);
    if let Some(path) = rootcert {
        settings.insert("sslrootcert".to_owned(), path.display().to_string());
    }
    PgBackend::new(PgSettings::from_settings(&settings).unwrap(), "default")
}

#[test]
fn tls_encrypts_and_verify_full_checks_the_certificate_and_the_host_name() {
    // Its own cluster with TLS on, whatever PATCHFORM_TEST_PG says: initdb needs root here.
    if !crate::fleet::require_root() {
        return;
    }
    let certs = std::env::temp_dir().join(format!("pf-pg-certs-{}", std::process::id()));
    certificates(&certs);
    let conn_str = start_cluster_in("pf-pg-tls", Some(&certs)).expect("start a TLS cluster");
    let port = conn_str
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/postgres");
    let by_ip = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let by_name = format!("postgres://postgres@localhost:{port}/postgres");
    let message = |result: Result<Option<State>, StateError>| match result {
        Ok(_) => "connected".to_owned(),
        Err(e) => e.to_string(),
    };

    // The server takes TLS only, so every success below was encrypted.
    let plain = message(tls_backend(&format!("{by_ip}?sslmode=disable"), None).read());
    assert!(
        plain.contains("no encryption") || plain.contains("pg_hba.conf"),
        "{plain}"
    );

    // sslmode=require without a root certificate: encrypted, server not authenticated.
    let mut pg = tls_backend(&format!("{by_ip}?sslmode=require"), None);
    let state = state_with_history("lineage-tls", 1);
    pg.write(&state).unwrap();
    assert_eq!(pg.read().unwrap().as_ref(), Some(&state));

    // verify-full: the right CA and the name in the certificate.
    let read = tls_backend(&by_name, Some(&certs.join("ca.crt"))).read();
    assert_eq!(read.unwrap().as_ref(), Some(&state));

    // An unknown CA, or a host name the certificate does not carry, is refused.
    let unknown = message(tls_backend(&by_name, Some(&certs.join("other-ca.crt"))).read());
    assert!(unknown.contains("certificate verify failed"), "{unknown}");
    let wrong_name = message(tls_backend(&by_ip, Some(&certs.join("ca.crt"))).read());
    eprintln!("plain: {plain}\nunknown CA: {unknown}\nwrong name: {wrong_name}");
    assert!(
        wrong_name.contains("certificate verify failed"),
        "{wrong_name}"
    );
    assert!(
        wrong_name.to_lowercase().contains("mismatch"),
        "{wrong_name}"
    );

    // sslrootcert=system trusts the system's CAs (OpenSSL reads SSL_CERT_FILE for them, so
    // here the test CA is the system's), but a root file is the only trust verify-full has.
    let patchform_init = |rootcert: &str| {
        let dir = tempfile::Builder::new()
            .prefix("pf-pg-tls-")
            .tempdir()
            .unwrap();
        std::fs::write(
            dir.path().join("main.hcl"),
            format!(
                "patchform {{\n  backend \"pg\" {{\n    schema_name = \"t_tls\"\n    sslrootcert = \"{rootcert}\"\n  }}\n}}\n"
            ),
        )
        .unwrap();
        Command::new(env!("CARGO_BIN_EXE_patchform"))
            .arg("init")
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("PATCHFORM_PG_CONN_STR", &by_name)
            .env("SSL_CERT_FILE", certs.join("ca.crt"))
            .env_remove("SSL_CERT_DIR")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let system = patchform_init("system");
    assert!(system.status.success(), "{}", text(&system));
    let other = certs.join("other-ca.crt").display().to_string();
    let file_only = patchform_init(&other);
    assert!(!file_only.status.success(), "{}", text(&file_only));
    assert!(
        text(&file_only).contains("certificate verify failed"),
        "{}",
        text(&file_only)
    );

    // A root certificate with sslmode=disable is a contradiction, refused up front.
    let settings = BTreeMap::from([
        ("conn_str".to_owned(), format!("{by_ip}?sslmode=disable")),
        (
            "sslrootcert".to_owned(),
            certs.join("ca.crt").display().to_string(),
        ),
    ]);
    let error = PgSettings::from_settings(&settings)
        .unwrap_err()
        .to_string();
    assert!(error.contains("sslmode=disable"), "{error}");
    let _ = std::fs::remove_dir_all(&certs);
}

#[test]
fn a_version_1_schema_is_migrated_and_a_newer_one_refused() {
    let Some(conn_str) = server() else { return };
    let schema = fresh_schema(conn_str, "schema_v1");
    let state = state_with_history("lineage-v1", 4);
    backend(conn_str, &schema, "default").write(&state).unwrap();
    // Turn the database back into what patchform's schema version 1 left: the document in a
    // jsonb column (compressible storage), version 1 recorded.
    sql(conn_str)
        .batch_execute(&format!(
            "ALTER TABLE {schema}.states ALTER COLUMN state TYPE jsonb USING state::jsonb; \
             ALTER TABLE {schema}.states ALTER COLUMN state SET STORAGE EXTENDED; \
             UPDATE {schema}.schema_version SET version = 1"
        ))
        .unwrap();
    let column_type = |conn_str: &str| -> String {
        sql(conn_str)
            .query_one(
                "SELECT data_type FROM information_schema.columns \
                 WHERE table_schema = $1 AND table_name = 'states' AND column_name = 'state'",
                &[&schema],
            )
            .unwrap()
            .get(0)
    };
    assert_eq!(column_type(conn_str), "jsonb");

    // The next patchform to connect migrates to the current version and reads the same state.
    let mut pg = backend(conn_str, &schema, "default");
    assert_eq!(pg.read().unwrap().as_ref(), Some(&state));
    assert_eq!(column_type(conn_str), "text");
    let version: i32 = sql(conn_str)
        .query_one(&format!("SELECT version FROM {schema}.schema_version"), &[])
        .unwrap()
        .get(0);
    assert_eq!(version, patchform::state::pg::SCHEMA_VERSION);
    let mut next = state.clone();
    next.serial += 1;
    pg.write(&next).unwrap();
    assert_eq!(pg.read().unwrap().as_ref(), Some(&next));

    // A schema from a newer patchform is refused, not rewritten.
    sql(conn_str)
        .batch_execute(&format!("UPDATE {schema}.schema_version SET version = 99"))
        .unwrap();
    let error = backend(conn_str, &schema, "default")
        .read()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("newer than this patchform supports"),
        "{error}"
    );
}
