//! The planner's passes, in the order they run. Later passes add edges between steps that
//! earlier passes created.

use super::*;
use crate::compliance::{self, HostCompliance};
use crate::diag::{Diagnostic, Diagnostics};
use crate::inventory::{HostFacts, HostSnapshot, Inventory};
use crate::model::{DesiredState, MaintenanceTask, Operation};
use crate::state::State;
use std::collections::BTreeSet;

/// Rough costs used to estimate whether a group fits its window. They are deliberately
/// pessimistic: an underestimate lets a rollout run into the cutoff.
const HOST_OVERHEAD_SECONDS: u64 = 20;
const PACKAGE_SECONDS: u64 = 5;
const REBOOT_SECONDS: u64 = 120;

/// What the plan needs besides desired state, inventory and state.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// `-target` addresses: `host.NAME` or a patch group address. Empty means everything.
    pub targets: Vec<String>,
    pub configuration_digest: String,
    pub variables: BTreeMap<String, PlanVariable>,
    /// Values of sensitive variables, redacted wherever hooks are shown.
    pub sensitive_values: Vec<String>,
}

/// Plans every host. Pure: reads nothing but its arguments.
pub fn build(
    desired: &DesiredState,
    inventory: &Inventory,
    state: &State,
    now: jiff::Timestamp,
    options: &PlanOptions,
) -> (Plan, Diagnostics) {
    let mut builder = Builder {
        desired,
        inventory,
        state,
        now,
        options,
        plan: Plan {
            format_version: FORMAT_VERSION,
            created_at: now.to_string(),
            configuration_digest: options.configuration_digest.clone(),
            variables: options.variables.clone(),
            state: StateRef {
                lineage: state.lineage.clone(),
                serial: state.serial,
            },
            inventory_scanned_at: inventory.scanned_at.to_string(),
            hosts: BTreeMap::new(),
            groups: Vec::new(),
            steps: Vec::new(),
            edges: Vec::new(),
            warnings: Vec::new(),
            summary: Summary::default(),
        },
        diags: Diagnostics::default(),
    };
    builder.plan_hosts();
    builder.plan_groups();
    builder.add_host_steps();
    builder.order_groups();
    builder.check_acyclic();
    builder.summarize();
    builder.plan.warnings.sort();
    (builder.plan, builder.diags)
}

struct Builder<'a> {
    desired: &'a DesiredState,
    inventory: &'a Inventory,
    state: &'a State,
    now: jiff::Timestamp,
    options: &'a PlanOptions,
    plan: Plan,
    diags: Diagnostics,
}

/// Packages whose update means the running kernel or firmware is replaced.
fn needs_reboot(name: &str) -> bool {
    name.contains("linux-image")
        || name.ends_with("-microcode")
        || name.starts_with("linux-modules")
}

fn warn(plan: &mut Plan, address: String, message: String) {
    plan.warnings.push(PlanWarning { address, message });
}

impl Builder<'_> {
    fn targeted(&self, host: &str) -> bool {
        let targets = &self.options.targets;
        if targets.is_empty() {
            return true;
        }
        let group = self
            .desired
            .hosts
            .get(host)
            .and_then(|h| h.group.as_deref());
        targets
            .iter()
            .any(|t| t.strip_prefix("host.") == Some(host) || Some(t.as_str()) == group)
    }

    /// The Install task of the window that targets a group, lowest priority number first.
    fn task_for(
        &self,
        group: &str,
    ) -> Option<(&crate::model::MaintenanceWindow, &MaintenanceTask)> {
        let window = self
            .desired
            .windows
            .values()
            .find(|w| w.targets.iter().any(|t| t == group))?;
        let task = window
            .tasks
            .iter()
            .filter(|t| t.operation == Operation::Install)
            .min_by_key(|t| (t.priority, t.name.clone()))?;
        Some((window, task))
    }

    /// Pass 1: evaluate every host and decide its package set.
    fn plan_hosts(&mut self) {
        let first_seen = self.state.first_seen();
        let no_failures = BTreeSet::new();
        let mut matchers: std::collections::HashMap<String, compliance::Matcher> =
            Default::default();
        for host in self.desired.hosts.values() {
            let mut host_plan = HostPlan {
                name: host.name.clone(),
                address: host.address.clone(),
                group: host.group.clone(),
                baseline: None,
                status: HostStatus::Unchanged,
                changes: Vec::new(),
                reboot: None,
                pre_hook: None,
                post_hook: None,
                health_check: None,
                fingerprint: None,
                boot_id: None,
                wave: 0,
            };
            let address = format!("host.{}", host.name);
            match self.inventory.hosts.get(&host.name) {
                _ if !self.targeted(&host.name) => host_plan.status = HostStatus::NotTargeted,
                None => {
                    host_plan.status = HostStatus::NotScanned;
                    warn(
                        &mut self.plan,
                        address,
                        "not in the inventory; run `patchform scan` to include it".to_owned(),
                    );
                }
                Some(HostFacts::Unreachable { reason }) => {
                    host_plan.status = HostStatus::Unreachable;
                    warn(
                        &mut self.plan,
                        address,
                        format!("unreachable, nothing planned: {reason}"),
                    );
                }
                Some(HostFacts::Failed { reason }) => {
                    host_plan.status = HostStatus::ScanFailed;
                    warn(
                        &mut self.plan,
                        address,
                        format!("scan failed, nothing planned: {reason}"),
                    );
                }
                Some(HostFacts::Scanned(snapshot)) => {
                    host_plan.fingerprint = Some(HostFingerprint {
                        dpkg_status: snapshot.fingerprint.dpkg_status.clone(),
                        apt_lists: snapshot.fingerprint.apt_lists.clone(),
                    });
                    host_plan.boot_id = Some(snapshot.boot_id.clone());
                    for message in compliance::host_warnings(snapshot) {
                        warn(&mut self.plan, address.clone(), message);
                    }
                    match self.desired.baseline_for(&host.name, &snapshot.os.id) {
                        None => warn(
                            &mut self.plan,
                            address.clone(),
                            format!(
                                "no baseline applies to {}; nothing planned",
                                snapshot.os.pretty_name
                            ),
                        ),
                        Some(baseline) => {
                            let failed = self
                                .state
                                .hosts
                                .get(&host.name)
                                .map_or(&no_failures, |r| &r.failed_packages);
                            let matcher = matchers
                                .entry(baseline.address.clone())
                                .or_insert_with(|| compliance::Matcher::new(&baseline));
                            let evaluation = compliance::evaluate_with(
                                matcher,
                                &baseline,
                                snapshot,
                                &first_seen,
                                failed,
                                self.now,
                            );
                            host_plan.baseline = Some(baseline.address.clone());
                            self.plan_packages(&mut host_plan, &evaluation, snapshot);
                        }
                    }
                }
            }
            self.plan.hosts.insert(host.name.clone(), host_plan);
        }
    }

    fn plan_packages(
        &mut self,
        host_plan: &mut HostPlan,
        evaluation: &HostCompliance,
        snapshot: &HostSnapshot,
    ) {
        let address = format!("host.{}", host_plan.name);
        for package in &evaluation.packages {
            if let Some(blocker) = &package.blocked {
                warn(
                    &mut self.plan,
                    format!("{address}.package.{}", package.name),
                    format!(
                        "approved update to {} not planned: {blocker}",
                        package
                            .target
                            .as_ref()
                            .map(|t| t.to_string())
                            .unwrap_or_default()
                    ),
                );
                continue;
            }
            if !package.is_installable() {
                continue;
            }
            let Some(to) = package.target.clone() else {
                continue;
            };
            let reason = match (package.approved_by, package.new_package) {
                (Some(approver), _) => approver.to_string(),
                (None, true) => {
                    let parents: Vec<&str> = evaluation
                        .packages
                        .iter()
                        .filter(|p| {
                            p.is_installable()
                                && dependency_of(
                                    snapshot,
                                    &p.name,
                                    p.target.as_ref(),
                                    &package.name,
                                )
                        })
                        .map(|p| p.name.as_str())
                        .collect();
                    format!(
                        "dependency of {}",
                        if parents.is_empty() {
                            "an approved update".to_owned()
                        } else {
                            parents.join(", ")
                        }
                    )
                }
                (None, false) => Approver::ApprovedPatches.to_string(),
            };
            host_plan.changes.push(PackageChange {
                name: package.name.clone(),
                kind: if package.new_package {
                    ChangeKind::Install
                } else {
                    ChangeKind::Upgrade
                },
                from: package.installed.clone(),
                to,
                classification: package
                    .classification
                    .unwrap_or(Classification::NonSecurity),
                priority: package.priority.clone(),
                section: package.section.clone(),
                suite: package.suite.clone(),
                reason,
            });
        }
        if !host_plan.changes.is_empty() {
            host_plan.status = HostStatus::Patch;
        }
    }

    /// Pass 2: per group, its window, task, limits and rollout waves.
    fn plan_groups(&mut self) {
        for group in self.desired.groups.values() {
            let patching: Vec<String> = group
                .hosts
                .iter()
                .filter(|h| {
                    self.plan
                        .hosts
                        .get(*h)
                        .is_some_and(|p| p.status == HostStatus::Patch)
                })
                .cloned()
                .collect();
            let task = self
                .task_for(&group.address)
                .map(|(w, t)| (w.clone(), t.clone()));
            if task.is_none() && !patching.is_empty() {
                warn(&mut self.plan, group.address.clone(), "no maintenance window with an Install task targets this group; apply will refuse it unless -ignore-window is given".to_owned());
            }
            let (window, task) = match &task {
                Some((w, t)) => (Some(w), Some(t)),
                None => (None, None),
            };
            let total = patching.len();
            let max_concurrency =
                task.map_or(1, |t| t.max_concurrency.resolve_concurrency(total.max(1)));
            let max_errors = task.map_or(0, |t| t.max_errors.resolve_errors(total));
            let waves = split_waves(&patching, task.map(|t| t.waves.as_slice()).unwrap_or(&[]));
            for (index, wave) in waves.iter().enumerate() {
                for host in wave {
                    if let Some(host_plan) = self.plan.hosts.get_mut(host) {
                        host_plan.wave = index;
                        self.apply_task(host, task);
                    }
                }
            }
            let estimated_seconds = self.estimate(&waves, max_concurrency);
            let occurrence = window.and_then(|w| {
                let open = w.window.open_occurrence(self.now);
                let next = open
                    .clone()
                    .or_else(|| w.window.next_occurrences(self.now, 1).into_iter().next());
                next.map(|occ| (w, occ, open.is_some()))
            });
            let fits_window = occurrence.as_ref().is_none_or(|(_, occ, _)| {
                let from = if occ.start.timestamp() > self.now {
                    occ.start.timestamp()
                } else {
                    self.now
                };
                occ.fits(
                    from,
                    jiff::SignedDuration::from_secs(estimated_seconds as i64),
                )
            });
            if let Some(w) = window
                && occurrence.is_none()
            {
                warn(
                    &mut self.plan,
                    group.address.clone(),
                    format!(
                        "{} has no future occurrence (disabled or past its end_date)",
                        w.address
                    ),
                );
            }
            if !fits_window && total > 0 {
                warn(
                    &mut self.plan,
                    group.address.clone(),
                    format!(
                        "estimated {estimated_seconds} s of patching does not fit before the window's cutoff; raise max_concurrency or lengthen the window"
                    ),
                );
            }
            self.plan.groups.push(GroupPlan {
                address: group.address.clone(),
                name: group.name.clone(),
                baseline: group.baseline.clone(),
                depends_on: group.depends_on.clone(),
                window: occurrence.map(|(w, occ, open)| WindowOccurrence {
                    window: w.address.clone(),
                    time_zone: w
                        .window
                        .spec()
                        .time_zone
                        .iana_name()
                        .unwrap_or("UTC")
                        .to_owned(),
                    start: occ.start.to_string(),
                    end: occ.end.to_string(),
                    cutoff_at: occ.cutoff_at.to_string(),
                    open_now: open,
                }),
                task: task.map(|t| t.name.clone()),
                priority: task.map_or(0, |t| t.priority),
                max_concurrency,
                max_errors,
                cutoff_behavior: task.map_or(crate::model::CutoffBehavior::ContinueTask, |t| {
                    t.cutoff_behavior
                }),
                waves,
                estimated_seconds,
                fits_window,
            });
        }
        self.order_group_list();
        for host in self.plan.hosts.values() {
            if host.status == HostStatus::Patch && host.group.is_none() {
                self.plan.warnings.push(PlanWarning {
                    address: format!("host.{}", host.name),
                    message: "in no patch group, so no maintenance window targets it; apply skips it unless -ignore-window is given".to_owned(),
                });
            }
        }
        let ungrouped: Vec<String> = self
            .plan
            .hosts
            .values()
            .filter(|h| h.status == HostStatus::Patch && h.group.is_none())
            .map(|h| h.name.clone())
            .collect();
        for name in ungrouped {
            self.apply_task(&name, None);
        }
    }

    /// Hooks, health check and reboot decision of a host from its task.
    fn apply_task(&mut self, host: &str, task: Option<&MaintenanceTask>) {
        let Some(host_plan) = self.plan.hosts.get_mut(host) else {
            return;
        };
        let option = task.map_or(RebootOption::RebootIfNeeded, |t| t.reboot);
        let sensitive = &self.options.sensitive_values;
        let hook = |command: Option<&String>| {
            command.map(|command| Hook {
                command: command.clone(),
                display: sensitive
                    .iter()
                    .filter(|v| !v.is_empty())
                    .fold(command.clone(), |text, secret| {
                        text.replace(secret.as_str(), "(sensitive)")
                    }),
            })
        };
        host_plan.pre_hook = hook(task.and_then(|t| t.pre_hook.as_ref()));
        host_plan.post_hook = hook(task.and_then(|t| t.post_hook.as_ref()));
        host_plan.health_check = hook(task.and_then(|t| t.health_check.as_ref()));
        let kernel: Vec<&str> = host_plan
            .changes
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| needs_reboot(n))
            .collect();
        let already = self
            .inventory
            .hosts
            .get(host)
            .is_some_and(|f| matches!(f, HostFacts::Scanned(s) if s.reboot_required));
        host_plan.reboot = match option {
            RebootOption::NoReboot => None,
            RebootOption::Always => Some(RebootStep {
                option,
                reason: "reboot = Always".to_owned(),
            }),
            RebootOption::RebootIfNeeded if !kernel.is_empty() => Some(RebootStep {
                option,
                reason: format!(
                    "{} replaces the running kernel or firmware",
                    kernel.join(", ")
                ),
            }),
            RebootOption::RebootIfNeeded if already => Some(RebootStep {
                option,
                reason: "the host already reports /var/run/reboot-required".to_owned(),
            }),
            RebootOption::RebootIfNeeded => None,
        };
    }

    fn estimate(&self, waves: &[Vec<String>], concurrency: usize) -> u64 {
        waves
            .iter()
            .map(|wave| {
                let slowest = wave
                    .iter()
                    .filter_map(|h| self.plan.hosts.get(h))
                    .map(|h| {
                        HOST_OVERHEAD_SECONDS
                            + PACKAGE_SECONDS * h.changes.len() as u64
                            + if h.reboot.is_some() || needs_reboot_any(h) {
                                REBOOT_SECONDS
                            } else {
                                0
                            }
                    })
                    .max()
                    .unwrap_or(0);
                wave.len().div_ceil(concurrency.max(1)) as u64 * slowest
            })
            .sum()
    }

    /// Groups in an order where every group comes after those it depends on.
    fn order_group_list(&mut self) {
        let mut ordered: Vec<GroupPlan> = Vec::new();
        let mut remaining = std::mem::take(&mut self.plan.groups);
        while !remaining.is_empty() {
            let ready = remaining.iter().position(|g| {
                g.depends_on.iter().all(|d| {
                    ordered.iter().any(|o| &o.address == d)
                        || !remaining.iter().any(|r| &r.address == d)
                })
            });
            // A cycle was refused by validate; should one slip through, keep the rest as is.
            let Some(index) = ready else {
                ordered.append(&mut remaining);
                break;
            };
            ordered.push(remaining.remove(index));
        }
        self.plan.groups = ordered;
    }

    fn add_step(&mut self, id: String, host: Option<&str>, group: &str, action: Action) -> usize {
        self.plan.steps.push(Step {
            id,
            host: host.map(str::to_owned),
            group: group.to_owned(),
            action,
        });
        self.plan.steps.len() - 1
    }

    fn edge(&mut self, from: usize, to: usize) {
        self.plan.edges.push([from, to]);
    }

    /// Pass 3: each host's chain of steps, wave barriers and a group barrier.
    fn add_host_steps(&mut self) {
        let groups = self.plan.groups.clone();
        for group in &groups {
            let mut previous_wave: Option<usize> = None;
            let mut wave_ends = Vec::new();
            for (index, wave) in group.waves.iter().enumerate() {
                let mut last_steps = Vec::new();
                for host in wave {
                    let (first, last) = self.host_chain(host, &group.address);
                    if let Some(barrier) = previous_wave {
                        self.edge(barrier, first);
                    }
                    last_steps.push(last);
                }
                let done = self.add_step(
                    format!("{}.wave[{index}]", group.address),
                    None,
                    &group.address,
                    Action::WaveDone { wave: index },
                );
                for last in last_steps {
                    self.edge(last, done);
                }
                previous_wave = Some(done);
                wave_ends.push(done);
            }
            let group_done = self.add_step(
                format!("{}.done", group.address),
                None,
                &group.address,
                Action::GroupDone,
            );
            if let Some(last_wave) = wave_ends.last() {
                self.edge(*last_wave, group_done);
            }
        }
        let ungrouped: Vec<String> = self
            .plan
            .hosts
            .values()
            .filter(|h| h.status == HostStatus::Patch && h.group.is_none())
            .map(|h| h.name.clone())
            .collect();
        for host in ungrouped {
            self.host_chain(&host, "(no patch group)");
        }
    }

    /// Adds one host's steps in order; returns its first and last step.
    fn host_chain(&mut self, host: &str, group: &str) -> (usize, usize) {
        let Some(host_plan) = self.plan.hosts.get(host).cloned() else {
            let step = self.add_step(
                format!("host.{host}.verify"),
                Some(host),
                group,
                Action::Verify,
            );
            return (step, step);
        };
        let mut actions = Vec::new();
        if host_plan.pre_hook.is_some() {
            actions.push(("pre_hook", Action::PreHook));
        }
        actions.push(("install", Action::Install));
        if host_plan.reboot.is_some() {
            actions.push(("reboot", Action::Reboot));
            actions.push(("wait_for_boot", Action::WaitForBoot));
        }
        if host_plan.post_hook.is_some() {
            actions.push(("post_hook", Action::PostHook));
        }
        if host_plan.health_check.is_some() {
            actions.push(("health_check", Action::HealthCheck));
        }
        actions.push(("verify", Action::Verify));
        let mut first = None;
        let mut previous: Option<usize> = None;
        for (name, action) in actions {
            let step = self.add_step(format!("host.{host}.{name}"), Some(host), group, action);
            if let Some(previous) = previous {
                self.edge(previous, step);
            }
            first.get_or_insert(step);
            previous = Some(step);
        }
        let last = previous.unwrap_or_default();
        (first.unwrap_or(last), last)
    }

    /// Pass 4: a group starts only after every group it depends on is done.
    fn order_groups(&mut self) {
        let index_of = |steps: &[Step], id: &str| steps.iter().position(|s| s.id == id);
        let mut edges = Vec::new();
        // A host step nothing points at yet starts its host's chain in the group's first wave.
        let mut has_incoming = vec![false; self.plan.steps.len()];
        for [_, to] in &self.plan.edges {
            has_incoming[*to] = true;
        }
        for group in &self.plan.groups {
            let first_steps: Vec<usize> = self
                .plan
                .steps
                .iter()
                .enumerate()
                .filter(|(i, s)| s.group == group.address && s.host.is_some() && !has_incoming[*i])
                .map(|(i, _)| i)
                .collect();
            for dependency in &group.depends_on {
                let Some(done) = index_of(&self.plan.steps, &format!("{dependency}.done")) else {
                    continue;
                };
                for first in &first_steps {
                    edges.push([done, *first]);
                }
                if let Some(own_done) =
                    index_of(&self.plan.steps, &format!("{}.done", group.address))
                    && first_steps.is_empty()
                {
                    edges.push([done, own_done]);
                }
            }
        }
        self.plan.edges.extend(edges);
        self.plan.edges.sort();
        self.plan.edges.dedup();
    }

    fn check_acyclic(&mut self) {
        if petgraph::algo::toposort(&self.plan.graph(), None).is_err() {
            self.diags.push(Diagnostic::error("Step graph has a cycle").detail("The planned steps depend on each other in a cycle, so no order can run them. Check the depends_on of your patch groups."));
        }
    }

    fn summarize(&mut self) {
        let mut summary = Summary::default();
        for host in self.plan.hosts.values() {
            match host.status {
                HostStatus::Patch => {
                    summary.hosts_to_patch += 1;
                    summary.updates += host.changes.len();
                    summary.reboots += usize::from(host.reboot.is_some());
                }
                HostStatus::Unchanged => summary.unchanged += 1,
                HostStatus::Unreachable => summary.unreachable += 1,
                HostStatus::ScanFailed => summary.failed += 1,
                HostStatus::NotTargeted | HostStatus::NotScanned => {}
            }
        }
        self.plan.summary = summary;
    }
}

fn needs_reboot_any(host: &HostPlan) -> bool {
    host.changes.iter().any(|c| needs_reboot(c.name.as_str()))
}

/// Whether `parent`'s planned version depends on `child`.
fn dependency_of(
    snapshot: &HostSnapshot,
    parent: &PackageName,
    target: Option<&Version>,
    child: &PackageName,
) -> bool {
    let Some(target) = target else { return false };
    snapshot
        .updates
        .get(parent)
        .and_then(|u| u.versions.iter().find(|v| v.version == *target))
        .is_some_and(|v| v.depends.contains(child))
}

/// Splits hosts into rollout waves: each limit is the cumulative share of the group that has
/// been patched once that wave ends (`["1", "25%", "100%"]`); the last wave takes the rest.
fn split_waves(hosts: &[String], limits: &[crate::model::schedule::Limit]) -> Vec<Vec<String>> {
    if hosts.is_empty() {
        return Vec::new();
    }
    let mut waves = Vec::new();
    let mut taken = 0;
    for limit in limits {
        let upto = limit.resolve_concurrency(hosts.len()).min(hosts.len());
        if upto > taken {
            waves.push(hosts[taken..upto].to_vec());
            taken = upto;
        }
    }
    if taken < hosts.len() {
        waves.push(hosts[taken..].to_vec());
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schedule::Limit;

    #[test]
    fn waves_are_cumulative_shares() {
        let hosts: Vec<String> = (1..=10).map(|i| format!("h{i:02}")).collect();
        let waves = split_waves(
            &hosts,
            &[Limit::Count(1), Limit::Percent(25), Limit::Percent(100)],
        );
        let sizes: Vec<usize> = waves.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1, 2, 7]);
        assert_eq!(split_waves(&hosts, &[]).len(), 1);
        assert!(split_waves(&[], &[Limit::Count(1)]).is_empty());
    }
}
