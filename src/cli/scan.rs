//! `patchform scan`: read every host's packages and pending updates, record them in state,
//! print compliance per group.

use super::common::{self, LockedState};
use super::{Exit, Ui, VarFlags};
use crate::config::VarInputs;
use crate::inventory::{CacheMode, ScanOptions};
use crate::render;
use crate::transport::HostKeyPolicy;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct ScanArgs {
    /// Also write the inventory snapshot to FILE (usable later as `plan -inventory=FILE`).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Hosts scanned at once.
    #[arg(long, default_value_t = 20)]
    parallelism: usize,
    /// Run `apt-get update` on each host first.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    refresh_cache: bool,
    /// Limit the scan to host.NAME or patch_group.NAME (repeatable).
    #[arg(long = "target", value_name = "ADDRESS")]
    targets: Vec<String>,
    /// Record host keys of hosts never seen before instead of refusing them.
    #[arg(long)]
    accept_new_host_keys: bool,
    /// Take the state lock (on by default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    lock: bool,
    /// How long to wait for the state lock.
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    lock_timeout: String,
    /// Deadline of each remote command.
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    command_timeout: String,
    #[command(flatten)]
    vars: VarFlags,
}

pub(crate) fn run(args: &ScanArgs, vars: VarInputs, ui: &Ui) -> Exit {
    let desired = match common::load_desired(vars, ui) {
        Ok(desired) => desired,
        Err(exit) => return exit,
    };
    let fail = |message: String| {
        ui.err(&format!("Error: {message}\n"));
        Exit::Error
    };
    let (lock_timeout, command_timeout) = match (
        common::parse_duration(&args.lock_timeout),
        common::parse_duration(&args.command_timeout),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let hosts = match common::targeted_hosts(&desired, &args.targets) {
        Ok(hosts) => hosts,
        Err(e) => return fail(e),
    };
    let host_keys = if args.accept_new_host_keys {
        ui.err("Warning: -accept-new-host-keys: keys of hosts never seen before are accepted and recorded.\n");
        HostKeyPolicy::AcceptNew
    } else {
        HostKeyPolicy::Strict
    };
    let mut locked = match LockedState::acquire(&desired, "scan", args.lock, lock_timeout) {
        Ok(locked) => locked,
        Err(e) => return fail(e.to_string()),
    };
    let mut state = match locked.read_or_new() {
        Ok(state) => state,
        Err(e) => return fail(e.to_string()),
    };
    let options = ScanOptions {
        parallelism: args.parallelism,
        cache: if args.refresh_cache {
            CacheMode::Refresh
        } else {
            CacheMode::UseExisting
        },
        command_timeout,
    };
    let inventory = match common::scan_and_record(
        &desired,
        &hosts,
        host_keys,
        &options,
        &mut locked,
        &mut state,
        ui,
    ) {
        Ok(inventory) => inventory,
        Err(e) => return fail(e),
    };
    if let Some(path) = &args.out
        && let Err(e) = common::write_private(
            path,
            &(serde_json::to_string_pretty(&inventory).unwrap_or_default() + "\n"),
        )
    {
        return fail(e);
    }
    let merged = state.last_scan.as_ref().unwrap_or(&inventory);
    let report = crate::compliance::report(&desired, merged, &state, jiff::Timestamp::now());
    ui.out(&render::compliance::table(&report));
    Exit::Success
}
