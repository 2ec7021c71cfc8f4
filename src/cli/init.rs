//! `patchform init`: download `git::` module sources into `.patchform/modules`, set up the
//! state backend (with `-backend-config` values) and, with `-migrate-state`, copy every
//! workspace's state from the previously configured backend to the new one.

use super::common::{self, LockedState, StoredBackend};
use super::{Exit, Ui};
use crate::config::{self, LoadOptions, module};
use crate::model;
use crate::render;
use crate::state::BackendConfig;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// Re-download modules that are already installed.
    #[arg(long)]
    upgrade: bool,
    /// Accepted for Terraform compatibility: init never asks questions.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    input: bool,
    /// Override a backend setting: -backend-config=conn_str=... (repeatable). Stored in
    /// .patchform/backend.json (mode 0600), so later commands use it.
    #[arg(long = "backend-config", value_name = "KEY=VALUE")]
    backend_config: Vec<String>,
    /// Copy every workspace's state from the previously initialized backend to this one.
    #[arg(long)]
    migrate_state: bool,
    /// Use the backend as configured, ignoring the previous one and its state.
    #[arg(long, conflicts_with = "migrate_state")]
    reconfigure: bool,
    /// How long to wait for each state lock during -migrate-state.
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    lock_timeout: String,
}

/// Applies `-backend-config=KEY=VALUE` overrides to the configured backend.
fn with_overrides(backend: BackendConfig, overrides: &[String]) -> Result<BackendConfig, String> {
    let mut backend = backend;
    for item in overrides {
        let Some((key, value)) = item.split_once('=') else {
            // The value is not echoed: it may be a connection string with a password.
            return Err(
                "-backend-config must be KEY=VALUE (a settings file is not supported)".to_owned(),
            );
        };
        match (&mut backend, key) {
            (BackendConfig::Local { path }, "path") => *path = value.to_owned(),
            (BackendConfig::Pg { settings }, "conn_str" | "schema_name" | "sslrootcert") => {
                settings.insert(key.to_owned(), value.to_owned());
            }
            (BackendConfig::Local { .. }, _) => {
                return Err(format!(
                    "-backend-config: the local backend has no setting \"{key}\" (it has \"path\")"
                ));
            }
            (BackendConfig::Pg { .. }, _) => {
                return Err(format!(
                    "-backend-config: the pg backend has no setting \"{key}\" (it has \"conn_str\", \"schema_name\" and \"sslrootcert\")"
                ));
            }
        }
    }
    Ok(backend)
}

/// Whether any workspace of `backend` holds state.
fn has_state(backend: &BackendConfig) -> Result<bool, String> {
    let mut probe = backend
        .open(crate::state::DEFAULT_WORKSPACE)
        .map_err(|e| e.to_string())?;
    for workspace in probe.workspaces().map_err(|e| e.to_string())? {
        let mut opened = backend.open(&workspace).map_err(|e| e.to_string())?;
        if opened.read().map_err(|e| e.to_string())?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Copies every workspace from `from` to `to`, lineage, serial and history intact. A target
/// workspace may already hold an older serial of the same lineage (a previous migration);
/// anything else there is refused rather than overwritten.
fn migrate(
    from: &BackendConfig,
    to: &BackendConfig,
    lock_timeout: Duration,
    ui: &Ui,
) -> Result<(), String> {
    let mut probe = from
        .open(crate::state::DEFAULT_WORKSPACE)
        .map_err(|e| e.to_string())?;
    for workspace in probe.workspaces().map_err(|e| e.to_string())? {
        let open = |backend: &BackendConfig| -> Result<LockedState, String> {
            let opened = backend.open(&workspace).map_err(|e| e.to_string())?;
            LockedState::lock(opened, "migrate-state", true, lock_timeout)
                .map_err(|e| e.to_string())
        };
        let mut source = open(from)?;
        let mut target = open(to)?;
        let Some(state) = source.backend.read().map_err(|e| e.to_string())? else {
            continue;
        };
        let stored = target.backend.read().map_err(|e| e.to_string())?;
        match &stored {
            Some(existing)
                if existing.lineage == state.lineage && existing.serial == state.serial =>
            {
                ui.out(&format!(
                    "- workspace {workspace}: already at serial {} in the new backend\n",
                    state.serial
                ));
                continue;
            }
            Some(existing)
                if existing.lineage != state.lineage || existing.serial > state.serial =>
            {
                return Err(format!(
                    "workspace {workspace}: the new backend already holds a different state (lineage {}, serial {}) than the old one (lineage {}, serial {}); nothing was overwritten. Inspect both with `patchform state pull`",
                    existing.lineage, existing.serial, state.lineage, state.serial
                ));
            }
            _ => {}
        }
        target
            .backend
            .replace(&state, stored.map(|s| s.serial))
            .map_err(|e| format!("workspace {workspace}: {e}"))?;
        ui.out(&format!(
            "- workspace {workspace}: copied serial {} (lineage {}, {} applies of history)\n",
            state.serial,
            state.lineage,
            state.history.len()
        ));
    }
    Ok(())
}

/// Resolves the backend, migrates state if asked, and records the result for later commands.
fn init_backend(args: &InitArgs, desired: &model::DesiredState, ui: &Ui) -> Result<(), String> {
    let hcl = common::hcl_backend(desired);
    let configured = with_overrides(hcl.clone(), &args.backend_config)?;
    let previous = match common::read_stored_backend()? {
        Some(stored) => stored.backend,
        // Before any init, state was wherever the default local backend keeps it.
        None => BackendConfig::Local {
            path: "patchform.pfstate".to_owned(),
        },
    };
    let (previous_live, configured_live) = (
        common::with_env(previous.clone()),
        common::with_env(configured.clone()),
    );
    ui.out(&format!(
        "\nInitializing the backend...\nUsing {}\n",
        configured_live.describe()
    ));
    if previous_live != configured_live && !args.reconfigure {
        if args.migrate_state {
            ui.out(&format!(
                "Copying state from {} to {}\n",
                previous_live.describe(),
                configured_live.describe()
            ));
            let lock_timeout = common::parse_duration(&args.lock_timeout)?;
            migrate(&previous_live, &configured_live, lock_timeout, ui)?;
        } else if has_state(&previous_live)? {
            return Err(format!(
                "the backend changed from {} to {}, and the old one holds state. Run `patchform init -migrate-state` to copy it, or `patchform init -reconfigure` to leave it behind",
                previous_live.describe(),
                configured_live.describe()
            ));
        }
    }
    // Probing the new backend creates its tables now rather than in the first real command.
    let mut opened = configured_live
        .open(crate::state::DEFAULT_WORKSPACE)
        .map_err(|e| e.to_string())?;
    opened.workspaces().map_err(|e| e.to_string())?;
    common::write_stored_backend(&StoredBackend {
        hcl_digest: common::hcl_digest(&hcl),
        backend: configured,
    })
}

/// Installs one `git::` module with git, never through a shell.
fn install(source: &module::GitSource, target: &Path) -> Result<(), String> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let run = |args: &[&str], dir: Option<&Path>| -> Result<(), String> {
        let mut command = Command::new("git");
        command.args(args).stdin(Stdio::null());
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let output = command
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`git {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    };
    let target_text = target.to_string_lossy();
    run(&["clone", "--quiet", "--", &source.url, &target_text], None)?;
    if let Some(reference) = &source.reference {
        run(
            &["checkout", "--quiet", "--detach", reference, "--"],
            Some(target),
        )?;
    }
    Ok(())
}

pub(crate) fn run(args: &InitArgs, ui: &Ui) -> Exit {
    let root = Path::new(".");
    ui.out("Initializing modules...\n");
    // Installing a module can reveal the modules it calls, so repeat until nothing is new.
    let mut installed_any = true;
    let mut upgraded = std::collections::BTreeSet::new();
    while installed_any {
        installed_any = false;
        let (config, _) = config::load(root, &LoadOptions::default());
        for call in &config.module_calls {
            let Some(git) = module::parse_git(&call.source) else {
                continue;
            };
            let target = module::install_dir(root, &call.module);
            let name = call.module.join(".");
            if target.exists() {
                if !args.upgrade || !upgraded.insert(name.clone()) {
                    continue;
                }
                if let Err(error) = std::fs::remove_dir_all(&target) {
                    ui.err(&format!(
                        "Error: cannot remove {} to upgrade it: {error}\n",
                        target.display()
                    ));
                    return Exit::Error;
                }
            }
            ui.out(&format!("- {name} in {}\n", target.display()));
            if let Err(error) = install(&git, &target) {
                ui.err(&format!(
                    "Error: installing module {name} from {} failed: {error}\n",
                    call.source
                ));
                let _ = std::fs::remove_dir_all(&target);
                return Exit::Error;
            }
            upgraded.insert(name);
            installed_any = true;
        }
    }
    let (config, mut diags) = config::load(root, &LoadOptions::default());
    let (desired, lower_diags) = model::lower(&config);
    diags.extend(lower_diags);
    let desired = match desired {
        Some(desired) if !diags.has_errors() => desired,
        _ => {
            ui.err(&render::diagnostics::human(&diags, &config.sources));
            return Exit::Error;
        }
    };
    if let Err(error) = init_backend(args, &desired, ui) {
        ui.err(&format!("Error: {error}\n"));
        return Exit::Error;
    }
    ui.out("\npatchform has been successfully initialized!\n");
    Exit::Success
}
