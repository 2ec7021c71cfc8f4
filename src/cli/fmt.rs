//! `patchform fmt`: rewrite HCL files in the canonical style, with Terraform's exit codes.

use super::{Exit, Ui};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub(crate) struct FmtArgs {
    /// Files or directories to format (default: the working directory).
    targets: Vec<PathBuf>,
    /// Do not write; exit 3 when any file is not formatted.
    #[arg(long)]
    check: bool,
    /// Print the changes as a unified diff.
    #[arg(long)]
    diff: bool,
    /// Also format files in subdirectories.
    #[arg(long)]
    recursive: bool,
    /// Whether to list files whose formatting changed.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    list: bool,
    /// Whether to write the result back (ignored with -check).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    write: bool,
}

fn is_hcl(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".hcl") || name.ends_with(".pfvars")
}

fn collect(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if path.is_dir() {
            if recursive && !hidden {
                collect(&path, recursive, out)?;
            }
        } else if is_hcl(&path) {
            out.push(path);
        }
    }
    Ok(())
}

pub(crate) fn run(args: &FmtArgs, ui: &Ui) -> Exit {
    let targets = if args.targets.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.targets.clone()
    };
    let mut files = Vec::new();
    for target in &targets {
        let result = if target.is_dir() {
            collect(target, args.recursive, &mut files)
        } else {
            files.push(target.clone());
            Ok(())
        };
        if let Err(error) = result {
            ui.err(&format!(
                "Error: cannot read {}: {error}\n",
                target.display()
            ));
            return Exit::Error;
        }
    }
    let mut unformatted = false;
    let mut parse_failed = false;
    for path in files {
        let display = path
            .strip_prefix("./")
            .unwrap_or(&path)
            .display()
            .to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) => {
                ui.err(&format!("Error: cannot read {display}: {error}\n"));
                return Exit::Error;
            }
        };
        let formatted = match crate::config::fmt::format_source(&text) {
            Ok(formatted) => formatted,
            Err(error) => {
                let location = error.location();
                ui.err(&format!(
                    "Error: Invalid HCL syntax\n  --> {display}:{}:{}\n{}. Fix the syntax, then run fmt again.\n\n",
                    location.line(),
                    location.column(),
                    error.message()
                ));
                parse_failed = true;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        unformatted = true;
        if args.list {
            ui.out(&format!("{display}\n"));
        }
        if args.diff {
            let diff = similar::TextDiff::from_lines(&text, &formatted);
            ui.out(
                &diff
                    .unified_diff()
                    .header(&format!("old/{display}"), &format!("new/{display}"))
                    .to_string(),
            );
        }
        if args.write
            && !args.check
            && let Err(error) = std::fs::write(&path, &formatted)
        {
            ui.err(&format!("Error: cannot write {display}: {error}\n"));
            return Exit::Error;
        }
    }
    if parse_failed {
        Exit::ChangesOrParseError
    } else if args.check && unformatted {
        Exit::Unformatted
    } else {
        Exit::Success
    }
}
