//! Apply results: progress lines, the final report, and report files (JSON, JUnit, Markdown).

use crate::apply::{ApplyReport, Event, HostOutcome, HostReport, PackageState};
use std::fmt::Write as _;

fn detail(report: &HostReport) -> String {
    match &report.outcome {
        HostOutcome::Succeeded => {
            let installed = report
                .packages
                .iter()
                .filter(|p| p.state == PackageState::Installed)
                .count();
            format!(
                "{installed} package(s) installed{}",
                if report.rebooted { ", rebooted" } else { "" }
            )
        }
        HostOutcome::Failed { class, message } => format!("{}: {message}", class.as_str()),
        HostOutcome::Skipped { reason } | HostOutcome::NotStarted { reason } => reason.clone(),
    }
}

/// One progress line per event, for logs and terminals alike.
pub fn event_line(event: &Event) -> Option<String> {
    match event {
        Event::HostStarted { host, group } => Some(format!(
            "host.{host}: started ({})",
            group.as_deref().unwrap_or("no patch group")
        )),
        Event::Step { host, step } => Some(format!("host.{host}: {step}")),
        Event::HostFinished(report) => Some(format!(
            "host.{}: {} - {}",
            report.host,
            report.outcome.word(),
            detail(report)
        )),
        Event::GroupFinished { group, succeeded } => Some(format!(
            "{group}: {}",
            if *succeeded {
                "every host succeeded"
            } else {
                "not every host succeeded"
            }
        )),
    }
}

/// `-json`: one machine-readable object per event.
pub fn event_json(event: &Event, at: jiff::Timestamp) -> String {
    let value = match event {
        Event::HostStarted { host, group } => {
            serde_json::json!({ "type": "host_started", "host": host, "group": group })
        }
        Event::Step { host, step } => {
            serde_json::json!({ "type": "step", "host": host, "step": step })
        }
        Event::HostFinished(report) => {
            serde_json::json!({ "type": "host_finished", "report": report })
        }
        Event::GroupFinished { group, succeeded } => {
            serde_json::json!({ "type": "group_finished", "group": group, "succeeded": succeeded })
        }
    };
    let mut value = value;
    value["@timestamp"] = serde_json::Value::String(at.to_string());
    serde_json::to_string(&value).unwrap_or_default()
}

pub fn summary_line(report: &ApplyReport) -> String {
    let count = |word: &str| {
        report
            .hosts
            .values()
            .filter(|h| h.outcome.word() == word)
            .count()
    };
    let reboots = report.hosts.values().filter(|h| h.rebooted).count();
    format!(
        "Apply complete: {} succeeded, {} failed, {} skipped, {} not started; {reboots} rebooted{}.",
        count("SUCCEEDED"),
        count("FAILED"),
        count("SKIPPED"),
        count("NOT_STARTED"),
        if report.ignored_window {
            " (maintenance windows ignored with -ignore-window)"
        } else {
            ""
        }
    )
}

pub fn human(report: &ApplyReport) -> String {
    let mut out = String::new();
    let width = report.hosts.keys().map(String::len).max().unwrap_or(4);
    for host in report.hosts.values() {
        let duration = host
            .duration_seconds()
            .map(|s| format!(" in {s:.1}s"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<width$}  {:<11}  {}{duration}",
            host.host,
            host.outcome.word(),
            detail(host)
        );
        for package in &host.packages {
            if package.state != PackageState::Installed && host.outcome != HostOutcome::Succeeded {
                let _ = writeln!(
                    out,
                    "  {:<width$}    {:?} {} {}",
                    "", package.state, package.name, package.to
                );
            }
        }
        if let Some(log) = &host.log_tail {
            for line in log.lines() {
                let _ = writeln!(out, "  {:<width$}    | {line}", "");
            }
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(report));
    out
}

pub fn json(report: &ApplyReport) -> String {
    serde_json::to_string_pretty(&serde_json::json!({ "format_version": "1.0", "report": report }))
        .unwrap_or_default()
        + "\n"
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn junit(report: &ApplyReport) -> String {
    let failures = report
        .hosts
        .values()
        .filter(|h| matches!(h.outcome, HostOutcome::Failed { .. }))
        .count();
    let skipped = report
        .hosts
        .values()
        .filter(|h| {
            matches!(
                h.outcome,
                HostOutcome::Skipped { .. } | HostOutcome::NotStarted { .. }
            )
        })
        .count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"patchform apply\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">\n",
        report.hosts.len()
    );
    for host in report.hosts.values() {
        let time = host.duration_seconds().unwrap_or(0.0);
        let _ = write!(
            out,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{time:.1}\"",
            xml_escape(host.group.as_deref().unwrap_or("none")),
            xml_escape(&host.host)
        );
        match &host.outcome {
            HostOutcome::Succeeded => out.push_str("/>\n"),
            HostOutcome::Failed { class, message } => {
                let _ = writeln!(
                    out,
                    ">\n    <failure type=\"{}\" message=\"{}\">{}</failure>\n  </testcase>",
                    xml_escape(class.as_str()),
                    xml_escape(message),
                    xml_escape(host.log_tail.as_deref().unwrap_or(""))
                );
            }
            HostOutcome::Skipped { reason } | HostOutcome::NotStarted { reason } => {
                let _ = writeln!(
                    out,
                    ">\n    <skipped message=\"{}\"/>\n  </testcase>",
                    xml_escape(reason)
                );
            }
        }
    }
    out.push_str("</testsuite>\n");
    out
}

pub fn markdown(report: &ApplyReport) -> String {
    let mut out = String::from(
        "## patchform apply\n\n| Host | Group | Result | Details |\n|---|---|---|---|\n",
    );
    for host in report.hosts.values() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            host.host,
            host.group.as_deref().unwrap_or("-"),
            host.outcome.word(),
            detail(host).replace('|', "\\|")
        );
    }
    let _ = writeln!(out, "\n{}", summary_line(report));
    out
}
