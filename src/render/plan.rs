//! Plans for people and machines: the terminal view, Markdown for pull requests (split under
//! GitHub's comment limit), Terraform-shaped JSON, and DOT for the step graph.

use crate::plan::{
    ChangeKind, GroupPlan, HostPlan, HostStatus, PackageChange, Plan, REBOOT_SYMBOL,
};
use anstyle::{AnsiColor, Style};
use schemars::JsonSchema;
use serde::Serialize;
use similar::{ChangeTag, TextDiff};
use std::fmt::Write as _;

const ADD: Style = AnsiColor::Green.on_default();
const CHANGE: Style = AnsiColor::Yellow.on_default();
const REBOOT: Style = AnsiColor::Magenta.on_default();
const BOLD: Style = Style::new().bold();
const CHANGED_PART: Style = Style::new().bold().underline();

/// GitHub refuses comments of 65,536 characters or more.
pub const MARKDOWN_PART_LIMIT: usize = 65_535;

pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    let mut line = format!(
        "Plan: {} hosts to patch ({} updates), {} reboots, {} unchanged, {} unreachable",
        s.hosts_to_patch, s.updates, s.reboots, s.unchanged, s.unreachable
    );
    if s.failed > 0 {
        let _ = write!(line, ", {} scan failures", s.failed);
    }
    line.push('.');
    line
}

/// `old -> new` with the part of `new` that differs from `old` highlighted.
fn version_change(change: &PackageChange) -> String {
    let new = change.to.as_str();
    let Some(old) = &change.from else {
        return new.to_owned();
    };
    let diff = TextDiff::from_chars(old.as_str(), new);
    let mut highlighted = String::new();
    for part in diff.iter_all_changes() {
        match part.tag() {
            ChangeTag::Equal => highlighted.push_str(part.value()),
            ChangeTag::Insert => {
                let _ = write!(
                    highlighted,
                    "{CHANGED_PART}{}{CHANGED_PART:#}",
                    part.value()
                );
            }
            ChangeTag::Delete => {}
        }
    }
    format!("{old} -> {highlighted}")
}

fn classification(change: &PackageChange) -> &'static str {
    match change.classification {
        crate::compliance::Classification::Security => "security",
        crate::compliance::Classification::NonSecurity => "non-security",
    }
}

fn window_line(group: &GroupPlan) -> String {
    match &group.window {
        Some(w) => format!(
            "{}{}: {} until {}, no new hosts after {}",
            w.window,
            if w.open_now { " (open now)" } else { " next" },
            w.start,
            w.end,
            w.cutoff_at
        ),
        None => "no maintenance window".to_owned(),
    }
}

fn host_human(out: &mut String, host: &HostPlan) {
    let _ = writeln!(
        out,
        "  {BOLD}# host.{}{BOLD:#} ({}) will be patched",
        host.name, host.address
    );
    let name_width = host
        .changes
        .iter()
        .map(|c| c.name.as_str().len())
        .max()
        .unwrap_or(0);
    let plain = |text: &str| anstream::adapter::strip_str(text).to_string();
    let version_width = host
        .changes
        .iter()
        .map(|c| plain(&version_change(c)).chars().count())
        .max()
        .unwrap_or(0);
    if let Some(hook) = &host.pre_hook {
        let _ = writeln!(out, "      pre_hook: {}", hook.display);
    }
    for change in &host.changes {
        let style = match change.kind {
            ChangeKind::Install => ADD,
            ChangeKind::Upgrade => CHANGE,
        };
        let versions = version_change(change);
        let padding = version_width - plain(&versions).chars().count();
        let _ = writeln!(
            out,
            "    {style}{}{style:#} {:<name_width$}  {versions}{}  {:<12}  {:<9}  {:<18}  {}",
            change.kind.symbol(),
            change.name.as_str(),
            " ".repeat(padding),
            classification(change),
            change.priority,
            change.suite,
            change.reason
        );
    }
    if let Some(reboot) = &host.reboot {
        let _ = writeln!(
            out,
            "    {REBOOT}{REBOOT_SYMBOL}{REBOOT:#} reboot ({}): {}, then wait for a new boot_id",
            reboot.option, reboot.reason
        );
    }
    if let Some(hook) = &host.post_hook {
        let _ = writeln!(out, "      post_hook: {}", hook.display);
    }
    if let Some(hook) = &host.health_check {
        let _ = writeln!(out, "      health_check: {}", hook.display);
    }
    out.push('\n');
}

/// The terminal view, Terraform's look: per group, per host, one line per package.
pub fn human(plan: &Plan) -> String {
    let mut out = String::new();
    if !plan.has_changes() {
        out.push_str("No changes. Every reachable host complies with its baseline.\n\n");
    } else {
        out.push_str("patchform will perform the following actions, in this order:\n\n");
    }
    for group in &plan.groups {
        let hosts: Vec<&HostPlan> = group
            .waves
            .iter()
            .flatten()
            .filter_map(|h| plan.hosts.get(h))
            .collect();
        if hosts.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{BOLD}{}{BOLD:#} (baseline {})",
            group.address, group.baseline
        );
        if !group.depends_on.is_empty() {
            let _ = writeln!(
                out,
                "  after {} succeeded on every host",
                group.depends_on.join(", ")
            );
        }
        let _ = writeln!(out, "  window {}", window_line(group));
        if let Some(task) = &group.task {
            let _ = writeln!(
                out,
                "  task {task}: {} host(s) at a time, stop after {} failed host(s), {}",
                group.max_concurrency,
                group.max_errors + 1,
                group.cutoff_behavior
            );
        }
        for (index, wave) in group.waves.iter().enumerate() {
            if group.waves.len() > 1 {
                let _ = writeln!(
                    out,
                    "  wave {} of {}: {}",
                    index + 1,
                    group.waves.len(),
                    wave.join(", ")
                );
            }
        }
        out.push('\n');
        for host in hosts {
            host_human(&mut out, host);
        }
    }
    let ungrouped: Vec<&HostPlan> = plan
        .hosts
        .values()
        .filter(|h| h.status == HostStatus::Patch && h.group.is_none())
        .collect();
    if !ungrouped.is_empty() {
        let _ = writeln!(out, "{BOLD}(hosts in no patch group){BOLD:#}\n");
        for host in ungrouped {
            host_human(&mut out, host);
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "{CHANGE}Warnings:{CHANGE:#}");
        for warning in &plan.warnings {
            let _ = writeln!(out, "  - {}: {}", warning.address, warning.message);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{BOLD}{}{BOLD:#}", summary_line(plan));
    out
}

/// `-compact-warnings`: one line saying how many warnings there are.
pub fn compact_warnings(plan: &Plan) -> String {
    let mut clone = plan.clone();
    let count = clone.warnings.len();
    clone.warnings.clear();
    let mut text = human(&clone);
    if count > 0 {
        let _ = writeln!(
            text,
            "{count} warning(s); run without -compact-warnings to see them."
        );
    }
    text
}

fn markdown_host(host: &HostPlan) -> String {
    let mut out = String::new();
    let reboot = if host.reboot.is_some() {
        ", reboot"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<details><summary><code>host.{}</code>: {} updates{reboot}</summary>\n",
        host.name,
        host.changes.len()
    );
    out.push_str("| | Package | From | To | Classification | Priority | Suite | Approved by |\n|---|---|---|---|---|---|---|---|\n");
    for change in &host.changes {
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | `{}` | {} | {} | {} | {} |",
            change.kind.symbol(),
            change.name,
            change
                .from
                .as_ref()
                .map_or("".to_owned(), |v| format!("`{v}`")),
            change.to,
            classification(change),
            change.priority,
            change.suite,
            change.reason
        );
    }
    if let Some(reboot) = &host.reboot {
        let _ = writeln!(
            out,
            "\n{REBOOT_SYMBOL} Reboot ({}): {}",
            reboot.option, reboot.reason
        );
    }
    for (name, hook) in [
        ("pre_hook", &host.pre_hook),
        ("post_hook", &host.post_hook),
        ("health_check", &host.health_check),
    ] {
        if let Some(hook) = hook {
            let _ = writeln!(out, "\n{name}: `{}`", hook.display.replace('`', "'"));
        }
    }
    out.push_str("\n</details>\n\n");
    out
}

/// Markdown for a pull request, split into parts that each fit in one GitHub comment. No
/// timestamps, so the same plan renders the same text every day.
pub fn markdown(plan: &Plan) -> Vec<String> {
    let mut head = String::from("## patchform plan\n\n");
    let _ = writeln!(head, "**{}**\n", summary_line(plan));
    let mut blocks: Vec<String> = Vec::new();
    for group in &plan.groups {
        let hosts: Vec<&HostPlan> = group
            .waves
            .iter()
            .flatten()
            .filter_map(|h| plan.hosts.get(h))
            .collect();
        if hosts.is_empty() {
            continue;
        }
        let mut table = format!("### `{}`\n\nBaseline `{}`", group.address, group.baseline);
        if let Some(w) = &group.window {
            let _ = write!(table, ", window `{}` ({})", w.window, w.time_zone);
        }
        if !group.depends_on.is_empty() {
            let _ = write!(
                table,
                ", after {}",
                group
                    .depends_on
                    .iter()
                    .map(|d| format!("`{d}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        table.push_str(".\n\n| Wave | Hosts | Updates | Reboots |\n|---|---|---|---|\n");
        for (index, wave) in group.waves.iter().enumerate() {
            let wave_hosts: Vec<&HostPlan> =
                wave.iter().filter_map(|h| plan.hosts.get(h)).collect();
            let _ = writeln!(
                table,
                "| {} | {} | {} | {} |",
                index + 1,
                wave.join(", "),
                wave_hosts.iter().map(|h| h.changes.len()).sum::<usize>(),
                wave_hosts.iter().filter(|h| h.reboot.is_some()).count()
            );
        }
        table.push('\n');
        blocks.push(table);
        for host in hosts {
            blocks.push(markdown_host(host));
        }
    }
    for host in plan
        .hosts
        .values()
        .filter(|h| h.status == HostStatus::Patch && h.group.is_none())
    {
        blocks.push(markdown_host(host));
    }
    if !plan.warnings.is_empty() {
        let mut warnings = String::from("### Warnings\n\n");
        for warning in &plan.warnings {
            let _ = writeln!(
                warnings,
                "- `{}`: {}",
                warning.address,
                warning.message.replace('|', "\\|")
            );
        }
        blocks.push(warnings);
    }
    split_parts(&head, &blocks)
}

/// Packs blocks into parts below the limit, numbering them when there is more than one.
fn split_parts(head: &str, blocks: &[String]) -> Vec<String> {
    // Room for the "(part N of M)" line added afterwards.
    let budget = MARKDOWN_PART_LIMIT - 64;
    let mut parts: Vec<String> = vec![head.to_owned()];
    for block in blocks {
        let block: String = if block.len() > budget {
            // A single host's table over the limit: cut it at a line boundary.
            let cut = block[..budget].rfind('\n').unwrap_or(budget);
            format!(
                "{}\n\n(truncated: see `patchform show` for the rest)\n</details>\n\n",
                &block[..cut]
            )
        } else {
            block.clone()
        };
        let last = parts.last_mut().map_or(0, |p| p.len());
        if last + block.len() > budget {
            parts.push(String::new());
        }
        if let Some(part) = parts.last_mut() {
            part.push_str(&block);
        }
    }
    let total = parts.len();
    if total > 1 {
        for (index, part) in parts.iter_mut().enumerate() {
            *part = format!("_(part {} of {total})_\n\n{part}", index + 1);
        }
    }
    parts
}

/// `show -json`: Terraform's plan JSON shape where it fits, plus the whole plan.
#[derive(Serialize, JsonSchema)]
pub struct JsonPlan<'a> {
    pub format_version: &'static str,
    pub applyable: bool,
    pub errored: bool,
    pub resource_changes: Vec<ResourceChange>,
    /// The plan with every hook's `command` replaced by its redacted `display`.
    pub plan: std::borrow::Cow<'a, Plan>,
}

#[derive(Serialize, JsonSchema)]
pub struct ResourceChange {
    /// `host.web-1.package.openssl` or `host.web-1.reboot`.
    pub address: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub host: String,
    pub name: String,
    pub change: Change,
    pub action_reason: String,
}

#[derive(Serialize, JsonSchema)]
pub struct Change {
    pub actions: Vec<&'static str>,
    pub before: Option<ChangeValue>,
    pub after: Option<ChangeValue>,
}

/// The `before`/`after` object of a change: a package version, or a reboot.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ChangeValue {
    Package {
        version: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        classification: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        suite: Option<String>,
    },
    Reboot {
        option: &'static str,
    },
}

pub fn json_view(plan: &Plan) -> JsonPlan<'_> {
    let mut resource_changes = Vec::new();
    for host in plan.hosts.values() {
        for change in &host.changes {
            resource_changes.push(ResourceChange {
                address: format!("host.{}.package.{}", host.name, change.name),
                kind: "package",
                host: host.name.clone(),
                name: change.name.as_str().to_owned(),
                change: Change {
                    actions: vec![change.kind.action()],
                    before: change.from.as_ref().map(|v| ChangeValue::Package {
                        version: v.as_str().to_owned(),
                        classification: None,
                        suite: None,
                    }),
                    after: Some(ChangeValue::Package {
                        version: change.to.as_str().to_owned(),
                        classification: Some(classification(change)),
                        suite: Some(change.suite.clone()),
                    }),
                },
                action_reason: change.reason.clone(),
            });
        }
        if let Some(reboot) = &host.reboot {
            resource_changes.push(ResourceChange {
                address: format!("host.{}.reboot", host.name),
                kind: "reboot",
                host: host.name.clone(),
                name: "reboot".to_owned(),
                change: Change {
                    actions: vec!["create"],
                    before: None,
                    after: Some(ChangeValue::Reboot {
                        option: reboot.option.as_str(),
                    }),
                },
                action_reason: reboot.reason.clone(),
            });
        }
    }
    // A hook's `command` holds sensitive values so apply can run it; like every other
    // rendering, JSON shows the redacted `display` in its place. Copy the plan only then.
    let hooks_redacted = plan.hosts.values().any(|h| {
        [&h.pre_hook, &h.post_hook, &h.health_check]
            .into_iter()
            .flatten()
            .any(|hook| hook.command != hook.display)
    });
    if !hooks_redacted {
        return JsonPlan {
            format_version: "1.0",
            applyable: plan.has_changes(),
            errored: false,
            resource_changes,
            plan: std::borrow::Cow::Borrowed(plan),
        };
    }
    let mut redacted = plan.clone();
    for host in redacted.hosts.values_mut() {
        for hook in [
            &mut host.pre_hook,
            &mut host.post_hook,
            &mut host.health_check,
        ]
        .into_iter()
        .flatten()
        {
            hook.command.clone_from(&hook.display);
        }
    }
    JsonPlan {
        format_version: "1.0",
        applyable: plan.has_changes(),
        errored: false,
        resource_changes,
        plan: std::borrow::Cow::Owned(redacted),
    }
}

/// Compact, one line, as `terraform show -json` prints it.
pub fn json(plan: &Plan) -> String {
    serde_json::to_string(&json_view(plan)).unwrap_or_default() + "\n"
}

/// The JSON Schema of `show -json`, committed as docs/plan.schema.json.
pub fn json_schema() -> String {
    serde_json::to_string_pretty(&schemars::schema_for!(JsonPlan<'static>)).unwrap_or_default()
        + "\n"
}

/// The step graph in DOT.
pub fn dot(plan: &Plan) -> String {
    let graph = plan.graph().map(|_, step| step.id.clone(), |_, ()| "");
    format!(
        "{}",
        petgraph::dot::Dot::with_config(&graph, &[petgraph::dot::Config::EdgeNoLabel])
    )
}
