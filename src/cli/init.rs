//! `patchform init`: download `git::` module sources into `.patchform/modules`.

use super::{Exit, Ui};
use crate::config::{self, LoadOptions, module};
use crate::render;
use std::path::Path;
use std::process::{Command, Stdio};

#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// Re-download modules that are already installed.
    #[arg(long)]
    upgrade: bool,
    /// Accepted for Terraform compatibility: init never asks questions.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    input: bool,
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
    let (config, diags) = config::load(root, &LoadOptions::default());
    if diags.has_errors() {
        ui.err(&render::diagnostics::human(&diags, &config.sources));
        return Exit::Error;
    }
    ui.out("\npatchform has been successfully initialized!\n");
    Exit::Success
}
