//! `patchform plan`, `show` and `graph`: make a plan, render a saved one, draw its graph.

use super::common::{self, LockedState};
use super::{Exit, Ui, VarFlags};
use crate::config::VarInputs;
use crate::inventory::{CacheMode, Inventory, ScanOptions};
use crate::plan::{self, Plan, PlanOptions, planfile};
use crate::render;
use crate::transport::HostKeyPolicy;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    Human,
    Markdown,
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    /// Save the plan to FILE for `apply FILE` (mode 0600).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Exit 0 without changes, 1 on error, 2 with changes.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Plan only host.NAME or patch_group.NAME (repeatable).
    #[arg(long = "target", value_name = "ADDRESS")]
    targets: Vec<String>,
    /// Scan the hosts first (default); false plans from the last scan in state, without SSH.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    refresh: bool,
    /// Plan from a saved inventory snapshot (`scan -out`), without SSH.
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,
    /// Run `apt-get update` on each host while scanning.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    refresh_cache: bool,
    /// Hosts scanned at once.
    #[arg(long, default_value_t = 20)]
    parallelism: usize,
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    lock: bool,
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    lock_timeout: String,
    /// Accepted for Terraform compatibility: plan never asks questions.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    input: bool,
    /// Show one line counting the warnings instead of each warning.
    #[arg(long)]
    compact_warnings: bool,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[arg(long)]
    accept_new_host_keys: bool,
    #[command(flatten)]
    vars: VarFlags,
}

/// Where a plan's inventory comes from.
enum Source<'a> {
    File(&'a Path),
    LastScan,
    Scan,
}

pub(crate) fn run(args: &PlanArgs, vars: VarInputs, ui: &Ui) -> Exit {
    let fail = |message: String| {
        ui.err(&format!("Error: {message}\n"));
        Exit::Error
    };
    let lock_timeout = match common::parse_duration(&args.lock_timeout) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let plan = match make_plan(args, vars, ui, lock_timeout) {
        Ok(plan) => plan,
        Err(exit) => return exit,
    };
    match args.format {
        Format::Human if args.compact_warnings => ui.out(&render::plan::compact_warnings(&plan)),
        Format::Human => ui.out(&render::plan::human(&plan)),
        Format::Markdown => ui.out(&render::plan::markdown(&plan).join("\n---\n\n")),
        Format::Json => ui.out(&render::plan::json(&plan)),
    }
    if let Some(path) = &args.out {
        if let Err(e) =
            common::write_private(path, &String::from_utf8_lossy(&planfile::to_bytes(&plan)))
        {
            return fail(e);
        }
        ui.err(&format!(
            "\nSaved the plan to {}. Apply exactly this plan with: patchform apply {}\n",
            path.display(),
            path.display()
        ));
    }
    if args.detailed_exitcode && plan.has_changes() {
        Exit::ChangesOrParseError
    } else {
        Exit::Success
    }
}

/// Loads, reads state, gets an inventory and plans. Shared with `apply` without a plan file.
pub(crate) fn make_plan(
    args: &PlanArgs,
    vars: VarInputs,
    ui: &Ui,
    lock_timeout: std::time::Duration,
) -> Result<Plan, Exit> {
    let fail = |message: String| {
        ui.err(&format!("Error: {message}\n"));
        Exit::Error
    };
    let loaded = common::load(vars, ui)?;
    let desired = &loaded.desired;
    if let Err(e) = common::targeted_hosts(desired, &args.targets) {
        return Err(fail(e));
    }
    let source = match (&args.inventory, args.refresh) {
        (Some(path), _) => Source::File(path),
        (None, false) => Source::LastScan,
        (None, true) => Source::Scan,
    };
    // Only a plan that scans writes state (the scan result); the others just read it.
    let writes_state = matches!(source, Source::Scan);
    let mut locked = LockedState::acquire(desired, "plan", args.lock && writes_state, lock_timeout)
        .map_err(|e| fail(e.to_string()))?;
    let mut state = locked.read_or_new().map_err(|e| fail(e.to_string()))?;
    let inventory: Inventory = match source {
        Source::File(path) => std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| Inventory::from_json(&text))
            .map_err(|e| fail(format!("cannot read inventory {}: {e}", path.display())))?,
        Source::LastScan => state.last_scan.clone().ok_or_else(|| {
            fail(
                "-refresh=false needs a previous scan in state; run `patchform scan` first"
                    .to_owned(),
            )
        })?,
        Source::Scan => {
            let host_keys = if args.accept_new_host_keys {
                HostKeyPolicy::AcceptNew
            } else {
                HostKeyPolicy::Strict
            };
            let hosts = common::targeted_hosts(desired, &args.targets).map_err(fail)?;
            let options = ScanOptions {
                parallelism: args.parallelism,
                cache: if args.refresh_cache {
                    CacheMode::Refresh
                } else {
                    CacheMode::UseExisting
                },
                command_timeout: std::time::Duration::from_secs(600),
            };
            let inventory = common::scan_and_record(
                desired,
                &hosts,
                host_keys,
                &options,
                &mut locked,
                &mut state,
                ui,
            )
            .map_err(fail)?;
            state.last_scan.clone().unwrap_or(inventory)
        }
    };
    let options = PlanOptions {
        targets: args.targets.clone(),
        configuration_digest: loaded.digest.clone(),
        variables: loaded.variables.clone(),
        sensitive_values: loaded.sensitive_values.clone(),
    };
    let (plan, diags) = plan::build(
        desired,
        &inventory,
        &state,
        jiff::Timestamp::now(),
        &options,
    );
    if diags.has_errors() {
        ui.err(&render::diagnostics::human(
            &diags,
            &crate::diag::SourceMap::default(),
        ));
        return Err(Exit::Error);
    }
    Ok(plan)
}

#[derive(Debug, clap::Args)]
pub(crate) struct ShowArgs {
    /// A plan saved with `plan -out`.
    file: PathBuf,
    /// Print Terraform-shaped JSON (with format_version).
    #[arg(long)]
    json: bool,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

pub(crate) fn read_plan(path: &Path) -> Result<Plan, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read plan {}: {e}", path.display()))?;
    planfile::from_bytes(&bytes).map_err(|e| format!("cannot use plan {}: {e}", path.display()))
}

pub(crate) fn show(args: &ShowArgs, ui: &Ui) -> Exit {
    let plan = match read_plan(&args.file) {
        Ok(plan) => plan,
        Err(e) => {
            ui.err(&format!("Error: {e}\n"));
            return Exit::Error;
        }
    };
    let format = if args.json { Format::Json } else { args.format };
    match format {
        Format::Human => ui.out(&render::plan::human(&plan)),
        Format::Markdown => ui.out(&render::plan::markdown(&plan).join("\n---\n\n")),
        Format::Json => ui.out(&render::plan::json(&plan)),
    }
    Exit::Success
}

#[derive(Debug, clap::Args)]
pub(crate) struct GraphArgs {
    /// Draw a saved plan (default: plan from the last scan in state, without SSH).
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    #[command(flatten)]
    vars: VarFlags,
}

pub(crate) fn graph(args: &GraphArgs, vars: VarInputs, ui: &Ui) -> Exit {
    let plan = match &args.plan {
        Some(path) => match read_plan(path) {
            Ok(plan) => plan,
            Err(e) => {
                ui.err(&format!("Error: {e}\n"));
                return Exit::Error;
            }
        },
        None => {
            let plan_args = PlanArgs {
                out: None,
                detailed_exitcode: false,
                targets: Vec::new(),
                refresh: false,
                inventory: None,
                refresh_cache: false,
                parallelism: 1,
                lock: false,
                lock_timeout: "0s".to_owned(),
                input: false,
                compact_warnings: false,
                format: Format::Human,
                accept_new_host_keys: false,
                vars: VarFlags::default(),
            };
            match make_plan(&plan_args, vars, ui, std::time::Duration::ZERO) {
                Ok(plan) => plan,
                Err(exit) => return exit,
            }
        }
    };
    ui.out(&render::plan::dot(&plan));
    Exit::Success
}

impl PlanArgs {
    pub(crate) fn input_allowed(&self) -> bool {
        self.input
    }

    pub(crate) fn lock_enabled(&self) -> bool {
        self.lock
    }

    pub(crate) fn lock_timeout_text(&self) -> String {
        self.lock_timeout.clone()
    }
}
