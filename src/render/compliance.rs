//! Compliance reports: table (terminal), JSON, CSV (AWS compliance CSV columns where they
//! apply), JUnit (non-compliant hosts become failed test cases) and Markdown.

use crate::compliance::{
    ComplianceReport, ComplianceStatus, HostCompliance, HostReport, HostResult, PatchState,
};
use anstyle::{AnsiColor, Style};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const GOOD: Style = AnsiColor::Green.on_default();
const BAD: Style = AnsiColor::Red.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default();
const BOLD: Style = Style::new().bold();

/// One-word status of a host, shared by every format.
fn status(result: &HostResult) -> &'static str {
    match result {
        HostResult::Evaluated(c) => match c.status {
            ComplianceStatus::Compliant => "COMPLIANT",
            ComplianceStatus::NonCompliant => "NON_COMPLIANT",
        },
        HostResult::Unreachable { .. } => "UNREACHABLE",
        HostResult::Failed { .. } => "SCAN_FAILED",
        HostResult::NoBaseline { .. } => "NO_BASELINE",
        HostResult::NotScanned => "NOT_SCANNED",
    }
}

fn reason(result: &HostResult) -> String {
    match result {
        HostResult::Evaluated(c) => summary_counts(c),
        HostResult::Unreachable { reason } | HostResult::Failed { reason } => reason.clone(),
        HostResult::NoBaseline { os } => format!("no baseline applies to {os}"),
        HostResult::NotScanned => "not in the last scan; run `patchform scan`".to_owned(),
    }
}

fn summary_counts(compliance: &HostCompliance) -> String {
    compliance
        .counts
        .iter()
        .filter(|(state, _)| **state != PatchState::InstalledOther)
        .map(|(state, n)| format!("{}={n}", state.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn groups(report: &ComplianceReport) -> BTreeMap<&str, Vec<&HostReport>> {
    let mut groups: BTreeMap<&str, Vec<&HostReport>> = BTreeMap::new();
    for host in &report.hosts {
        groups
            .entry(host.group.as_deref().unwrap_or("(no patch group)"))
            .or_default()
            .push(host);
    }
    groups
}

/// Tally line: `3 hosts: 1 compliant, 1 non-compliant, 1 unreachable.`
pub fn summary_line(report: &ComplianceReport) -> String {
    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    for host in &report.hosts {
        *tally.entry(status(&host.result)).or_default() += 1;
    }
    let parts: Vec<String> = tally
        .iter()
        .map(|(s, n)| format!("{n} {}", s.to_lowercase().replace('_', "-")))
        .collect();
    format!("{} hosts: {}.", report.hosts.len(), parts.join(", "))
}

pub fn table(report: &ComplianceReport) -> String {
    let mut out = String::new();
    let width = report
        .hosts
        .iter()
        .map(|h| h.host.len())
        .max()
        .unwrap_or(4)
        .max(4);
    for (group, hosts) in groups(report) {
        let _ = writeln!(out, "{BOLD}{group}{BOLD:#}");
        for host in hosts {
            let word = status(&host.result);
            let style = match word {
                "COMPLIANT" => GOOD,
                "NON_COMPLIANT" => BAD,
                _ => WARN,
            };
            let level = match &host.result {
                HostResult::Evaluated(c) => c.level.map(|l| l.to_string()).unwrap_or_default(),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {:<width$}  {style}{:<13}{style:#}  {:<13}  {}",
                host.host,
                word,
                level,
                reason(&host.result)
            );
            for warning in &host.warnings {
                let _ = writeln!(out, "  {:<width$}    {WARN}warning:{WARN:#} {warning}", "");
            }
            if let HostResult::Evaluated(c) = &host.result {
                for package in c.packages.iter().filter(|p| {
                    matches!(
                        p.state,
                        PatchState::Missing
                            | PatchState::Failed
                            | PatchState::InstalledPendingReboot
                            | PatchState::InstalledRejected
                    )
                }) {
                    let target = package
                        .target
                        .as_ref()
                        .map(|t| format!(" -> {t}"))
                        .unwrap_or_default();
                    let blocked = package
                        .blocked
                        .as_ref()
                        .map(|b| format!(" (blocked: {b})"))
                        .unwrap_or_default();
                    let new = if package.new_package {
                        " (new dependency)"
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        out,
                        "  {:<width$}    {} {}{target}{new}{blocked}",
                        "",
                        package.state.as_str(),
                        package.name
                    );
                }
            }
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(report));
    out
}

pub fn json(report: &ComplianceReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_default() + "\n"
}

/// One row per reported package (and one per host that could not be evaluated).
pub fn csv(report: &ComplianceReport) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = [
        "ResourceId",
        "ResourceType",
        "ComplianceType",
        "Status",
        "Severity",
        "Id",
        "Title",
        "State",
        "InstalledVersion",
        "TargetVersion",
        "Classification",
        "PatchBaselineId",
        "PatchGroup",
        "ExecutionTime",
    ];
    let _ = writer.write_record(header);
    let time = report.scanned_at.to_string();
    for host in &report.hosts {
        let group = host.group.clone().unwrap_or_default();
        match &host.result {
            HostResult::Evaluated(c) => {
                let host_status = status(&host.result);
                for p in &c.packages {
                    let _ = writer.write_record([
                        host.host.as_str(),
                        "ManagedInstance",
                        "Patch",
                        host_status,
                        p.compliance_level.as_str(),
                        p.name.as_str(),
                        format!(
                            "{} {}",
                            p.name,
                            p.target.as_ref().map(|t| t.to_string()).unwrap_or_default()
                        )
                        .trim(),
                        p.state.as_str(),
                        &p.installed
                            .as_ref()
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
                        &p.target.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                        &p.classification
                            .map(|c| format!("{c:?}"))
                            .unwrap_or_default(),
                        &c.baseline,
                        &group,
                        &time,
                    ]);
                }
            }
            other => {
                let _ = writer.write_record([
                    host.host.as_str(),
                    "ManagedInstance",
                    "Patch",
                    status(other),
                    "",
                    "",
                    &reason(other),
                    "",
                    "",
                    "",
                    "",
                    "",
                    &group,
                    &time,
                ]);
            }
        }
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: a test suite per patch group, a test case per host; anything not compliant fails.
pub fn junit(report: &ComplianceReport) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"patchform compliance\">\n",
    );
    for (group, hosts) in groups(report) {
        let failures = hosts
            .iter()
            .filter(|h| status(&h.result) != "COMPLIANT")
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">",
            xml_escape(group),
            hosts.len()
        );
        for host in hosts {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml_escape(group),
                xml_escape(&host.host)
            );
            if status(&host.result) == "COMPLIANT" {
                out.push_str("/>\n");
                continue;
            }
            let mut body = reason(&host.result);
            if let HostResult::Evaluated(c) = &host.result {
                for p in c.packages.iter().filter(|p| {
                    matches!(
                        p.state,
                        PatchState::Missing
                            | PatchState::Failed
                            | PatchState::InstalledPendingReboot
                            | PatchState::InstalledRejected
                    )
                }) {
                    let _ = write!(body, "\n{} {}", p.state.as_str(), p.name);
                }
            }
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                status(&host.result),
                xml_escape(&body)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

pub fn markdown(report: &ComplianceReport) -> String {
    let mut out = String::from(
        "## Patch compliance\n\n| Host | Group | Status | Level | Details |\n|---|---|---|---|---|\n",
    );
    for host in &report.hosts {
        let level = match &host.result {
            HostResult::Evaluated(c) => c.level.map(|l| l.to_string()).unwrap_or_default(),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            host.host,
            host.group.as_deref().unwrap_or("-"),
            status(&host.result),
            level,
            reason(&host.result).replace('|', "\\|")
        );
    }
    let _ = writeln!(out, "\n{}", summary_line(report));
    out
}
