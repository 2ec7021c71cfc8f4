//! `patchform state pull|push|list|show` and `patchform force-unlock`: read, replace and
//! unlock the current workspace's state, in whichever backend is configured.

use super::common::{self, LockedState};
use super::{Exit, Ui};
use crate::config::VarInputs;
use crate::inventory::HostFacts;
use crate::state::{Force, State, check_push};
use std::io::Read as _;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct StateArgs {
    #[command(subcommand)]
    command: StateCommand,
}

#[derive(Debug, clap::Subcommand)]
enum StateCommand {
    /// Print the current state as JSON.
    Pull,
    /// Replace the current state with FILE (`-` for standard input). The lineage must match
    /// and the serial must be higher, unless -force.
    Push {
        file: PathBuf,
        /// Push a state of another lineage, or a serial that is not higher.
        #[arg(long)]
        force: bool,
        /// Take the state lock (on by default).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
        lock: bool,
        /// How long to wait for the state lock.
        #[arg(long, default_value = "0s", value_name = "DURATION")]
        lock_timeout: String,
    },
    /// List the addresses of the hosts recorded in state.
    List,
    /// Show one host's record and the summary of its last scan: host.NAME or NAME.
    Show { address: String },
}

#[derive(Debug, clap::Args)]
pub(crate) struct ForceUnlockArgs {
    /// The lock ID a refused command printed.
    id: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    force: bool,
}

pub(crate) fn run(args: &StateArgs, vars: VarInputs, ui: &Ui) -> Exit {
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
fn execute(args: &StateArgs, vars: VarInputs, ui: &Ui) -> Result<(), Option<String>> {
    let desired = common::load_desired(vars, ui).map_err(|_| None)?;
    match &args.command {
        StateCommand::Push {
            file,
            force,
            lock,
            lock_timeout,
        } => {
            let mut text = String::new();
            let read = if file.as_os_str() == "-" {
                std::io::stdin().read_to_string(&mut text).map(|_| ())
            } else {
                std::fs::read_to_string(file).map(|t| text = t)
            };
            read.map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let state = State::from_json(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            let timeout = common::parse_duration(lock_timeout)?;
            let mut locked = LockedState::acquire(&desired, "state push", *lock, timeout)
                .map_err(|e| e.to_string())?;
            let stored = locked.backend.read().map_err(|e| e.to_string())?;
            let force = if *force { Force::Yes } else { Force::No };
            check_push(stored.as_ref(), &state, force).map_err(|e| e.to_string())?;
            locked
                .backend
                .replace(&state, stored.map(|s| s.serial))
                .map_err(|e| e.to_string())?;
            ui.err(&format!(
                "Pushed state serial {} (lineage {}) to {}.\n",
                state.serial,
                state.lineage,
                locked.backend.describe()
            ));
        }
        StateCommand::Pull => {
            let mut backend = common::open_backend(&desired)?;
            if let Some(state) = backend.read().map_err(|e| e.to_string())? {
                ui.out(&state.to_json());
            }
        }
        StateCommand::List => {
            let state = read(&desired)?;
            let mut text = String::new();
            for name in host_names(&state) {
                text.push_str(&format!("host.{name}\n"));
            }
            ui.out(&text);
        }
        StateCommand::Show { address } => {
            let state = read(&desired)?;
            let name = address.strip_prefix("host.").unwrap_or(address);
            if !host_names(&state).contains(&name) {
                return Err(Some(format!("no host \"{name}\" in state")));
            }
            ui.out(&show_host(&state, name));
        }
    }
    Ok(())
}

fn read(desired: &crate::model::DesiredState) -> Result<State, String> {
    let mut backend = common::open_backend(desired)?;
    Ok(backend
        .read()
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| State::new(String::new())))
}

/// Hosts with a record or in the last scan, sorted and unique.
fn host_names(state: &State) -> std::collections::BTreeSet<&str> {
    let mut names: std::collections::BTreeSet<&str> =
        state.hosts.keys().map(String::as_str).collect();
    if let Some(scan) = &state.last_scan {
        names.extend(scan.hosts.keys().map(String::as_str));
    }
    names
}

fn show_host(state: &State, name: &str) -> String {
    let mut text = format!("# host.{name}\n");
    if let Some(record) = state.hosts.get(name) {
        let last_apply = record
            .last_apply
            .map_or("never".to_owned(), |t| t.to_string());
        text.push_str(&format!("last_apply      = {last_apply}\n"));
        let failed: Vec<&str> = record.failed_packages.iter().map(|p| p.as_str()).collect();
        text.push_str(&format!("failed_packages = [{}]\n", failed.join(", ")));
    }
    let Some(scan) = &state.last_scan else {
        return text;
    };
    let Some(facts) = scan.hosts.get(name) else {
        return text;
    };
    text.push_str(&format!("\n## last scan ({})\n", scan.scanned_at));
    match facts {
        HostFacts::Unreachable { reason } => {
            text.push_str(&format!("result          = unreachable: {reason}\n"));
        }
        HostFacts::Failed { reason } => {
            text.push_str(&format!("result          = failed: {reason}\n"));
        }
        HostFacts::Scanned(snapshot) => {
            text.push_str(&format!(
                "result          = scanned\nos              = {}\nrunning_kernel  = {}\nreboot_required = {}\ninstalled       = {} packages\npending         = {} updates\n",
                snapshot.os.pretty_name,
                snapshot.running_kernel,
                snapshot.reboot_required,
                snapshot.installed.len(),
                snapshot.updates.len()
            ));
            for (package, update) in &snapshot.updates {
                let from = update
                    .installed
                    .as_ref()
                    .map_or("(new)".to_owned(), |v| v.to_string());
                text.push_str(&format!(
                    "  {} {from} -> {}\n",
                    package.as_str(),
                    update.candidate
                ));
            }
        }
    }
    text
}

pub(crate) fn force_unlock(args: &ForceUnlockArgs, vars: VarInputs, ui: &Ui) -> Exit {
    let fail = |message: String| {
        ui.err(&format!("Error: {message}\n"));
        Exit::Error
    };
    let desired = match common::load_desired(vars, ui) {
        Ok(desired) => desired,
        Err(exit) => return exit,
    };
    let mut backend = match common::open_backend(&desired) {
        Ok(backend) => backend,
        Err(e) => return fail(e),
    };
    if !args.force {
        ui.out(&format!(
            "Do you really want to force-unlock {}?\n  A command still holding this lock is stopped (PostgreSQL) or may\n  write concurrently (local file). Only 'yes' will be accepted.\n\n  Enter a value: ",
            backend.describe()
        ));
        let mut answer = String::new();
        if std::io::stdin().read_line(&mut answer).is_err() || answer.trim() != "yes" {
            ui.err("\nforce-unlock cancelled.\n");
            return Exit::Error;
        }
    }
    match backend.force_unlock(&args.id) {
        Ok(()) => {
            ui.out(&format!("The state lock {} has been released.\n", args.id));
            Exit::Success
        }
        Err(e) => fail(e.to_string()),
    }
}
