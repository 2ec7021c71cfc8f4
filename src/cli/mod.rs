//! The command line: parses arguments, runs one subcommand, prints, and picks the exit code.
//!
//! This is the only module that prints or reads the process environment. Flags are
//! Terraform's, so `-chdir=DIR` and `-var x=1` work as they do there (single-dash long flags
//! are accepted as well as the usual `--` form).

mod apply;
mod common;
mod fmt;
mod init;
mod plan;
mod progress;
mod report;
mod scan;
mod state;
mod validate;
mod windows;
mod workspace;

use crate::config::{VarArg, VarInputs};
use clap::{CommandFactory, Parser, Subcommand};
use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit statuses shared by every subcommand, as Terraform uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Error = 1,
    /// `plan -detailed-exitcode` with changes; `fmt` on a parse error.
    ChangesOrParseError = 2,
    /// `fmt -check` found files that are not formatted.
    Unformatted = 3,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "patchform",
    version,
    about = "Plan and apply operating-system patches over SSH, declared in HCL",
    propagate_version = true
)]
pub struct Args {
    /// Switch to DIR before doing anything else.
    #[arg(long, global = true, value_name = "DIR")]
    chdir: Option<PathBuf>,
    /// Never use colour (also NO_COLOR=1; colour is off when output is not a terminal).
    #[arg(long, global = true)]
    no_color: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install the modules the configuration calls (git:: sources) into .patchform/modules.
    Init(init::InitArgs),
    /// Check the configuration for errors without contacting any host.
    Validate(validate::ValidateArgs),
    /// Rewrite HCL files in the canonical format, keeping comments.
    Fmt(fmt::FmtArgs),
    /// Read every host's packages and pending updates over SSH; record them in state.
    Scan(scan::ScanArgs),
    /// Compliance from the last scan, as a table, JSON, CSV, JUnit or Markdown.
    Report(report::ReportArgs),
    /// Scan, evaluate baselines and show the exact changes per host, in order.
    Plan(plan::PlanArgs),
    /// Apply a saved plan, or plan and apply after approval.
    Apply(Box<apply::ApplyArgs>),
    /// Render a saved plan (human, Markdown or JSON).
    Show(plan::ShowArgs),
    /// Print the step graph as DOT.
    Graph(plan::GraphArgs),
    /// List each maintenance window's next occurrences in its own time zone.
    Windows(windows::WindowsArgs),
    /// Read or replace the state: pull, push, list, show.
    State(state::StateArgs),
    /// Manage workspaces, each with its own state: new, select, list, show, delete.
    Workspace(workspace::WorkspaceArgs),
    /// Release a state lock left by a command that died, given its lock ID.
    ForceUnlock(state::ForceUnlockArgs),
    /// Print the version.
    Version,
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// Variable flags shared by commands that evaluate the configuration.
#[derive(Debug, clap::Args, Default)]
struct VarFlags {
    /// Set a root variable: -var 'name=value'. Repeatable; later values win.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Read variable values from an HCL file. Repeatable; later files win.
    #[arg(long = "var-file", value_name = "FILE")]
    var_files: Vec<PathBuf>,
}

/// Turns Terraform-style `-flag` into `--flag` so clap accepts both spellings.
fn normalize(argv: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut after_separator = false;
    argv.into_iter()
        .enumerate()
        .map(|(i, arg)| {
            let text = arg.to_string_lossy();
            if i == 0 || after_separator {
                return arg;
            }
            if text == "--" {
                after_separator = true;
                return arg;
            }
            let is_single_dash_long = text.starts_with('-')
                && !text.starts_with("--")
                && text.len() > 2
                && text[1..].starts_with(|c: char| c.is_ascii_alphabetic());
            if is_single_dash_long {
                let mut long = OsString::from("-");
                long.push(&arg);
                long
            } else {
                arg
            }
        })
        .collect()
}

/// `-var` and `-var-file` in command-line order, which decides precedence between them.
fn var_inputs(argv: &[OsString]) -> VarInputs {
    let mut args = Vec::new();
    let mut tokens = argv.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(token) = tokens.next() {
        let (flag, inline) = match token.split_once('=') {
            Some((flag, value)) if flag == "--var" || flag == "--var-file" => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (token.clone(), None),
        };
        let value = match flag.as_str() {
            "--var" | "--var-file" => inline.or_else(|| tokens.next()),
            _ => continue,
        };
        let Some(value) = value else { continue };
        if flag == "--var-file" {
            args.push(VarArg::File(PathBuf::from(value)));
        } else if let Some((name, raw)) = value.split_once('=') {
            args.push(VarArg::Assign {
                name: name.to_owned(),
                raw: raw.to_owned(),
            });
        }
    }
    VarInputs {
        args,
        env: Vec::new(),
    }
    .with_env(std::env::vars())
}

/// Output streams and colour choice for one run.
pub(crate) struct Ui {
    color: anstream::ColorChoice,
}

impl Ui {
    pub(crate) fn out(&self, text: &str) {
        let mut stdout = anstream::AutoStream::new(std::io::stdout(), self.color);
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ = stdout.write_all(text.as_bytes());
    }

    pub(crate) fn err(&self, text: &str) {
        let mut stderr = anstream::AutoStream::new(std::io::stderr(), self.color);
        let _ = stderr.write_all(text.as_bytes());
    }
}

/// Runs patchform with the given arguments (including the program name).
pub fn run(argv: impl IntoIterator<Item = OsString>) -> ExitCode {
    let argv = normalize(argv);
    let args = match Args::try_parse_from(&argv) {
        Ok(args) => args,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                Exit::Error.into()
            } else {
                Exit::Success.into()
            };
        }
    };
    let color = if args.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        anstream::ColorChoice::Never
    } else {
        anstream::ColorChoice::Auto
    };
    let ui = Ui { color };
    if let Some(dir) = &args.chdir
        && let Err(error) = std::env::set_current_dir(dir)
    {
        ui.err(&format!(
            "Error: cannot change to directory {}: {error}\n",
            dir.display()
        ));
        return Exit::Error.into();
    }
    let vars = var_inputs(&argv);
    let exit = match args.command {
        Command::Init(init_args) => init::run(&init_args, &ui),
        Command::Validate(validate_args) => validate::run(&validate_args, vars, &ui),
        Command::Fmt(fmt_args) => fmt::run(&fmt_args, &ui),
        Command::Scan(scan_args) => scan::run(&scan_args, vars, &ui),
        Command::Report(report_args) => report::run(&report_args, vars, &ui),
        Command::Plan(plan_args) => plan::run(&plan_args, vars, &ui),
        Command::Apply(apply_args) => apply::run(&apply_args, vars, &ui),
        Command::Show(show_args) => plan::show(&show_args, &ui),
        Command::Graph(graph_args) => plan::graph(&graph_args, vars, &ui),
        Command::Windows(windows_args) => windows::run(&windows_args, vars, &ui),
        Command::State(state_args) => state::run(&state_args, vars, &ui),
        Command::Workspace(workspace_args) => workspace::run(&workspace_args, vars, &ui),
        Command::ForceUnlock(unlock_args) => state::force_unlock(&unlock_args, vars, &ui),
        Command::Version => {
            ui.out(&format!("patchform v{}\n", env!("CARGO_PKG_VERSION")));
            Exit::Success
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Args::command(), "patchform", &mut out);
            ui.out(&String::from_utf8_lossy(&out));
            Exit::Success
        }
        Command::Man => {
            let mut out = Vec::new();
            match clap_mangen::Man::new(Args::command()).render(&mut out) {
                Ok(()) => {
                    ui.out(&String::from_utf8_lossy(&out));
                    Exit::Success
                }
                Err(error) => {
                    ui.err(&format!("Error: cannot render the man page: {error}\n"));
                    Exit::Error
                }
            }
        }
    };
    exit.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn single_dash_flags_become_long_flags() {
        let argv: Vec<OsString> = [
            "patchform",
            "-chdir=x",
            "validate",
            "-json",
            "-v",
            "--",
            "-keep",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let normalized: Vec<String> = normalize(argv)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            normalized,
            [
                "patchform",
                "--chdir=x",
                "validate",
                "--json",
                "-v",
                "--",
                "-keep"
            ]
        );
    }

    #[test]
    fn var_flags_keep_their_order() {
        let argv: Vec<OsString> = [
            "patchform",
            "validate",
            "--var",
            "a=1",
            "--var-file=x.pfvars",
            "--var=b=c=d",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        assert_eq!(
            var_inputs(&argv).args,
            vec![
                VarArg::Assign {
                    name: "a".into(),
                    raw: "1".into()
                },
                VarArg::File("x.pfvars".into()),
                VarArg::Assign {
                    name: "b".into(),
                    raw: "c=d".into()
                },
            ]
        );
    }
}
