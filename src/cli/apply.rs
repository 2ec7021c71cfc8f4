//! `patchform apply`: run a reviewed plan, saving state as each host finishes.

use super::common::{self, LockedState};
use super::plan::{PlanArgs, make_plan, read_plan};
use super::progress::{self, Notices, Progress};
use super::{Exit, Ui};
use crate::apply::{
    self, ApplyOptions, ApplyReport, Event, HostOutcome, HostReport, Stop, WindowPolicy,
};
use crate::config::VarInputs;
use crate::plan::{HostStatus, Plan, planfile};
use crate::render;
use crate::state::{ApplyRecord, HostApplyRecord, LockLoss, PackageApplyRecord, State};
use crate::transport::HostKeyPolicy;
use indicatif::ProgressDrawTarget;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long hosts in flight may keep going after the first interrupt before they are asked
/// to stop at their next safe point.
const DRAIN_BOUND: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ReportFormat {
    Json,
    Junit,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ApplyArgs {
    /// A plan saved with `plan -out`; applying it needs no further approval.
    file: Option<PathBuf>,
    /// Apply a fresh plan without asking.
    #[arg(long)]
    auto_approve: bool,
    /// Run outside the maintenance windows (recorded in state and report).
    #[arg(long)]
    ignore_window: bool,
    /// Write the report to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "json")]
    report_format: ReportFormat,
    /// Print machine-readable events, one JSON object per line.
    #[arg(long)]
    json: bool,
    /// How long a rebooting host may take to come back.
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    reboot_timeout: String,
    /// How long apt waits for another process holding the dpkg lock.
    #[arg(long, default_value = "2m", value_name = "DURATION")]
    dpkg_lock_timeout: String,
    /// Deadline of one host's install.
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    install_timeout: String,
    #[command(flatten)]
    plan: PlanArgs,
}

fn host_record(report: &HostReport) -> HostApplyRecord {
    let (failure_class, message) = match &report.outcome {
        HostOutcome::Succeeded => (None, None),
        HostOutcome::Failed { class, message } => {
            (Some(class.as_str().to_owned()), Some(message.clone()))
        }
        HostOutcome::Skipped { reason } | HostOutcome::NotStarted { reason } => {
            (None, Some(reason.clone()))
        }
    };
    HostApplyRecord {
        outcome: report.outcome.word().to_owned(),
        failure_class,
        message,
        started_at: report.started_at,
        finished_at: report.finished_at,
        packages: report
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    PackageApplyRecord {
                        from: p.from.clone(),
                        to: p.to.clone(),
                        state: format!("{:?}", p.state).to_uppercase(),
                    },
                )
            })
            .collect(),
        rebooted: report.rebooted,
    }
}

/// Records a finished host in state: its history entry and which packages failed.
fn record_host(state: &mut State, apply_id: &str, report: &HostReport) {
    if let Some(record) = state.history.iter_mut().rev().find(|r| r.id == apply_id) {
        record
            .hosts
            .insert(report.host.clone(), host_record(report));
    }
    let host = state.hosts.entry(report.host.clone()).or_default();
    if report.started_at.is_some() {
        host.last_apply = report.finished_at;
    }
    for package in &report.packages {
        let Ok(name) = crate::pkg::PackageName::parse(&package.name) else {
            continue;
        };
        match package.state {
            apply::PackageState::Installed => {
                host.failed_packages.remove(&name);
            }
            apply::PackageState::Failed | apply::PackageState::HalfConfigured => {
                host.failed_packages.insert(name);
            }
            apply::PackageState::NotAttempted => {}
        }
    }
}

fn approve(plan: &Plan, args: &ApplyArgs, ui: &Ui) -> Result<(), Exit> {
    ui.out(&render::plan::human(plan));
    if !plan.has_changes() || args.auto_approve {
        return Ok(());
    }
    if !args.plan_input() {
        ui.err("Error: apply needs approval, but -input=false forbids asking. Pass -auto-approve, or apply a saved plan file.\n");
        return Err(Exit::Error);
    }
    ui.out("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() || answer.trim() != "yes" {
        ui.err("\nApply cancelled.\n");
        return Err(Exit::Error);
    }
    Ok(())
}

impl ApplyArgs {
    fn plan_input(&self) -> bool {
        self.plan.input_allowed()
    }
}

pub(crate) fn run(args: &ApplyArgs, vars: VarInputs, ui: &Ui) -> Exit {
    let fail = |message: String| {
        ui.err(&format!("Error: {message}\n"));
        Exit::Error
    };
    let durations = ["reboot", "dpkg lock", "install", "lock"]
        .iter()
        .zip([
            &args.reboot_timeout,
            &args.dpkg_lock_timeout,
            &args.install_timeout,
            &args.plan.lock_timeout_text(),
        ])
        .map(|(name, text)| {
            common::parse_duration(text).map_err(|e| format!("{name} timeout: {e}"))
        })
        .collect::<Result<Vec<_>, _>>();
    let durations = match durations {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let (reboot_timeout, dpkg_lock_timeout, install_timeout, lock_timeout) =
        (durations[0], durations[1], durations[2], durations[3]);
    // The signal handler goes in before anything reads or writes state, so that no interrupt
    // ever hits the default action (killing patchform) at an arbitrary point of the run.
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let signals = {
        let _context = runtime.enter();
        match Signals::install() {
            Ok(signals) => signals,
            Err(e) => return fail(format!("cannot install the signal handler: {e}")),
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(Stop::Run);
    let applying = Arc::new(AtomicBool::new(false));
    let notices = Notices::default();
    runtime.spawn(watch_signals(
        signals,
        stop_tx.clone(),
        applying.clone(),
        notices.clone(),
    ));
    let loaded = match common::load(vars.clone(), ui) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let desired = &loaded.desired;
    let plan = match &args.file {
        Some(path) => match read_plan(path) {
            Ok(plan) => plan,
            Err(e) => return fail(e),
        },
        None => {
            let plan = match make_plan(&args.plan, vars, ui, lock_timeout) {
                Ok(plan) => plan,
                Err(exit) => return exit,
            };
            if let Err(exit) = approve(&plan, args, ui) {
                return exit;
            }
            plan
        }
    };
    let mut locked =
        match LockedState::acquire(desired, "apply", args.plan.lock_enabled(), lock_timeout) {
            Ok(locked) => locked,
            Err(e) => return fail(e.to_string()),
        };
    let mut state = match locked.read_or_new() {
        Ok(state) => state,
        Err(e) => return fail(e.to_string()),
    };
    if !plan.has_changes() {
        ui.out("\nNothing to apply.\n");
        return Exit::Success;
    }
    let window = if args.ignore_window {
        WindowPolicy::Ignore
    } else {
        WindowPolicy::Enforce
    };
    let hosts = match apply::check_state(&plan, &state)
        .and_then(|()| apply::check_windows(&plan, jiff::Timestamp::now(), window))
        .and_then(|()| apply::connection_hosts(&plan, desired))
    {
        Ok(hosts) => hosts,
        Err(refusal) => return fail(refusal.to_string()),
    };
    let ssh = match common::ssh(desired, HostKeyPolicy::Strict) {
        Ok(ssh) => ssh,
        Err(e) => return fail(e),
    };
    if args.file.is_some()
        && let Err(refusal) = runtime.block_on(apply::check_fingerprints(
            &plan,
            &hosts,
            &ssh,
            Duration::from_secs(60),
        ))
    {
        return fail(refusal.to_string());
    }
    // From here on an interrupt drains instead of exiting: the apply is about to be recorded.
    applying.store(true, Ordering::SeqCst);
    let apply_id = uuid::Uuid::new_v4().to_string();
    state.history.push(ApplyRecord {
        id: apply_id.clone(),
        plan_digest: planfile::digest(&plan),
        started_at: jiff::Timestamp::now(),
        finished_at: None,
        ignored_window: args.ignore_window,
        hosts: Default::default(),
    });
    if let Err(e) = locked.save(&mut state) {
        return fail(e.to_string());
    }
    if args.ignore_window {
        ui.err("Warning: -ignore-window: maintenance windows are not enforced; this is recorded in state and the report.\n");
    }
    let options = ApplyOptions {
        window,
        reboot_timeout,
        command_timeout: Duration::from_secs(300),
        install_timeout,
        dpkg_lock_timeout,
        run_id: apply_id.clone(),
    };
    let (events_tx, mut events_rx) = tokio::sync::mpsc::unbounded_channel();
    let plan = Arc::new(plan);
    runtime.spawn(watch_lock(
        locked.backend.lock_loss(),
        stop_tx,
        notices.clone(),
    ));
    let worker = {
        let (plan, hosts, options) = (plan.clone(), Arc::new(hosts), Arc::new(options));
        std::thread::spawn(move || {
            runtime.block_on(apply::run(plan, hosts, ssh, options, events_tx, stop_rx))
        })
    };
    let mut bars = (!args.json && std::io::stderr().is_terminal()).then(|| {
        Progress::new(
            &progress_groups(&plan),
            ProgressDrawTarget::stderr(),
            &notices,
        )
    });
    let mut save_error = None;
    while let Some(event) = events_rx.blocking_recv() {
        if args.json {
            ui.out(&format!(
                "{}\n",
                render::apply::event_json(&event, jiff::Timestamp::now())
            ));
        } else if let Some(bars) = &mut bars {
            bars.event(&event);
        } else if let Some(line) = render::apply::event_line(&event) {
            let stamp = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ");
            ui.err(&format!("{stamp} {line}\n"));
        }
        if let Event::HostFinished(report) = &event {
            record_host(&mut state, &apply_id, report);
            // Saved as each host finishes, so a crash loses nothing already done.
            if let Err(e) = locked.save(&mut state) {
                save_error = Some(e.to_string());
            }
        }
    }
    if let Some(bars) = bars {
        bars.finish();
    }
    let report: ApplyReport =
        match worker.join() {
            Ok(report) => report,
            Err(_) => return fail(
                "the apply worker stopped unexpectedly; the state holds every host finished so far"
                    .to_owned(),
            ),
        };
    if let Some(record) = state.history.iter_mut().rev().find(|r| r.id == apply_id) {
        record.finished_at = Some(jiff::Timestamp::now());
    }
    if let Err(e) = locked.save(&mut state) {
        save_error = Some(e.to_string());
    }
    if !args.json {
        ui.out(&format!("\n{}", render::apply::human(&report)));
    }
    if let Some(path) = &args.report {
        let text = match args.report_format {
            ReportFormat::Json => render::apply::json(&report),
            ReportFormat::Junit => render::apply::junit(&report),
            ReportFormat::Markdown => render::apply::markdown(&report),
        };
        if let Err(e) = common::write_private(path, &text) {
            return fail(e);
        }
    }
    if let Some(e) = save_error {
        return fail(e);
    }
    if report.all_succeeded() {
        Exit::Success
    } else {
        Exit::Error
    }
}

/// The progress bars of a plan: its groups in order, then the hosts outside any group.
fn progress_groups(plan: &Plan) -> Vec<(String, usize)> {
    let mut groups: Vec<(String, usize)> = plan
        .groups
        .iter()
        .map(|g| (g.address.clone(), g.waves.iter().map(Vec::len).sum()))
        .collect();
    let ungrouped = plan
        .hosts
        .values()
        .filter(|h| h.status == HostStatus::Patch && h.group.is_none())
        .count();
    groups.push((progress::UNGROUPED.to_owned(), ungrouped));
    groups
}

/// SIGINT and SIGTERM, registered with tokio so they no longer kill the process.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Must run inside the runtime's context.
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// A lost state lock drains the apply: nothing new starts, and `LockedState::save` refuses
/// every later write, since another command may hold the lock by now.
async fn watch_lock(lock_loss: LockLoss, stop: tokio::sync::watch::Sender<Stop>, notices: Notices) {
    while !lock_loss.is_lost() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    notices.print(
        "\nError: the state lock was lost: no new host starts, and state is no longer written.",
    );
    stop.send_if_modified(|stop| {
        let run = *stop == Stop::Run;
        if run {
            *stop = Stop::Drain;
        }
        run
    });
}

/// Before the apply is recorded (planning, the approval prompt, the stale-plan checks):
/// exit at once, nothing was applied; every state write is atomic, so the state holds its
/// old or its new version. Afterwards: the first SIGINT/SIGTERM starts nothing new; the
/// second, or the drain bound, stops in-flight hosts at their next safe point. dpkg itself is
/// never interrupted.
async fn watch_signals(
    mut signals: Signals,
    stop: tokio::sync::watch::Sender<Stop>,
    applying: Arc<AtomicBool>,
    notices: Notices,
) {
    signals.next().await;
    if !applying.load(Ordering::SeqCst) {
        eprintln!("\nInterrupted before any host was patched: nothing was applied.");
        std::process::exit(1);
    }
    notices.print(
        "\nInterrupt received: no new host starts; hosts in flight finish (interrupt again to stop them at the next safe point).",
    );
    stop.send_replace(Stop::Drain);
    tokio::select! {
        () = signals.next() => {}
        () = tokio::time::sleep(DRAIN_BOUND) => {}
    }
    notices.print("\nStopping hosts in flight at their next safe point (never inside dpkg).");
    stop.send_replace(Stop::Cancel);
}
