//! Diagnostics as text with a source snippet, and as Terraform-shaped JSON.

use crate::diag::{Diagnostic, Diagnostics, Severity, SourceMap};
use anstyle::{AnsiColor, Style};
use serde::Serialize;
use std::fmt::Write as _;

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const BOLD: Style = Style::new().bold();

/// Renders every diagnostic, each followed by a blank line.
pub fn human(diags: &Diagnostics, sources: &SourceMap) -> String {
    let mut out = String::new();
    for diagnostic in diags.iter() {
        one(&mut out, diagnostic, sources);
        out.push('\n');
    }
    out
}

fn one(out: &mut String, diagnostic: &Diagnostic, sources: &SourceMap) {
    let (label, style) = match diagnostic.severity {
        Severity::Error => ("Error", ERROR),
        Severity::Warning => ("Warning", WARNING),
    };
    let _ = writeln!(
        out,
        "{style}{label}:{style:#} {BOLD}{}{BOLD:#}",
        diagnostic.summary
    );
    if let Some(span) = &diagnostic.span {
        let file = sources.file(span.file);
        let (line, column) = sources.line_column(span.file, span.range.start);
        let text = file.text.lines().nth(line - 1).unwrap_or("");
        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}--> {}:{line}:{column}", file.name);
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{line} | {}", text.trim_end());
        // Underline the span on its first line; a span running past the line stops at its end.
        let start_char = column - 1;
        let line_chars = text.trim_end().chars().count();
        let span_text = file
            .text
            .get(span.range.clone())
            .unwrap_or("")
            .split('\n')
            .next()
            .unwrap_or("");
        let width = span_text
            .chars()
            .count()
            .min(line_chars.saturating_sub(start_char))
            .max(1);
        let _ = writeln!(
            out,
            "{pad} | {}{style}{}{style:#}",
            " ".repeat(start_char),
            "^".repeat(width)
        );
        let _ = writeln!(out, "{pad} |");
    }
    if !diagnostic.detail.is_empty() {
        let _ = writeln!(out, "{}", diagnostic.detail);
    }
}

/// `validate -json`, shaped like Terraform's so existing CI tooling can read it.
#[derive(Serialize)]
struct Report<'a> {
    format_version: &'static str,
    valid: bool,
    error_count: usize,
    warning_count: usize,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: Severity,
    summary: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    range: Option<Range<'a>>,
}

#[derive(Serialize)]
struct Range<'a> {
    filename: &'a str,
    start: Position,
    end: Position,
}

#[derive(Serialize)]
struct Position {
    line: usize,
    column: usize,
    byte: usize,
}

pub fn json(diags: &Diagnostics, sources: &SourceMap) -> String {
    let position = |file, byte| {
        let (line, column) = sources.line_column(file, byte);
        Position { line, column, byte }
    };
    let report = Report {
        format_version: "1.0",
        valid: !diags.has_errors(),
        error_count: diags.count(Severity::Error),
        warning_count: diags.count(Severity::Warning),
        diagnostics: diags
            .iter()
            .map(|d| JsonDiagnostic {
                severity: d.severity,
                summary: &d.summary,
                detail: &d.detail,
                range: d.span.as_ref().map(|s| Range {
                    filename: &sources.file(s.file).name,
                    start: position(s.file, s.range.start),
                    end: position(s.file, s.range.end),
                }),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
}
