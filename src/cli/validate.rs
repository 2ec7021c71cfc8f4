//! `patchform validate`: load and lower the configuration, report every problem.

use super::{Exit, Ui, VarFlags};
use crate::config::{self, LoadOptions, VarInputs};
use crate::{model, render};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub(crate) struct ValidateArgs {
    /// Print the result as JSON (Terraform's validate -json shape).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    vars: VarFlags,
}

pub(crate) fn run(args: &ValidateArgs, vars: VarInputs, ui: &Ui) -> Exit {
    let (config, mut diags) = config::load(Path::new("."), &LoadOptions { vars });
    // Lowering a partly broken configuration still finds its other mistakes; arguments
    // that failed to load are absent, so they are not reported twice.
    let (_, lower_diags) = model::lower(&config);
    diags.extend(lower_diags);
    diags.sort();
    if args.json {
        ui.out(&render::diagnostics::json(&diags, &config.sources));
    } else {
        ui.err(&render::diagnostics::human(&diags, &config.sources));
        if !diags.has_errors() {
            ui.out("Success! The configuration is valid.\n");
        }
    }
    if diags.has_errors() {
        Exit::Error
    } else {
        Exit::Success
    }
}
