//! `patchform windows`: the next occurrences of every maintenance window, in its own zone.

use super::common;
use super::{Exit, Ui, VarFlags};
use crate::config::VarInputs;
use std::fmt::Write as _;

#[derive(Debug, clap::Args)]
pub(crate) struct WindowsArgs {
    /// Occurrences listed per window.
    #[arg(long, default_value_t = 5)]
    count: usize,
    #[command(flatten)]
    vars: VarFlags,
}

pub(crate) fn run(args: &WindowsArgs, vars: VarInputs, ui: &Ui) -> Exit {
    let desired = match common::load_desired(vars, ui) {
        Ok(desired) => desired,
        Err(exit) => return exit,
    };
    let now = jiff::Timestamp::now();
    let mut out = String::new();
    if desired.windows.is_empty() {
        out.push_str("No maintenance windows are declared.\n");
    }
    for window in desired.windows.values() {
        let spec = window.window.spec();
        let zone = spec.time_zone.iana_name().unwrap_or("UTC");
        let _ = writeln!(
            out,
            "{} ({}, {zone}, {} h, cutoff {} h)",
            window.address, spec.schedule, spec.duration, spec.cutoff
        );
        let _ = writeln!(
            out,
            "  targets: {}",
            if window.targets.is_empty() {
                "(none)".to_owned()
            } else {
                window.targets.join(", ")
            }
        );
        if let Some(open) = window.window.open_occurrence(now) {
            let _ = writeln!(
                out,
                "  OPEN NOW until {}, no new hosts after {}",
                open.end, open.cutoff_at
            );
        }
        let occurrences = window.window.next_occurrences(now, args.count);
        if occurrences.is_empty() {
            out.push_str("  no future occurrence (disabled or past its end_date)\n");
        }
        for occurrence in occurrences {
            let _ = writeln!(
                out,
                "  {}  until {}  (cutoff {})",
                occurrence.start, occurrence.end, occurrence.cutoff_at
            );
        }
        out.push('\n');
    }
    ui.out(&out);
    Exit::Success
}
