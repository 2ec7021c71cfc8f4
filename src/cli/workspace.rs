//! `patchform workspace new|select|list|show|delete`: several states for one configuration,
//! as Terraform's workspaces, in whichever backend is configured.

use super::common::{self, LockedState};
use super::{Exit, Ui};
use crate::config::VarInputs;
use crate::state::{DEFAULT_WORKSPACE, State, check_workspace_name};

#[derive(Debug, clap::Args)]
pub(crate) struct WorkspaceArgs {
    #[command(subcommand)]
    command: WorkspaceCommand,
}

#[derive(Debug, clap::Args)]
struct LockFlags {
    /// Take the state lock (on by default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    lock: bool,
    /// How long to wait for the state lock.
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    lock_timeout: String,
}

#[derive(Debug, clap::Subcommand)]
enum WorkspaceCommand {
    /// Create a workspace with an empty state and select it.
    New {
        name: String,
        #[command(flatten)]
        lock: LockFlags,
    },
    /// Make NAME the current workspace (stored in .patchform/environment).
    Select { name: String },
    /// List workspaces; the current one is marked with `*`.
    List,
    /// Print the current workspace.
    Show,
    /// Delete a workspace and its state; refuses the current one, and a non-empty state
    /// unless -force.
    Delete {
        name: String,
        /// Delete even though the state records scans, hosts or applies.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        lock: LockFlags,
    },
}

pub(crate) fn run(args: &WorkspaceArgs, vars: VarInputs, ui: &Ui) -> Exit {
    match execute(args, vars, ui) {
        Ok(()) => Exit::Success,
        Err(Some(message)) => {
            ui.err(&format!("Error: {message}\n"));
            Exit::Error
        }
        Err(None) => Exit::Error,
    }
}

/// `Err(None)`: the configuration did not load and its diagnostics are printed already.
fn execute(args: &WorkspaceArgs, vars: VarInputs, ui: &Ui) -> Result<(), Option<String>> {
    let desired = common::load_desired(vars, ui).map_err(|_| None)?;
    let backend = common::configured_backend(&desired)?;
    let current = common::current_workspace()?;
    let existing = backend
        .open(DEFAULT_WORKSPACE)
        .and_then(|mut b| b.workspaces())
        .map_err(|e| e.to_string())?;
    match &args.command {
        WorkspaceCommand::New { name, lock } => {
            check_workspace_name(name).map_err(|e| e.to_string())?;
            if existing.contains(name) {
                return Err(Some(format!("workspace \"{name}\" already exists")));
            }
            let timeout = common::parse_duration(&lock.lock_timeout)?;
            let opened = backend.open(name).map_err(|e| e.to_string())?;
            let mut locked = LockedState::lock(opened, "workspace new", lock.lock, timeout)
                .map_err(|e| e.to_string())?;
            // An empty state (serial 0) is what makes the workspace exist in either backend.
            locked
                .backend
                .replace(&State::new(State::new_lineage()), None)
                .map_err(|e| e.to_string())?;
            common::select_workspace(name)?;
            ui.out(&format!("Created and switched to workspace \"{name}\".\n"));
            warn_if_overridden(ui);
        }
        WorkspaceCommand::Select { name } => {
            check_workspace_name(name).map_err(|e| e.to_string())?;
            if !existing.contains(name) {
                return Err(Some(format!(
                    "workspace \"{name}\" does not exist; create it with `patchform workspace new {name}`"
                )));
            }
            common::select_workspace(name)?;
            ui.out(&format!("Switched to workspace \"{name}\".\n"));
            warn_if_overridden(ui);
        }
        WorkspaceCommand::List => {
            let mut text = String::new();
            for name in &existing {
                let marker = if *name == current { '*' } else { ' ' };
                text.push_str(&format!("{marker} {name}\n"));
            }
            ui.out(&text);
        }
        WorkspaceCommand::Show => ui.out(&format!("{current}\n")),
        WorkspaceCommand::Delete { name, force, lock } => {
            check_workspace_name(name).map_err(|e| e.to_string())?;
            if *name == current {
                return Err(Some(format!(
                    "workspace \"{name}\" is the current workspace; select another one before deleting it"
                )));
            }
            if name == DEFAULT_WORKSPACE {
                return Err(Some("the default workspace cannot be deleted".to_owned()));
            }
            if !existing.contains(name) {
                return Err(Some(format!("workspace \"{name}\" does not exist")));
            }
            let timeout = common::parse_duration(&lock.lock_timeout)?;
            let opened = backend.open(name).map_err(|e| e.to_string())?;
            let mut locked = LockedState::lock(opened, "workspace delete", lock.lock, timeout)
                .map_err(|e| e.to_string())?;
            let state = locked.backend.read().map_err(|e| e.to_string())?;
            if state.as_ref().is_some_and(|s| !s.is_empty()) && !force {
                return Err(Some(format!(
                    "workspace \"{name}\" is not empty: its state records scans, hosts or applies. Delete it anyway with -force"
                )));
            }
            locked
                .backend
                .delete_workspace()
                .map_err(|e| e.to_string())?;
            ui.out(&format!("Deleted workspace \"{name}\".\n"));
        }
    }
    Ok(())
}

fn warn_if_overridden(ui: &Ui) {
    if common::workspace_from_env() {
        ui.err("Warning: PATCHFORM_WORKSPACE is set and decides the workspace while it is.\n");
    }
}
