//! One host's steps: pre_hook, install, reboot and wait, post_hook, health check, verify.

use super::{ApplyOptions, Event, FailureClass, HostOutcome, HostReport, PackageState, Stop};
use crate::model;
use crate::pkg::apt::{self, DpkgState};
use crate::pkg::{PackageName, Version};
use crate::plan::{GroupPlan, Hook, HostPlan, Plan};
use crate::transport::{Connection, RemoteCommand, Ssh, TransportError};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Pause before the first attempt to reach a rebooting host: sooner, the old sshd may still
/// answer and cost a whole handshake for nothing.
const REBOOT_FIRST_POLL: Duration = Duration::from_secs(1);
/// Pause between later attempts.
const REBOOT_POLL: Duration = Duration::from_millis(500);
/// Lines of apt output kept in a report.
const LOG_TAIL_LINES: usize = 15;

/// Everything a host run needs, shared by all hosts of an apply.
pub(crate) struct Context<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) ssh: &'a Ssh,
    pub(crate) options: &'a ApplyOptions,
    pub(crate) events: &'a mpsc::UnboundedSender<Event>,
    pub(crate) stop: watch::Receiver<Stop>,
}

struct Failure {
    class: FailureClass,
    message: String,
}

impl From<TransportError> for Failure {
    fn from(error: TransportError) -> Failure {
        let class = match &error {
            TransportError::ConnectionLost { .. } => FailureClass::ConnectionLost,
            TransportError::TimedOut { .. } => FailureClass::Timeout,
            e if e.is_unreachable() => FailureClass::Unreachable,
            _ => FailureClass::Other,
        };
        Failure {
            class,
            message: error.to_string(),
        }
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

impl Context<'_> {
    fn step(&self, host: &str, step: &'static str) {
        let _ = self.events.send(Event::Step {
            host: host.to_owned(),
            step,
        });
    }

    /// Whether the run must stop before the next step: a second interrupt, or the cutoff of
    /// a `CANCEL_TASK` window.
    fn must_stop(&self, group: Option<&GroupPlan>) -> Option<String> {
        if *self.stop.borrow() == Stop::Cancel {
            return Some("stopped at a safe point after a second interrupt".to_owned());
        }
        let group = group?;
        if group.cutoff_behavior == model::CutoffBehavior::CancelTask
            && self.options.window == super::WindowPolicy::Enforce
            && super::executor::past_cutoff(group, jiff::Timestamp::now())
        {
            return Some("the window's cutoff was reached (CANCEL_TASK)".to_owned());
        }
        None
    }
}

/// Runs one host to its end. Never panics; every problem becomes the host's outcome.
pub(crate) async fn run_host(
    context: &Context<'_>,
    host_plan: &HostPlan,
    group: Option<&GroupPlan>,
    connection_host: &model::Host,
) -> HostReport {
    let mut report = HostReport::new(
        &host_plan.name,
        host_plan.group.as_deref(),
        HostOutcome::Succeeded,
        context.plan,
    );
    report.started_at = Some(jiff::Timestamp::now());
    let result = steps(context, host_plan, group, connection_host, &mut report).await;
    report.outcome = match result {
        Ok(()) => HostOutcome::Succeeded,
        Err(Outcome::Failed(failure)) => HostOutcome::Failed {
            class: failure.class,
            message: failure.message,
        },
        Err(Outcome::Skipped(reason)) => HostOutcome::Skipped { reason },
    };
    report.finished_at = Some(jiff::Timestamp::now());
    report
}

enum Outcome {
    Failed(Failure),
    Skipped(String),
}

impl From<Failure> for Outcome {
    fn from(failure: Failure) -> Outcome {
        Outcome::Failed(failure)
    }
}

impl From<TransportError> for Outcome {
    fn from(error: TransportError) -> Outcome {
        Outcome::Failed(error.into())
    }
}

async fn run_hook(
    connection: &Connection,
    hook: &Hook,
    name: &'static str,
    timeout: Duration,
) -> Result<(), String> {
    // The hook is the user's own shell command, run by `eval`: nothing a host printed is ever
    // part of it. It travels on stdin, not as an argument, because it may hold sensitive
    // values and every user of the host can read process arguments.
    let command = RemoteCommand::new(name, "hook=$(cat); eval \"$hook\"", timeout)
        .stdin(hook.command.clone());
    match connection.run(&command).await {
        Ok(output) if output.status == 0 => Ok(()),
        Ok(output) => Err(format!(
            "`{}` exited with status {}: {}",
            hook.display,
            output.status,
            tail(output.stderr.trim())
        )),
        Err(error) => Err(error.to_string()),
    }
}

async fn steps(
    context: &Context<'_>,
    host_plan: &HostPlan,
    group: Option<&GroupPlan>,
    connection_host: &model::Host,
    report: &mut HostReport,
) -> Result<(), Outcome> {
    let host = host_plan.name.as_str();
    let options = context.options;
    context.step(host, "connect");
    let mut connection = context.ssh.connect(connection_host).await?;

    if let Some(hook) = &host_plan.pre_hook {
        context.step(host, "pre_hook");
        if let Err(message) = run_hook(&connection, hook, "pre_hook", options.command_timeout).await
        {
            connection.close().await;
            return Err(Outcome::Skipped(format!(
                "pre_hook failed, host not patched: {message}"
            )));
        }
    }
    if let Some(reason) = context.must_stop(group) {
        connection.close().await;
        return Err(Failure {
            class: FailureClass::Cancelled,
            message: reason,
        }
        .into());
    }

    let wanted: Vec<String> = host_plan
        .changes
        .iter()
        .map(|c| format!("{}={}", c.name, c.to))
        .collect();
    context.step(host, "simulate");
    let simulate = RemoteCommand::new(
        "apt-get -s install",
        apt::SIMULATE_INSTALL_SCRIPT,
        options.command_timeout,
    )
    .args(wanted.clone());
    let simulated = connection.run(&simulate).await?;
    if simulated.status != 0 {
        let class = match apt::classify_install_failure(&simulated.stdout) {
            apt::InstallFailure::DependencyConflict => FailureClass::DependencyConflict,
            _ => FailureClass::Other,
        };
        report.log_tail = Some(tail(&format!("{}{}", simulated.stdout, simulated.stderr)));
        connection.close().await;
        return Err(Failure {
            class,
            message: format!(
                "apt cannot install the planned versions on {host} (status {})",
                simulated.status
            ),
        }
        .into());
    }
    let lines: Vec<&str> = simulated.stdout.lines().collect();
    let installs = apt::parse_simulation(1, &lines).map_err(|e| Failure {
        class: FailureClass::Other,
        message: format!("unexpected output of `apt-get -s install` on {host}: {e}"),
    })?;
    let planned: BTreeMap<&str, &Version> = host_plan
        .changes
        .iter()
        .map(|c| (c.name.as_str(), &c.to))
        .collect();
    // Nothing that was not reviewed is ever installed: apt must want exactly the plan.
    if let Some(extra) = installs
        .iter()
        .find(|i| planned.get(i.name.as_str()) != Some(&&i.to))
    {
        connection.close().await;
        return Err(Failure {
            class: FailureClass::DependencyConflict,
            message: format!("apt would also install {}={} on {host}, which the plan does not include; run `patchform plan` again", extra.name, extra.to),
        }
        .into());
    }

    context.step(host, "install");
    let lock_seconds = options.dpkg_lock_timeout.as_secs().to_string();
    let install = RemoteCommand::new(
        "apt-get install",
        apt::INSTALL_SCRIPT,
        options.install_timeout,
    )
    .env("PF_LOCK_TIMEOUT", lock_seconds)
    .args(std::iter::once(options.run_id.clone()).chain(wanted.iter().cloned()));
    let installed = connection.run(&install).await;
    let install_failure = match installed {
        Ok(output) if output.status == 0 => None,
        Ok(output) => {
            report.log_tail = Some(tail(&output.stdout));
            let class = match apt::classify_install_failure(&output.stdout) {
                apt::InstallFailure::DpkgLock => FailureClass::DpkgLock,
                apt::InstallFailure::Download => FailureClass::Download,
                apt::InstallFailure::DependencyConflict => FailureClass::DependencyConflict,
                apt::InstallFailure::MaintainerScript => FailureClass::MaintainerScript,
                apt::InstallFailure::Other => FailureClass::Other,
            };
            Some(Failure {
                class,
                message: format!(
                    "apt-get install on {host} exited with status {}",
                    output.status
                ),
            })
        }
        Err(error) => Some(Failure::from(error)),
    };
    if let Some(failure) = install_failure {
        // Read back what dpkg did, if the host still answers, so the report is exact.
        if failure.class != FailureClass::ConnectionLost
            && let Ok(verified) = verify(&connection, host_plan, options).await
        {
            record_packages(report, host_plan, &verified);
        }
        connection.close().await;
        return Err(failure.into());
    }

    if let Some(reboot) = &host_plan.reboot {
        let required = match reboot.option {
            model::RebootOption::Always => true,
            _ => {
                let check = RemoteCommand::new(
                    "check reboot-required",
                    apt::REBOOT_REQUIRED_SCRIPT,
                    options.command_timeout,
                );
                connection.run(&check).await?.stdout.trim() == "yes"
            }
        };
        if required {
            if let Some(reason) = context.must_stop(group) {
                connection.close().await;
                return Err(Failure {
                    class: FailureClass::Cancelled,
                    message: format!("{reason}; the host was patched but not rebooted"),
                }
                .into());
            }
            context.step(host, "reboot");
            connection = reboot_and_wait(context, connection, connection_host).await?;
            report.rebooted = true;
        }
    }

    for (name, hook, class) in [
        ("post_hook", &host_plan.post_hook, FailureClass::PostHook),
        (
            "health_check",
            &host_plan.health_check,
            FailureClass::HealthCheck,
        ),
    ] {
        let Some(hook) = hook else { continue };
        context.step(host, name);
        if let Err(message) = run_hook(&connection, hook, name, options.command_timeout).await {
            connection.close().await;
            return Err(Failure { class, message }.into());
        }
    }

    context.step(host, "verify");
    let verified = verify(&connection, host_plan, options).await;
    connection.close().await;
    let verified = verified?;
    record_packages(report, host_plan, &verified);
    let mismatched: Vec<String> = host_plan
        .changes
        .iter()
        .filter(|c| {
            let found = verified.get(&c.name);
            found.and_then(|v| v.version.as_ref()) != Some(&c.to)
                || found.and_then(|v| v.state) != Some(DpkgState::Installed)
        })
        .map(|c| c.name.as_str().to_owned())
        .collect();
    if !mismatched.is_empty() {
        return Err(Failure {
            class: FailureClass::VerificationMismatch,
            message: format!(
                "after the install, {} on {host} not at the planned version",
                mismatched.join(", ")
            ),
        }
        .into());
    }
    Ok(())
}

async fn verify(
    connection: &Connection,
    host_plan: &HostPlan,
    options: &ApplyOptions,
) -> Result<BTreeMap<PackageName, apt::VerifiedPackage>, Failure> {
    let names = host_plan.changes.iter().map(|c| c.name.as_str().to_owned());
    let command = RemoteCommand::new(
        "verify versions",
        apt::VERIFY_SCRIPT,
        options.command_timeout,
    )
    .args(names);
    let output = connection.run(&command).await?;
    apt::parse_verify(&output.stdout).map_err(|e| Failure {
        class: FailureClass::Other,
        message: format!(
            "unexpected output of the version check on {}: {e}",
            host_plan.name
        ),
    })
}

fn record_packages(
    report: &mut HostReport,
    host_plan: &HostPlan,
    verified: &BTreeMap<PackageName, apt::VerifiedPackage>,
) {
    for (result, change) in report.packages.iter_mut().zip(&host_plan.changes) {
        let found = verified.get(&change.name);
        result.state = match (
            found.and_then(|v| v.version.as_ref()),
            found.and_then(|v| v.state),
        ) {
            (Some(version), Some(DpkgState::Installed)) if *version == change.to => {
                PackageState::Installed
            }
            (Some(version), Some(state)) if *version == change.to && state.is_broken() => {
                PackageState::HalfConfigured
            }
            _ => PackageState::Failed,
        };
    }
}

/// Reboots the host and waits, within the deadline, for it to answer with a new boot_id.
async fn reboot_and_wait(
    context: &Context<'_>,
    connection: Connection,
    connection_host: &model::Host,
) -> Result<Connection, Failure> {
    let options = context.options;
    let host = connection.host().to_owned();
    let boot_id = RemoteCommand::new("read boot_id", apt::BOOT_ID_SCRIPT, options.command_timeout);
    let before = connection.run(&boot_id).await?.stdout.trim().to_owned();
    if before.is_empty() {
        connection.close().await;
        return Err(Failure {
            class: FailureClass::Other,
            message: format!("{host} printed no boot_id, so it was not rebooted"),
        });
    }
    let reboot = RemoteCommand::new("reboot", apt::REBOOT_SCRIPT, options.command_timeout);
    let answer = connection.run(&reboot).await;
    connection.close().await;
    match answer {
        Ok(output) if output.status != 0 => {
            return Err(Failure {
                class: FailureClass::Other,
                message: format!(
                    "reboot on {host} exited with status {}: {}",
                    output.status,
                    tail(output.stderr.trim())
                ),
            });
        }
        // A reboot that won the race against its own answer looks like a lost connection:
        // the new boot_id below is what tells.
        Ok(_) | Err(TransportError::ConnectionLost { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    context.step(&host, "wait_for_boot");
    let deadline = Instant::now() + options.reboot_timeout;
    let mut pause = REBOOT_FIRST_POLL;
    loop {
        tokio::time::sleep(pause).await;
        pause = REBOOT_POLL;
        if Instant::now() >= deadline {
            return Err(Failure {
                class: FailureClass::RebootTimeout,
                message: format!(
                    "{host} did not come back with a new boot_id within {:?}",
                    options.reboot_timeout
                ),
            });
        }
        let Ok(connection) = context.ssh.connect(connection_host).await else {
            continue;
        };
        match connection.run(&boot_id).await {
            Ok(output)
                if output.status == 0
                    && !output.stdout.trim().is_empty()
                    && output.stdout.trim() != before =>
            {
                return Ok(connection);
            }
            _ => connection.close().await,
        }
    }
}
