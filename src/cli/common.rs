//! Steps several subcommands share: loading the configuration, opening the state backend,
//! building the SSH transport.

use super::{Exit, Ui};
use crate::config::{self, LoadOptions, VarInputs};
use crate::model::{self, Backend as HclBackend, DesiredState};
use crate::plan::PlanVariable;
use crate::render;
use crate::state::{
    Backend, BackendConfig, DEFAULT_WORKSPACE, LockInfo, State, StateError, check_workspace_name,
};
use crate::transport::{HostKeyPolicy, Ssh, SshOptions};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Bytes of output kept per remote command: apt's largest honest output (a simulation or a
/// policy table of thousands of packages) is a few MiB; anything far beyond is hostile.
pub(crate) const OUTPUT_LIMIT: usize = 32 * 1024 * 1024;

/// Loads and lowers the configuration in the working directory, printing every diagnostic.
pub(crate) fn load_desired(vars: VarInputs, ui: &Ui) -> Result<DesiredState, Exit> {
    load(vars, ui).map(|loaded| loaded.desired)
}

/// A loaded configuration with what a plan records about it.
pub(crate) struct Loaded {
    pub(crate) desired: DesiredState,
    /// SHA-256 over every configuration file's name and text.
    pub(crate) digest: String,
    pub(crate) variables: BTreeMap<String, PlanVariable>,
    pub(crate) sensitive_values: Vec<String>,
}

pub(crate) fn load(vars: VarInputs, ui: &Ui) -> Result<Loaded, Exit> {
    let (config, mut diags) = config::load(Path::new("."), &LoadOptions { vars });
    let (desired, lower_diags) = model::lower(&config);
    diags.extend(lower_diags);
    diags.sort();
    if !diags.is_empty() {
        ui.err(&render::diagnostics::human(&diags, &config.sources));
    }
    let desired = match desired {
        Some(desired) if !diags.has_errors() => desired,
        _ => return Err(Exit::Error),
    };
    let mut hasher = Sha256::new();
    for file in config.sources.files() {
        hasher.update(file.name.as_bytes());
        hasher.update([0]);
        hasher.update(file.text.as_bytes());
        hasher.update([0]);
    }
    let mut variables = BTreeMap::new();
    let mut sensitive_values = Vec::new();
    for variable in &config.variables {
        let text = serde_json::to_string(&variable.value).unwrap_or_default();
        let digest = hex::encode(Sha256::digest(text.as_bytes()));
        if variable.sensitive {
            collect_strings(&variable.value, &mut sensitive_values);
        }
        variables.insert(
            variable.name.clone(),
            PlanVariable {
                sensitive: variable.sensitive,
                value: if variable.sensitive {
                    "(sensitive)".to_owned()
                } else {
                    text
                },
                digest,
            },
        );
    }
    Ok(Loaded {
        desired,
        digest: hex::encode(hasher.finalize()),
        variables,
        sensitive_values,
    })
}

/// Every string and number inside a value, the forms a secret can take in a command.
fn collect_strings(value: &hcl::Value, out: &mut Vec<String>) {
    match value {
        hcl::Value::String(s) => out.push(s.clone()),
        hcl::Value::Number(n) => out.push(n.to_string()),
        hcl::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        hcl::Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        hcl::Value::Null | hcl::Value::Bool(_) => {}
    }
}

/// Parses Terraform-style durations: `0s`, `30s`, `5m`, `1h30m`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let span: jiff::Span = text
        .parse()
        .map_err(|e| format!("\"{text}\" is not a duration such as 30s or 5m ({e})"))?;
    let signed = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| format!("\"{text}\": {e}"))?;
    Duration::try_from(signed).map_err(|_| format!("\"{text}\" must not be negative"))
}

/// Where `init` records the backend it set up (mode 0600: it may hold a connection string),
/// as Terraform keeps `.terraform/terraform.tfstate`.
pub(crate) const BACKEND_FILE: &str = ".patchform/backend.json";
/// The selected workspace, as Terraform's `.terraform/environment`.
const ENVIRONMENT_FILE: &str = ".patchform/environment";
/// Overrides the connection string of a pg backend, so credentials stay out of files.
const PG_CONN_STR_ENV: &str = "PATCHFORM_PG_CONN_STR";
/// Overrides the selected workspace.
const WORKSPACE_ENV: &str = "PATCHFORM_WORKSPACE";

/// What `init` stored: the backend with its `-backend-config` values, and a digest of the HCL
/// backend block it came from, so a later edit of that block is noticed.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredBackend {
    pub(crate) hcl_digest: String,
    pub(crate) backend: BackendConfig,
}

/// The backend the configuration's `patchform { backend ... }` block declares.
pub(crate) fn hcl_backend(desired: &DesiredState) -> BackendConfig {
    match &desired.backend {
        HclBackend::Local { path } => BackendConfig::Local { path: path.clone() },
        HclBackend::Pg { settings } => BackendConfig::Pg {
            settings: settings.clone(),
        },
    }
}

pub(crate) fn hcl_digest(backend: &BackendConfig) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_string(backend)
            .unwrap_or_default()
            .as_bytes(),
    ))
}

pub(crate) fn read_stored_backend() -> Result<Option<StoredBackend>, String> {
    match std::fs::read_to_string(BACKEND_FILE) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            format!("{BACKEND_FILE} is not readable ({e}); run `patchform init -reconfigure`")
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {BACKEND_FILE}: {e}")),
    }
}

pub(crate) fn write_stored_backend(stored: &StoredBackend) -> Result<(), String> {
    std::fs::create_dir_all(".patchform").map_err(|e| format!("cannot create .patchform: {e}"))?;
    write_private(
        Path::new(BACKEND_FILE),
        &(serde_json::to_string_pretty(stored).unwrap_or_default() + "\n"),
    )
}

/// Applies `PATCHFORM_PG_CONN_STR` to a pg backend.
pub(crate) fn with_env(backend: BackendConfig) -> BackendConfig {
    match backend {
        BackendConfig::Pg { mut settings } => {
            if let Ok(conn_str) = std::env::var(PG_CONN_STR_ENV)
                && !conn_str.is_empty()
            {
                settings.insert("conn_str".to_owned(), conn_str);
            }
            BackendConfig::Pg { settings }
        }
        local => local,
    }
}

/// The backend in force: the HCL block, or what `init` stored for that same block (with its
/// `-backend-config` values), then `PATCHFORM_PG_CONN_STR`.
pub(crate) fn configured_backend(desired: &DesiredState) -> Result<BackendConfig, String> {
    let hcl = hcl_backend(desired);
    let backend = match read_stored_backend()? {
        Some(stored) if stored.hcl_digest == hcl_digest(&hcl) => stored.backend,
        Some(_) => {
            return Err(
                "the backend block changed since `patchform init`. Run `patchform init -migrate-state` to copy the state to the new backend, or `patchform init -reconfigure` to use it as it is".to_owned(),
            );
        }
        None => hcl,
    };
    Ok(with_env(backend))
}

/// The selected workspace: `PATCHFORM_WORKSPACE`, else `.patchform/environment`, else default.
pub(crate) fn current_workspace() -> Result<String, String> {
    let name = match std::env::var(WORKSPACE_ENV) {
        Ok(name) if !name.is_empty() => name,
        _ => match std::fs::read_to_string(ENVIRONMENT_FILE) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => DEFAULT_WORKSPACE.to_owned(),
            Err(e) => return Err(format!("cannot read {ENVIRONMENT_FILE}: {e}")),
        },
    };
    check_workspace_name(&name).map_err(|e| e.to_string())?;
    Ok(name)
}

/// Whether `PATCHFORM_WORKSPACE` decides the workspace, whatever `workspace select` stores.
pub(crate) fn workspace_from_env() -> bool {
    std::env::var(WORKSPACE_ENV).is_ok_and(|name| !name.is_empty())
}

pub(crate) fn select_workspace(name: &str) -> Result<(), String> {
    std::fs::create_dir_all(".patchform").map_err(|e| format!("cannot create .patchform: {e}"))?;
    write_private(Path::new(ENVIRONMENT_FILE), &format!("{name}\n"))
}

/// The configured state backend, opened on the selected workspace.
pub(crate) fn open_backend(desired: &DesiredState) -> Result<Box<dyn Backend>, String> {
    let workspace = current_workspace()?;
    configured_backend(desired)?
        .open(&workspace)
        .map_err(|e| e.to_string())
}

/// A backend locked for this command, released when dropped.
pub(crate) struct LockedState {
    pub(crate) backend: Box<dyn Backend>,
}

impl LockedState {
    pub(crate) fn acquire(
        desired: &DesiredState,
        operation: &str,
        lock: bool,
        timeout: Duration,
    ) -> Result<LockedState, StateError> {
        let backend = open_backend(desired).map_err(StateError::Backend)?;
        LockedState::lock(backend, operation, lock, timeout)
    }

    /// Locks an already opened backend (another workspace, a migration's source or target).
    pub(crate) fn lock(
        mut backend: Box<dyn Backend>,
        operation: &str,
        lock: bool,
        timeout: Duration,
    ) -> Result<LockedState, StateError> {
        if lock {
            backend.lock(&LockInfo::new(operation, jiff::Timestamp::now()), timeout)?;
        }
        Ok(LockedState { backend })
    }

    /// The stored state, or a new empty one with a fresh lineage.
    pub(crate) fn read_or_new(&mut self) -> Result<State, StateError> {
        Ok(self
            .backend
            .read()?
            .unwrap_or_else(|| State::new(State::new_lineage())))
    }

    /// Writes `state` as the next serial; refused once the lock is lost, since another
    /// command may hold it by now.
    pub(crate) fn save(&mut self, state: &mut State) -> Result<(), StateError> {
        if self.backend.lock_loss().is_lost() {
            return Err(StateError::LockLost);
        }
        state.serial += 1;
        self.backend.write(state)
    }
}

impl Drop for LockedState {
    fn drop(&mut self) {
        let _ = self.backend.unlock();
    }
}

pub(crate) fn ssh(desired: &DesiredState, host_keys: HostKeyPolicy) -> Result<Ssh, String> {
    let options = SshOptions {
        host_keys,
        config_file: desired.ssh.config_file.as_ref().map(PathBuf::from),
        known_hosts_file: desired.ssh.known_hosts_file.as_ref().map(PathBuf::from),
        connect_timeout: Duration::from_secs(u64::from(desired.ssh.connect_timeout_seconds)),
        output_limit: OUTPUT_LIMIT,
        control_dir: SshOptions::default_control_dir(),
    };
    Ssh::new(options).map_err(|e| e.to_string())
}

/// Keeps only `-target` hosts and groups (all hosts when none are given).
pub(crate) fn targeted_hosts(
    desired: &DesiredState,
    targets: &[String],
) -> Result<std::collections::BTreeMap<String, model::Host>, String> {
    if targets.is_empty() {
        return Ok(desired.hosts.clone());
    }
    let mut selected = std::collections::BTreeMap::new();
    for target in targets {
        let before = selected.len();
        if let Some(name) = target.strip_prefix("host.")
            && let Some(host) = desired.hosts.get(name)
        {
            selected.insert(name.to_owned(), host.clone());
        }
        if let Some(group) = desired.groups.get(target) {
            for name in &group.hosts {
                selected.insert(name.clone(), desired.hosts[name].clone());
            }
        }
        if selected.len() == before
            && !target.starts_with("host.")
            && !desired.groups.contains_key(target)
        {
            return Err(format!(
                "-target={target} is neither host.NAME nor a patch group address such as patch_group.web"
            ));
        }
        if selected.len() == before && target.starts_with("host.") {
            return Err(format!("-target={target}: no such host"));
        }
    }
    Ok(selected)
}

/// Writes a file only the owner can read, atomically.
pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), String> {
    crate::state::local::write_atomic(path, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Scans `hosts`, prints the scan's diagnostics, records the result in `state` and saves it.
/// Returns the fresh inventory; `state.last_scan` then holds it merged with older facts.
pub(crate) fn scan_and_record(
    desired: &DesiredState,
    hosts: &BTreeMap<String, model::Host>,
    host_keys: HostKeyPolicy,
    options: &crate::inventory::ScanOptions,
    locked: &mut LockedState,
    state: &mut State,
    ui: &Ui,
) -> Result<crate::inventory::Inventory, String> {
    let ssh = ssh(desired, host_keys)?;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    ui.err(&format!("Scanning {} hosts...\n", hosts.len()));
    let (mut inventory, diags) = runtime.block_on(crate::inventory::scan(
        hosts,
        &ssh,
        options,
        jiff::Timestamp::now(),
    ));
    inventory.host_key_policy = host_keys.as_str().to_owned();
    ui.err(&render::diagnostics::human(
        &diags,
        &crate::diag::SourceMap::default(),
    ));
    state.record_scan(&inventory);
    locked.save(state).map_err(|e| e.to_string())?;
    Ok(inventory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_terraform() {
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-5s").is_err());
    }
}
