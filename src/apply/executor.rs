//! The walk: groups in dependency order, waves in order inside a group, hosts concurrently
//! within `max_concurrency`, no new host after `max_errors` is exceeded.

use super::host::{Context, run_host};
use super::{ApplyOptions, ApplyReport, Event, HostOutcome, HostReport, WindowPolicy};
use crate::model;
use crate::plan::{GroupPlan, HostStatus, Plan};
use crate::transport::Ssh;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Semaphore, mpsc, watch};

/// How far a stop request has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    Run,
    /// First interrupt: start nothing new; hosts in flight finish.
    Drain,
    /// Second interrupt: hosts in flight stop at their next safe point.
    Cancel,
}

pub(crate) fn past_cutoff(group: &GroupPlan, now: jiff::Timestamp) -> bool {
    group
        .window
        .as_ref()
        .and_then(|w| w.cutoff_at.parse::<jiff::ZonedDateTime>().ok())
        .is_some_and(|cutoff| now >= cutoff.timestamp())
}

/// Why a host of a group must not start now, if it must not.
fn hold_back(
    group: &GroupPlan,
    options: &ApplyOptions,
    stop: Stop,
    failures: usize,
) -> Option<String> {
    if stop >= Stop::Drain {
        return Some("interrupted before this host started".to_owned());
    }
    if failures > group.max_errors {
        return Some(format!(
            "{failures} host(s) of {} failed, more than max_errors allows ({})",
            group.address, group.max_errors
        ));
    }
    if options.window == WindowPolicy::Enforce && past_cutoff(group, jiff::Timestamp::now()) {
        return Some("the maintenance window's cutoff was reached".to_owned());
    }
    None
}

/// Runs every group of the plan. Host reports go out as events as each host finishes; the
/// full report is returned at the end.
pub async fn run(
    plan: Arc<Plan>,
    hosts: Arc<BTreeMap<String, model::Host>>,
    ssh: Ssh,
    options: Arc<ApplyOptions>,
    events: mpsc::UnboundedSender<Event>,
    stop: watch::Receiver<Stop>,
) -> ApplyReport {
    let mut report = ApplyReport {
        hosts: BTreeMap::new(),
        ignored_window: options.window == WindowPolicy::Ignore,
    };
    let mut finished: BTreeMap<String, bool> = BTreeMap::new();
    let mut pending: Vec<GroupPlan> = plan.groups.clone();
    let mut running = tokio::task::JoinSet::new();
    loop {
        // Start every group whose dependencies are all finished.
        let mut index = 0;
        while index < pending.len() {
            let group = &pending[index];
            if !group
                .depends_on
                .iter()
                .all(|d| finished.contains_key(d) || !plan.groups.iter().any(|g| &g.address == d))
            {
                index += 1;
                continue;
            }
            let group = pending.remove(index);
            let failed_dependency = group
                .depends_on
                .iter()
                .find(|d| finished.get(*d) == Some(&false))
                .cloned();
            let (plan, hosts, ssh, options, events, stop) = (
                plan.clone(),
                hosts.clone(),
                ssh.clone(),
                options.clone(),
                events.clone(),
                stop.clone(),
            );
            running.spawn(async move {
                let reports = run_group(
                    &plan,
                    &group,
                    &hosts,
                    &ssh,
                    &options,
                    &events,
                    stop,
                    failed_dependency,
                )
                .await;
                (group.address.clone(), reports)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let Ok((address, reports)) = joined else {
            continue;
        };
        let succeeded = reports.iter().all(|r| r.outcome == HostOutcome::Succeeded);
        let _ = events.send(Event::GroupFinished {
            group: address.clone(),
            succeeded,
        });
        finished.insert(address, succeeded);
        for host_report in reports {
            report.hosts.insert(host_report.host.clone(), host_report);
        }
    }
    // Hosts with changes but no group run only when windows are ignored, one at a time.
    let ungrouped: Vec<String> = plan
        .hosts
        .values()
        .filter(|h| h.status == HostStatus::Patch && h.group.is_none())
        .map(|h| h.name.clone())
        .collect();
    for name in ungrouped {
        let host_report = if options.window == WindowPolicy::Ignore && *stop.borrow() == Stop::Run {
            let _ = events.send(Event::HostStarted {
                host: name.clone(),
                group: None,
            });
            let context = Context {
                plan: &plan,
                ssh: &ssh,
                options: &options,
                events: &events,
                stop: stop.clone(),
            };
            match hosts.get(&name) {
                Some(connection_host) => {
                    run_host(&context, &plan.hosts[&name], None, connection_host).await
                }
                None => HostReport::new(
                    &name,
                    None,
                    HostOutcome::NotStarted {
                        reason: "not in the configuration".to_owned(),
                    },
                    &plan,
                ),
            }
        } else {
            HostReport::new(
                &name,
                None,
                HostOutcome::NotStarted {
                    reason: "in no patch group, so no maintenance window covers it".to_owned(),
                },
                &plan,
            )
        };
        let _ = events.send(Event::HostFinished(Box::new(host_report.clone())));
        report.hosts.insert(name, host_report);
    }
    report
}

#[allow(clippy::too_many_arguments)]
async fn run_group(
    plan: &Arc<Plan>,
    group: &GroupPlan,
    hosts: &Arc<BTreeMap<String, model::Host>>,
    ssh: &Ssh,
    options: &Arc<ApplyOptions>,
    events: &mpsc::UnboundedSender<Event>,
    stop: watch::Receiver<Stop>,
    failed_dependency: Option<String>,
) -> Vec<HostReport> {
    let mut reports = Vec::new();
    let not_started = |host: &str, outcome: HostOutcome| {
        let report = HostReport::new(host, Some(&group.address), outcome, plan);
        let _ = events.send(Event::HostFinished(Box::new(report.clone())));
        report
    };
    if let Some(dependency) = failed_dependency {
        for host in group.waves.iter().flatten() {
            reports.push(not_started(
                host,
                HostOutcome::Skipped {
                    reason: format!("{dependency} did not succeed on every host"),
                },
            ));
        }
        return reports;
    }
    let failures = Arc::new(AtomicUsize::new(0));
    let permits = Arc::new(Semaphore::new(group.max_concurrency.max(1)));
    for wave in &group.waves {
        let mut in_flight = tokio::task::JoinSet::new();
        for host in wave {
            // Wait for a slot first: whether the host may start is decided when it would start.
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            if let Some(reason) = hold_back(
                group,
                options,
                *stop.borrow(),
                failures.load(Ordering::SeqCst),
            ) {
                reports.push(not_started(host, HostOutcome::NotStarted { reason }));
                continue;
            }
            let Some(connection_host) = hosts.get(host).cloned() else {
                reports.push(not_started(
                    host,
                    HostOutcome::NotStarted {
                        reason: "not in the configuration".to_owned(),
                    },
                ));
                continue;
            };
            let (plan, ssh, options, events, stop, failures, group, host) = (
                plan.clone(),
                ssh.clone(),
                options.clone(),
                events.clone(),
                stop.clone(),
                failures.clone(),
                group.clone(),
                host.clone(),
            );
            let _ = events.send(Event::HostStarted {
                host: host.clone(),
                group: Some(group.address.clone()),
            });
            in_flight.spawn(async move {
                let context = Context {
                    plan: &plan,
                    ssh: &ssh,
                    options: &options,
                    events: &events,
                    stop,
                };
                let host_plan = &plan.hosts[&host];
                let report = run_host(&context, host_plan, Some(&group), &connection_host).await;
                if report.outcome != HostOutcome::Succeeded {
                    failures.fetch_add(1, Ordering::SeqCst);
                }
                let _ = events.send(Event::HostFinished(Box::new(report.clone())));
                drop(permit);
                report
            });
        }
        // A wave is gated on the previous one finishing.
        while let Some(joined) = in_flight.join_next().await {
            if let Ok(report) = joined {
                reports.push(report);
            }
        }
    }
    reports
}
