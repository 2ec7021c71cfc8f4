//! The PostgreSQL backend: state, apply history and lock in one schema, for teams that run
//! patchform from many machines.
//!
//! It uses the sync `postgres` crate (a thin wrapper over tokio-postgres that runs its own
//! current-thread runtime per connection). patchform calls backends only from plain threads,
//! never inside a tokio runtime, so the sync client needs no runtime plumbing here and keeps the
//! `Backend` trait synchronous. It must never be called from inside a runtime: it would panic.
//!
//! Two connections per command: a data connection for reads and transactional writes, and a
//! dedicated lock connection that holds a session advisory lock for the whole command. A
//! keepalive thread pings the lock connection; when it dies PostgreSQL drops the lock, the
//! thread marks the `LockLoss`, and every later write is refused. Each write also checks, in its
//! transaction, that the lock connection still holds the advisory lock, so no write can slip
//! through between a loss and its detection. The tables are described in docs/state.md.

use super::{
    ApplyRecord, Backend, DEFAULT_WORKSPACE, LockInfo, LockLoss, State, StateError,
    check_successor_of,
};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use openssl::x509::X509;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use postgres::config::SslMode;
use postgres::{Client, Config, Transaction};
use postgres_openssl::MakeTlsConnector;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The schema holding patchform's tables unless `schema_name` says otherwise.
pub const DEFAULT_SCHEMA: &str = "patchform";

/// How often a waiting command retries `pg_try_advisory_lock`.
const LOCK_POLL: Duration = Duration::from_millis(250);

/// How often the lock connection is pinged. A lost lock stops new hosts within this time; the
/// write-time check in the transaction covers the gap.
const KEEPALIVE: Duration = Duration::from_millis(500);

/// How long a ping may take before the lock connection counts as dead: long enough for a
/// busy server, short enough that a partitioned client stops soon.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Used when the connection string sets no `connect_timeout`, so an unreachable server fails
/// the command instead of hanging it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Key of the transaction-scoped advisory lock that serializes schema migrations between
/// concurrent first runs ("pfschema" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x7066_7363_6865_6d61;

/// Schema migrations: entry `i` takes the schema from version `i` to version `i + 1`. A new
/// version appends an entry; existing entries never change, since databases have run them.
const MIGRATIONS: &[&str] = &[
    // v1: current state per workspace, the lock holder, and apply history as plain rows.
    r#"
    CREATE TABLE states (
        workspace  text PRIMARY KEY,
        lineage    text NOT NULL,
        serial     bigint NOT NULL,
        state      jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE locks (
        workspace   text PRIMARY KEY,
        id          text NOT NULL,
        operation   text NOT NULL,
        who         text NOT NULL,
        host        text NOT NULL,
        pid         bigint NOT NULL,
        created     timestamptz NOT NULL,
        version     text NOT NULL,
        backend_pid integer NOT NULL
    );
    CREATE TABLE applies (
        workspace      text NOT NULL,
        apply_id       text NOT NULL,
        plan_digest    text NOT NULL,
        started_at     timestamptz NOT NULL,
        finished_at    timestamptz,
        ignored_window boolean NOT NULL,
        PRIMARY KEY (workspace, apply_id)
    );
    CREATE TABLE apply_hosts (
        workspace     text NOT NULL,
        apply_id      text NOT NULL,
        host          text NOT NULL,
        outcome       text NOT NULL,
        failure_class text,
        message       text,
        started_at    timestamptz,
        finished_at   timestamptz,
        rebooted      boolean NOT NULL,
        PRIMARY KEY (workspace, apply_id, host),
        FOREIGN KEY (workspace, apply_id) REFERENCES applies ON DELETE CASCADE
    );
    CREATE TABLE apply_packages (
        workspace    text NOT NULL,
        apply_id     text NOT NULL,
        host         text NOT NULL,
        package      text NOT NULL,
        from_version text,
        to_version   text NOT NULL,
        state        text NOT NULL,
        finished_at  timestamptz,
        PRIMARY KEY (workspace, apply_id, host, package),
        FOREIGN KEY (workspace, apply_id, host) REFERENCES apply_hosts ON DELETE CASCADE
    );
    CREATE INDEX apply_packages_package ON apply_packages (package, to_version, finished_at);
    "#,
    // v2: the state document as compact JSON text, stored uncompressed. Converting tens of
    // megabytes to and from jsonb, and compressing them, took seconds per save and read;
    // `state::jsonb` still makes it queryable, and the history tables hold what is queried.
    r#"
    ALTER TABLE states ALTER COLUMN state TYPE text USING state::text;
    ALTER TABLE states ALTER COLUMN state SET STORAGE EXTERNAL;
    "#,
];

/// The schema version this patchform writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// How the server's TLS certificate is checked, as libpq does it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ServerCheck {
    /// `sslmode=prefer` (the default) or `require` without `sslrootcert`: the connection is
    /// encrypted but the server is not authenticated, libpq's behaviour for these modes.
    EncryptOnly,
    /// `sslrootcert=FILE`: the chain must lead to a CA in FILE and the certificate must name
    /// the host (libpq's `verify-full`).
    Verify(PathBuf),
    /// `sslrootcert=system`: as `Verify`, with the system's trusted CAs.
    VerifySystem,
}

/// Connection settings, parsed and checked once.
#[derive(Debug, Clone)]
pub struct PgSettings {
    config: Config,
    schema: String,
    server_check: ServerCheck,
}

impl PgSettings {
    /// Reads `conn_str` (URL or `key=value` form) and `schema_name` from backend settings.
    pub fn from_settings(settings: &BTreeMap<String, String>) -> Result<PgSettings, StateError> {
        let conn_str = settings.get("conn_str").ok_or_else(|| {
            StateError::Backend(
                "the pg backend needs conn_str: set it in the backend block, with `patchform init -backend-config=conn_str=...`, or in PATCHFORM_PG_CONN_STR".to_owned(),
            )
        })?;
        // The parser's messages never quote the string, so the password cannot leak here.
        let mut config = Config::from_str(conn_str).map_err(|e| {
            StateError::Backend(format!(
                "conn_str is not a PostgreSQL connection string: {e}"
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("patchform");
        }
        config.keepalives(true);
        let schema = settings
            .get("schema_name")
            .cloned()
            .unwrap_or_else(|| DEFAULT_SCHEMA.to_owned());
        let valid = schema.len() <= 63
            && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(StateError::Backend(format!(
                "schema_name \"{schema}\" must be a lowercase SQL identifier (a-z, 0-9, _)"
            )));
        }
        let server_check = match settings.get("sslrootcert").map(String::as_str) {
            None | Some("") => ServerCheck::EncryptOnly,
            Some("system") => ServerCheck::VerifySystem,
            Some(path) => ServerCheck::Verify(PathBuf::from(path)),
        };
        if server_check != ServerCheck::EncryptOnly && config.get_ssl_mode() == SslMode::Disable {
            return Err(StateError::Backend(
                "sslrootcert is set but conn_str says sslmode=disable; remove one of them"
                    .to_owned(),
            ));
        }
        if server_check != ServerCheck::EncryptOnly {
            // A verified server must not be silently replaced by a plain connection.
            config.ssl_mode(SslMode::Require);
        }
        Ok(PgSettings {
            config,
            schema,
            server_check,
        })
    }

    /// The TLS connector for `server_check`. Plain connections still happen where
    /// `sslmode` allows them (`disable`, or `prefer` against a server without TLS).
    fn tls(&self) -> Result<MakeTlsConnector, StateError> {
        let failed = |e: openssl::error::ErrorStack| {
            StateError::Backend(format!("cannot set up TLS for {}: {e}", self.describe()))
        };
        let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(failed)?;
        match &self.server_check {
            ServerCheck::EncryptOnly => builder.set_verify(SslVerifyMode::NONE),
            // Only the CAs of the file: the builder starts with the system's store, which
            // verify-full with a root file must not trust.
            ServerCheck::Verify(path) => builder.set_cert_store(root_store(path)?),
            ServerCheck::VerifySystem => builder.set_default_verify_paths().map_err(failed)?,
        }
        let mut connector = MakeTlsConnector::new(builder.build());
        if self.server_check == ServerCheck::EncryptOnly {
            connector.set_callback(|config, _| {
                config.set_verify_hostname(false);
                Ok(())
            });
        }
        Ok(connector)
    }

    /// `user@host:port/dbname schema S`, never the password.
    pub fn describe(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(name)) => name.clone(),
            Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
            None => "localhost".to_owned(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!(
            "PostgreSQL {}@{host}:{port}/{} schema {}",
            self.config.get_user().unwrap_or("(default user)"),
            self.config.get_dbname().unwrap_or("(default database)"),
            self.schema
        )
    }

    fn connect(&self) -> Result<Client, StateError> {
        self.config.connect(self.tls()?).map_err(|e| {
            let detail = crate::diag::error_chain(&e);
            let hint = if detail.contains("certificate verify failed") {
                ". Check that sslrootcert is the CA that signed the server's certificate and that conn_str names the host as the certificate does"
            } else {
                ""
            };
            StateError::Backend(format!(
                "cannot connect to {}: {detail}{hint}",
                self.describe()
            ))
        })
    }
}

/// A certificate store holding exactly the CAs of a PEM file.
fn root_store(path: &Path) -> Result<X509Store, StateError> {
    let unreadable = |detail: String| {
        StateError::Backend(format!(
            "cannot read sslrootcert {}: {detail}; give a PEM file of the CA certificates that sign the server's certificate",
            path.display()
        ))
    };
    let pem = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let certificates = X509::stack_from_pem(&pem).map_err(|e| unreadable(e.to_string()))?;
    if certificates.is_empty() {
        return Err(unreadable("it holds no certificate".to_owned()));
    }
    let mut store = X509StoreBuilder::new().map_err(|e| unreadable(e.to_string()))?;
    for certificate in certificates {
        store
            .add_cert(certificate)
            .map_err(|e| unreadable(e.to_string()))?;
    }
    Ok(store.build())
}

/// The advisory-lock key of one workspace: a stable hash, so every patchform agrees on it.
pub fn lock_key(schema: &str, workspace: &str) -> i64 {
    let digest = Sha256::digest(format!("patchform\0{schema}\0{workspace}").as_bytes());
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// The lock connection and the thread that watches it.
struct HeldLock {
    id: String,
    key: i64,
    /// The server process of the lock connection: the write-time check looks it up in pg_locks.
    backend_pid: i32,
    client: Arc<Mutex<Client>>,
    stop: Arc<AtomicBool>,
    keepalive: Option<JoinHandle<()>>,
}

pub struct PgBackend {
    settings: PgSettings,
    workspace: String,
    data: Option<Client>,
    lock: Option<HeldLock>,
    lock_loss: LockLoss,
}

fn db_error(what: &str, error: postgres::Error) -> StateError {
    // The server's own message is a cause of the error ("db error: ERROR: ...").
    StateError::Backend(format!(
        "PostgreSQL: {what}: {}",
        crate::diag::error_chain(&error)
    ))
}

fn serial_to_sql(serial: u64) -> Result<i64, StateError> {
    i64::try_from(serial)
        .map_err(|_| StateError::Backend(format!("serial {serial} does not fit in a bigint")))
}

impl PgBackend {
    pub fn new(settings: PgSettings, workspace: &str) -> PgBackend {
        PgBackend {
            settings,
            workspace: workspace.to_owned(),
            data: None,
            lock: None,
            lock_loss: LockLoss::default(),
        }
    }

    /// The data connection, connected (and the schema migrated) on first use.
    fn data(&mut self) -> Result<&mut Client, StateError> {
        if self.data.is_none() {
            let mut client = self.settings.connect()?;
            migrate(&mut client, &self.settings.schema)?;
            self.data = Some(client);
        }
        Ok(self.data.as_mut().expect("connected above"))
    }

    fn table(&self, name: &str) -> String {
        format!("\"{}\".{name}", self.settings.schema)
    }

    fn holder(&mut self) -> Result<Option<(LockInfo, i32)>, StateError> {
        let sql = format!(
            "SELECT id, operation, who, host, pid, \
             to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), version, backend_pid \
             FROM {} WHERE workspace = $1",
            self.table("locks")
        );
        let workspace = self.workspace.clone();
        let row = self
            .data()?
            .query_opt(&sql, &[&workspace])
            .map_err(|e| db_error("reading the lock holder", e))?;
        let Some(row) = row else { return Ok(None) };
        let created: String = row.get(5);
        let info = LockInfo {
            id: row.get(0),
            operation: row.get(1),
            who: row.get(2),
            host: row.get(3),
            pid: u32::try_from(row.get::<_, i64>(4)).unwrap_or(0),
            created: created.parse().map_err(|e| StateError::LockedUnknown {
                detail: format!("lock row has an unreadable time: {e}"),
            })?,
            version: row.get(6),
        };
        Ok(Some((info, row.get(7))))
    }

    /// Refuses a write unless the lock connection still holds the advisory lock. Runs inside
    /// the write's transaction, so the check and the write see the same moment.
    fn check_lock_held(
        transaction: &mut Transaction<'_>,
        held: Option<(i64, i32)>,
        lock_loss: &LockLoss,
    ) -> Result<(), StateError> {
        let Some((key, backend_pid)) = held else {
            return Ok(());
        };
        // A bigint advisory key is split into classid (high half) and objid (low half).
        let row = transaction
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
                 AND pid = $1 AND classid = $2 AND objid = $3 AND objsubid = 1)",
                &[&backend_pid, &((key >> 32) as u32), &(key as u32)],
            )
            .map_err(|e| db_error("checking the lock", e))?;
        if row.get::<_, bool>(0) {
            Ok(())
        } else {
            lock_loss.mark();
            Err(StateError::LockLost)
        }
    }

    /// Stores `state` in one transaction: the state row (if its serial is still `expected`)
    /// and its apply history.
    fn store(
        &mut self,
        state: &State,
        expected: Expected,
        history: HistorySync,
    ) -> Result<(), StateError> {
        if self.lock_loss.is_lost() {
            return Err(StateError::LockLost);
        }
        let held = self.lock.as_ref().map(|l| (l.key, l.backend_pid));
        let lock_loss = self.lock_loss.clone();
        let workspace = self.workspace.clone();
        let states = self.table("states");
        let schema = self.settings.schema.clone();
        let serial = serial_to_sql(state.serial)?;
        let client = self.data()?;
        let mut transaction = client
            .transaction()
            .map_err(|e| db_error("starting a transaction", e))?;
        let stored = transaction
            .query_opt(
                &format!("SELECT lineage, serial FROM {states} WHERE workspace = $1 FOR UPDATE"),
                &[&workspace],
            )
            .map_err(|e| db_error("reading the stored serial", e))?
            .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1) as u64));
        match expected {
            Expected::Successor => {
                check_successor_of(stored.as_ref().map(|(l, s)| (l.as_str(), *s)), state)?
            }
            Expected::Serial(expected) => {
                if stored.as_ref().map(|(_, s)| *s) != expected {
                    return Err(StateError::StaleSerial {
                        attempted: state.serial,
                        stored: stored.as_ref().map(|(_, s)| *s).unwrap_or(0),
                        lineage: stored.map(|(l, _)| l).unwrap_or_default(),
                    });
                }
            }
        }
        Self::check_lock_held(&mut transaction, held, &lock_loss)?;
        let body = state.to_compact_json();
        let changed = match &stored {
            None => transaction.execute(
                &format!(
                    "INSERT INTO {states} (workspace, lineage, serial, state) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (workspace) DO NOTHING"
                ),
                &[&workspace, &state.lineage, &serial, &body],
            ),
            Some((_, previous)) => transaction.execute(
                &format!(
                    "UPDATE {states} SET lineage = $2, serial = $3, state = $4, updated_at = now() \
                     WHERE workspace = $1 AND serial = $5"
                ),
                &[
                    &workspace,
                    &state.lineage,
                    &serial,
                    &body,
                    &serial_to_sql(*previous)?,
                ],
            ),
        }
        .map_err(|e| db_error("writing the state", e))?;
        if changed != 1 {
            // Another writer got in between the read and the write (possible without -lock).
            return Err(StateError::StaleSerial {
                attempted: state.serial,
                stored: stored.map(|(_, s)| s).unwrap_or(0),
                lineage: state.lineage.clone(),
            });
        }
        sync_history(
            &mut transaction,
            &schema,
            &workspace,
            &state.history,
            history,
        )?;
        transaction
            .commit()
            .map_err(|e| db_error("committing the state", e))
    }

    fn release(&mut self) -> Result<(), StateError> {
        let Some(mut held) = self.lock.take() else {
            return Ok(());
        };
        held.stop.store(true, Ordering::SeqCst);
        if let Some(keepalive) = held.keepalive.take() {
            let _ = keepalive.join();
        }
        if self.lock_loss.is_lost() {
            // The server already dropped the lock with the connection; the row names a dead
            // holder and is replaced by the next locker.
            return Ok(());
        }
        let mut client = held.client.lock().unwrap_or_else(|e| e.into_inner());
        client
            .execute(
                &format!(
                    "DELETE FROM {} WHERE workspace = $1 AND id = $2",
                    self.table("locks")
                ),
                &[&self.workspace, &held.id],
            )
            .map_err(|e| db_error("removing the lock row", e))?;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&held.key])
            .map_err(|e| db_error("releasing the lock", e))?;
        Ok(())
    }
}

/// What a write expects to find stored.
enum Expected {
    /// A state the new one succeeds (same lineage, serial one lower), or none.
    Successor,
    /// Exactly this serial (`None`: no state).
    Serial(Option<u64>),
}

/// How much of the history a write rewrites.
#[derive(Clone, Copy)]
enum HistorySync {
    /// Applies that are new or were unfinished: an apply saves after every host, so rewriting
    /// only the running apply keeps each save proportional to that apply.
    Changed,
    /// Everything (`state push`, migration), since any record may differ.
    All,
}

/// Makes the history tables mirror `history`.
fn sync_history(
    transaction: &mut Transaction<'_>,
    schema: &str,
    workspace: &str,
    history: &[ApplyRecord],
    sync: HistorySync,
) -> Result<(), StateError> {
    let error = |e| db_error("writing the apply history", e);
    let ids: Vec<&str> = history.iter().map(|r| r.id.as_str()).collect();
    transaction
        .execute(
            &format!(
                "DELETE FROM \"{schema}\".applies WHERE workspace = $1 AND NOT (apply_id = ANY($2))"
            ),
            &[&workspace, &ids],
        )
        .map_err(error)?;
    let finished: HashMap<String, bool> = transaction
        .query(
            &format!(
                "SELECT apply_id, finished_at IS NOT NULL FROM \"{schema}\".applies WHERE workspace = $1"
            ),
            &[&workspace],
        )
        .map_err(error)?
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    for record in history {
        let unchanged = matches!(sync, HistorySync::Changed)
            && record.finished_at.is_some()
            && finished.get(&record.id) == Some(&true);
        if unchanged {
            continue;
        }
        insert_apply(transaction, schema, workspace, record).map_err(error)?;
    }
    Ok(())
}

fn text(timestamp: Option<jiff::Timestamp>) -> Option<String> {
    timestamp.map(|t| t.to_string())
}

/// Replaces one apply's rows. Hosts and packages go in as arrays (`unnest`), one statement
/// each, so a 10,000-host apply is three round trips rather than tens of thousands.
fn insert_apply(
    transaction: &mut Transaction<'_>,
    schema: &str,
    workspace: &str,
    record: &ApplyRecord,
) -> Result<(), postgres::Error> {
    transaction.execute(
        &format!("DELETE FROM \"{schema}\".applies WHERE workspace = $1 AND apply_id = $2"),
        &[&workspace, &record.id],
    )?;
    transaction.execute(
        &format!(
            "INSERT INTO \"{schema}\".applies \
             (workspace, apply_id, plan_digest, started_at, finished_at, ignored_window) \
             VALUES ($1, $2, $3, $4::text::timestamptz, $5::text::timestamptz, $6)"
        ),
        &[
            &workspace,
            &record.id,
            &record.plan_digest,
            &record.started_at.to_string(),
            &text(record.finished_at),
            &record.ignored_window,
        ],
    )?;
    let mut hosts = HostColumns::default();
    let mut packages = PackageColumns::default();
    for (host, entry) in &record.hosts {
        hosts.host.push(host);
        hosts.outcome.push(&entry.outcome);
        hosts.failure_class.push(entry.failure_class.as_deref());
        hosts.message.push(entry.message.as_deref());
        hosts.started_at.push(text(entry.started_at));
        hosts.finished_at.push(text(entry.finished_at));
        hosts.rebooted.push(entry.rebooted);
        for (package, change) in &entry.packages {
            packages.host.push(host);
            packages.package.push(package);
            packages.from.push(change.from.as_deref());
            packages.to.push(&change.to);
            packages.state.push(&change.state);
            packages.finished_at.push(text(entry.finished_at));
        }
    }
    transaction.execute(
        &format!(
            "INSERT INTO \"{schema}\".apply_hosts (workspace, apply_id, host, outcome, failure_class, \
             message, started_at, finished_at, rebooted) \
             SELECT $1, $2, h, o, c, m, s::timestamptz, f::timestamptz, r \
             FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bool[]) \
             AS t(h, o, c, m, s, f, r)"
        ),
        &[
            &workspace,
            &record.id,
            &hosts.host,
            &hosts.outcome,
            &hosts.failure_class,
            &hosts.message,
            &hosts.started_at,
            &hosts.finished_at,
            &hosts.rebooted,
        ],
    )?;
    transaction.execute(
        &format!(
            "INSERT INTO \"{schema}\".apply_packages (workspace, apply_id, host, package, \
             from_version, to_version, state, finished_at) \
             SELECT $1, $2, h, p, fr, t, s, f::timestamptz \
             FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) \
             AS x(h, p, fr, t, s, f)"
        ),
        &[
            &workspace,
            &record.id,
            &packages.host,
            &packages.package,
            &packages.from,
            &packages.to,
            &packages.state,
            &packages.finished_at,
        ],
    )?;
    Ok(())
}

#[derive(Default)]
struct HostColumns<'a> {
    host: Vec<&'a str>,
    outcome: Vec<&'a str>,
    failure_class: Vec<Option<&'a str>>,
    message: Vec<Option<&'a str>>,
    started_at: Vec<Option<String>>,
    finished_at: Vec<Option<String>>,
    rebooted: Vec<bool>,
}

#[derive(Default)]
struct PackageColumns<'a> {
    host: Vec<&'a str>,
    package: Vec<&'a str>,
    from: Vec<Option<&'a str>>,
    to: Vec<&'a str>,
    state: Vec<&'a str>,
    finished_at: Vec<Option<String>>,
}

/// Brings the schema to `SCHEMA_VERSION`, creating it on first use. Concurrent first runs
/// serialize on a transaction advisory lock; a database newer than this patchform is refused.
fn migrate(client: &mut Client, schema: &str) -> Result<(), StateError> {
    let error = |e| db_error("preparing the schema", e);
    let table = format!("\"{schema}\".schema_version");
    // The common case, an up-to-date schema, costs one query and needs no CREATE privilege.
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .map_err(error)?
        .get(0);
    if exists && read_version(client, &table)? == SCHEMA_VERSION {
        return Ok(());
    }
    let mut transaction = client.transaction().map_err(error)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .map_err(error)?;
    transaction
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; \
             CREATE TABLE IF NOT EXISTS {table} (version integer NOT NULL)"
        ))
        .map_err(error)?;
    let current: i32 = transaction
        .query_opt(&format!("SELECT version FROM {table}"), &[])
        .map_err(error)?
        .map_or(0, |row| row.get(0));
    if current > SCHEMA_VERSION {
        return Err(StateError::Backend(format!(
            "the database schema \"{schema}\" is at version {current}, newer than this patchform supports ({SCHEMA_VERSION}); upgrade patchform"
        )));
    }
    for step in &MIGRATIONS[current as usize..] {
        transaction
            .batch_execute(&format!("SET LOCAL search_path TO \"{schema}\"; {step}"))
            .map_err(error)?;
    }
    transaction
        .execute(&format!("DELETE FROM {table}"), &[])
        .map_err(error)?;
    transaction
        .execute(
            &format!("INSERT INTO {table} (version) VALUES ($1)"),
            &[&SCHEMA_VERSION],
        )
        .map_err(error)?;
    transaction.commit().map_err(error)
}

fn read_version(client: &mut Client, table: &str) -> Result<i32, StateError> {
    Ok(client
        .query_opt(&format!("SELECT version FROM {table}"), &[])
        .map_err(|e| db_error("reading the schema version", e))?
        .map_or(0, |row| row.get(0)))
}

/// Pings the lock connection until told to stop; a failed ping means the session, and with it
/// the advisory lock, is gone.
fn keepalive(client: Arc<Mutex<Client>>, stop: Arc<AtomicBool>, lock_loss: LockLoss) {
    let step = Duration::from_millis(50);
    loop {
        let mut waited = Duration::ZERO;
        while waited < KEEPALIVE {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(step);
            waited += step;
        }
        let alive = client
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_valid(PING_TIMEOUT)
            .is_ok();
        if !alive {
            lock_loss.mark();
            return;
        }
    }
}

impl Backend for PgBackend {
    fn lock(&mut self, info: &LockInfo, timeout: Duration) -> Result<(), StateError> {
        self.data()?;
        let key = lock_key(&self.settings.schema, &self.workspace);
        let mut client = self.settings.connect()?;
        let started = Instant::now();
        loop {
            let acquired: bool = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                .map_err(|e| db_error("taking the lock", e))?
                .get(0);
            if acquired {
                break;
            }
            if started.elapsed() >= timeout {
                return Err(match self.holder()? {
                    Some((holder, _)) => StateError::Locked {
                        holder: Box::new(holder),
                    },
                    None => StateError::LockedUnknown {
                        detail: "a session holds the advisory lock but wrote no lock row yet"
                            .to_owned(),
                    },
                });
            }
            std::thread::sleep(LOCK_POLL);
        }
        let backend_pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .map_err(|e| db_error("reading the lock session", e))?
            .get(0);
        // A row left by a holder that died names a dead session; ours replaces it.
        client
            .execute(
                &format!(
                    "INSERT INTO {} (workspace, id, operation, who, host, pid, created, version, backend_pid) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7::text::timestamptz, $8, $9) \
                     ON CONFLICT (workspace) DO UPDATE SET id = $2, operation = $3, who = $4, \
                     host = $5, pid = $6, created = $7::text::timestamptz, version = $8, backend_pid = $9",
                    self.table("locks")
                ),
                &[
                    &self.workspace,
                    &info.id,
                    &info.operation,
                    &info.who,
                    &info.host,
                    &i64::from(info.pid),
                    &info.created.to_string(),
                    &info.version,
                    &backend_pid,
                ],
            )
            .map_err(|e| db_error("recording the lock holder", e))?;
        let client = Arc::new(Mutex::new(client));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (client, stop, lock_loss) = (client.clone(), stop.clone(), self.lock_loss.clone());
            std::thread::Builder::new()
                .name("pg-lock-keepalive".to_owned())
                .spawn(move || keepalive(client, stop, lock_loss))
                .map_err(|e| StateError::Backend(format!("cannot start the lock keepalive: {e}")))?
        };
        self.lock = Some(HeldLock {
            id: info.id.clone(),
            key,
            backend_pid,
            client,
            stop,
            keepalive: Some(thread),
        });
        Ok(())
    }

    fn unlock(&mut self) -> Result<(), StateError> {
        self.release()
    }

    /// Ends the holder's lock session with `pg_terminate_backend` (the server then drops the
    /// advisory lock, and a holder still running notices and stops without writing), then
    /// deletes the lock row.
    fn force_unlock(&mut self, id: &str) -> Result<(), StateError> {
        let Some((holder, backend_pid)) = self.holder()? else {
            return Err(StateError::NotLocked);
        };
        if holder.id != id {
            return Err(StateError::WrongLockId {
                given: id.to_owned(),
                actual: holder.id,
            });
        }
        let key = lock_key(&self.settings.schema, &self.workspace);
        let locks = self.table("locks");
        let workspace = self.workspace.clone();
        let client = self.data()?;
        // Only a session that still holds this workspace's lock is terminated: the pid of a
        // holder that died may have been reused by an unrelated session.
        let terminated = client
            .query_opt(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' \
                 AND granted AND pid = $1 AND classid = $2 AND objid = $3 AND objsubid = 1",
                &[&backend_pid, &((key >> 32) as u32), &(key as u32)],
            )
            .map_err(|e| db_error("ending the lock holder's session", e))?;
        if let Some(row) = terminated
            && !row.get::<_, bool>(0)
        {
            return Err(StateError::Backend(format!(
                "could not end the lock holder's session (backend pid {backend_pid}); ask an administrator to run SELECT pg_terminate_backend({backend_pid})"
            )));
        }
        client
            .execute(
                &format!("DELETE FROM {locks} WHERE workspace = $1 AND id = $2"),
                &[&workspace, &id],
            )
            .map_err(|e| db_error("removing the lock row", e))?;
        Ok(())
    }

    fn read(&mut self) -> Result<Option<State>, StateError> {
        let sql = format!(
            "SELECT state FROM {} WHERE workspace = $1",
            self.table("states")
        );
        let workspace = self.workspace.clone();
        let description = self.describe();
        let row = self
            .data()?
            .query_opt(&sql, &[&workspace])
            .map_err(|e| db_error("reading the state", e))?;
        let Some(row) = row else { return Ok(None) };
        State::from_json(row.get(0))
            .map(Some)
            .map_err(|detail| StateError::Read {
                path: description,
                detail,
            })
    }

    fn write(&mut self, state: &State) -> Result<(), StateError> {
        self.store(state, Expected::Successor, HistorySync::Changed)
    }

    fn replace(&mut self, state: &State, expected: Option<u64>) -> Result<(), StateError> {
        self.store(state, Expected::Serial(expected), HistorySync::All)
    }

    fn workspaces(&mut self) -> Result<Vec<String>, StateError> {
        let sql = format!("SELECT workspace FROM {}", self.table("states"));
        let mut names: Vec<String> = self
            .data()?
            .query(&sql, &[])
            .map_err(|e| db_error("listing workspaces", e))?
            .into_iter()
            .map(|row| row.get(0))
            .collect();
        if !names.iter().any(|n| n == DEFAULT_WORKSPACE) {
            names.push(DEFAULT_WORKSPACE.to_owned());
        }
        names.sort();
        Ok(names)
    }

    fn delete_workspace(&mut self) -> Result<(), StateError> {
        if self.workspace == DEFAULT_WORKSPACE {
            return Err(StateError::Backend(
                "the default workspace cannot be deleted".to_owned(),
            ));
        }
        let (states, applies) = (self.table("states"), self.table("applies"));
        let workspace = self.workspace.clone();
        let client = self.data()?;
        let mut transaction = client
            .transaction()
            .map_err(|e| db_error("starting a transaction", e))?;
        for table in [&applies, &states] {
            transaction
                .execute(
                    &format!("DELETE FROM {table} WHERE workspace = $1"),
                    &[&workspace],
                )
                .map_err(|e| db_error("deleting the workspace", e))?;
        }
        transaction
            .commit()
            .map_err(|e| db_error("deleting the workspace", e))
    }

    fn lock_loss(&self) -> LockLoss {
        self.lock_loss.clone()
    }

    fn describe(&self) -> String {
        format!("{}, workspace {}", self.settings.describe(), self.workspace)
    }
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(conn_str: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("conn_str".to_owned(), conn_str.to_owned())])
    }

    #[test]
    fn description_never_shows_the_password() {
        for conn_str in [
            "postgres://alice:s3cret@db.example:6543/ops",
            "host=db.example port=6543 user=alice password=s3cret dbname=ops",
        ] {
            let text = PgSettings::from_settings(&settings(conn_str))
                .unwrap()
                .describe();
            assert_eq!(
                text,
                "PostgreSQL alice@db.example:6543/ops schema patchform"
            );
        }
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        let mut map = settings("host=x");
        map.insert("schema_name".into(), "ops; DROP TABLE x".into());
        assert!(PgSettings::from_settings(&map).is_err());
        map.insert("schema_name".into(), "ops_state".into());
        assert!(PgSettings::from_settings(&map).is_ok());
        assert!(PgSettings::from_settings(&BTreeMap::new()).is_err());
    }

    #[test]
    fn lock_keys_are_stable_and_differ_per_workspace() {
        assert_eq!(
            lock_key("patchform", "default"),
            lock_key("patchform", "default")
        );
        assert_ne!(
            lock_key("patchform", "default"),
            lock_key("patchform", "staging")
        );
        assert_ne!(
            lock_key("patchform", "default"),
            lock_key("other", "default")
        );
    }
}
