//! `patchform report`: compliance from the last scan recorded in state, in several formats.

use super::common;
use super::{Exit, Ui, VarFlags};
use crate::config::VarInputs;
use crate::render;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
    Junit,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Read a saved inventory snapshot instead of the last scan in state.
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,
    #[command(flatten)]
    vars: VarFlags,
}

pub(crate) fn run(args: &ReportArgs, vars: VarInputs, ui: &Ui) -> Exit {
    let desired = match common::load_desired(vars, ui) {
        Ok(desired) => desired,
        Err(exit) => return exit,
    };
    let fail = |message: String| {
        ui.err(&format!("Error: {message}\n"));
        Exit::Error
    };
    let mut backend = match common::open_backend(&desired) {
        Ok(backend) => backend,
        Err(e) => return fail(e),
    };
    let state = match backend.read() {
        Ok(state) => state.unwrap_or_else(|| crate::state::State::new(String::new())),
        Err(e) => return fail(e.to_string()),
    };
    let inventory = match &args.inventory {
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| crate::inventory::Inventory::from_json(&t))
        {
            Ok(inventory) => inventory,
            Err(e) => return fail(format!("cannot read inventory {}: {e}", path.display())),
        },
        None => match state.last_scan.clone() {
            Some(inventory) => inventory,
            None => {
                return fail("the state has no scan yet; run `patchform scan` first".to_owned());
            }
        },
    };
    let report = crate::compliance::report(&desired, &inventory, &state, jiff::Timestamp::now());
    let text = match args.format {
        Format::Table => render::compliance::table(&report),
        Format::Json => render::compliance::json(&report),
        Format::Csv => render::compliance::csv(&report),
        Format::Junit => render::compliance::junit(&report),
        Format::Markdown => render::compliance::markdown(&report),
    };
    match &args.out {
        Some(path) => match common::write_private(path, &text) {
            Ok(()) => Exit::Success,
            Err(e) => fail(e),
        },
        None => {
            ui.out(&text);
            Exit::Success
        }
    }
}
