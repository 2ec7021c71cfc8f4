//! Canonical `terraform fmt`-style formatting of HCL configuration source.
//!
//! The source is parsed losslessly with `hcl::edit`, re-emitted as a flat
//! token stream (keeping every comment and every newline of the original),
//! and then laid out line by line with the same rules as HashiCorp's
//! `hclwrite` formatter: bracket-counted indentation, `=` alignment across
//! runs of single-line assignments, and trailing-comment alignment.

use hcl::edit::expr::{
    Array, Expression, ForExpr, ForIntro, FuncCall, Object, ObjectKey, ObjectValueAssignment,
    ObjectValueTerminator, TraversalOperator,
};
use hcl::edit::structure::{Attribute, Block, BlockLabel, Body, Structure};
use hcl::edit::{Decorate, Decorated, Ident, RawString, Span};
use std::ops::Range;

/// Formats HCL source the way `terraform fmt` does, keeping every comment.
pub(crate) fn format_source(src: &str) -> Result<String, hcl::edit::parser::Error> {
    let body: Body = src.parse()?;
    let mut printer = Printer {
        src,
        toks: Vec::new(),
    };
    printer.body(&body);
    Ok(layout(printer.toks))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    /// `{`, `[` or `(`: drives indentation.
    Open,
    /// `}`, `]` or `)`: drives indentation.
    Close,
    /// The `=` of an attribute or object item: the alignment anchor.
    Assign,
    /// `#`, `//` or `/* */` comment text, never altered.
    Comment,
    Newline,
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    text: String,
    /// Whether one space separates this token from the previous one on its line.
    space: bool,
}

impl Tok {
    fn is_line_comment(&self) -> bool {
        self.kind == Kind::Comment && !self.text.starts_with("/*")
    }

    /// Heredocs, multi-line templates and block comments carry their own
    /// line breaks, which must not be re-laid out.
    fn is_multiline(&self) -> bool {
        self.text.contains('\n')
    }

    fn is_heredoc(&self) -> bool {
        // No other token starts with `<<`: the operators are `<` and `<=`.
        self.kind == Kind::Word && self.text.starts_with("<<")
    }

    fn bracket_change(&self) -> isize {
        match self.kind {
            Kind::Open => 1,
            Kind::Close => -1,
            _ => 0,
        }
    }
}

/// Walks the syntax tree and emits tokens with normalised spacing. Newlines
/// only come from the source (decor or syntactically required ones), so the
/// output keeps the original line structure and therefore its meaning.
struct Printer<'a> {
    src: &'a str,
    toks: Vec<Tok>,
}

impl<'a> Printer<'a> {
    fn push(&mut self, kind: Kind, text: &str, space: bool) {
        // A line comment runs to the end of the line, so nothing may follow it.
        if kind != Kind::Newline && self.toks.last().is_some_and(Tok::is_line_comment) {
            self.newline();
        }
        let space = match self.toks.last() {
            None => false,
            Some(prev) if prev.kind == Kind::Newline => false,
            Some(prev) if prev.kind == Kind::Comment => text != ",",
            Some(prev) if kind == Kind::Comment => prev.kind != Kind::Open,
            Some(_) => space,
        };
        self.toks.push(Tok {
            kind,
            text: text.to_owned(),
            space,
        });
    }

    fn word(&mut self, text: &str, space: bool) {
        self.push(Kind::Word, text, space);
    }

    fn newline(&mut self) {
        self.push(Kind::Newline, "", false);
    }

    /// Emits the comments and newlines of decor text; plain spaces are
    /// dropped because spacing is re-derived.
    fn trivia(&mut self, mut text: &str) {
        while !text.is_empty() {
            let (piece, len) = next_trivia(text).unwrap_or((Trivia::Other, text.len()));
            match piece {
                Trivia::Newline => self.newline(),
                Trivia::Space => {}
                Trivia::Comment => self.push(Kind::Comment, text[..len].trim_end(), true),
                // Decor only ever holds trivia; anything else is kept verbatim
                // rather than silently dropped.
                Trivia::Other => self.word(text.trim(), true),
            }
            text = &text[len..];
        }
    }

    fn decorated(&mut self, node: &impl Decorate, emit: impl FnOnce(&mut Self)) {
        self.trivia(raw(node.decor().prefix()));
        emit(self);
        self.trivia(raw(node.decor().suffix()));
    }

    fn ident(&mut self, ident: &Decorated<Ident>, space: bool) {
        self.decorated(ident, |p| p.word(ident.as_str(), space));
    }

    /// Original text of a leaf so literals, strings, templates and heredoc
    /// bodies are reproduced byte for byte; `fallback` covers nodes without a
    /// span.
    fn verbatim(&self, span: Option<Range<usize>>, fallback: impl FnOnce() -> String) -> String {
        span.and_then(|span| self.src.get(span))
            .map_or_else(fallback, str::to_owned)
    }

    /// hcl-edit 0.10 leaves the decor of binary and traversal operators
    /// unresolved (it reads as empty), so the comments and newlines around
    /// those operators are recovered from the source between the operands.
    fn between(&self, from: &Expression, to: Option<Range<usize>>) -> Option<&'a str> {
        self.src.get(self.end_of(from)?..to?.start)
    }

    /// Source offset just past `expr` and its (resolved) suffix decor.
    fn end_of(&self, expr: &Expression) -> Option<usize> {
        let end = expr.span()?.end + raw(expr.decor().suffix()).len();
        (end <= self.src.len()).then_some(end)
    }

    fn body(&mut self, body: &Body) {
        for structure in body {
            self.structure(structure);
            self.newline();
        }
        self.trivia(raw(body.decor().suffix()));
    }

    fn structure(&mut self, structure: &Structure) {
        self.decorated(structure, |p| match structure {
            Structure::Attribute(attr) => p.attribute(attr),
            Structure::Block(block) => p.block(block),
        });
    }

    fn attribute(&mut self, attr: &Attribute) {
        self.ident(&attr.key, true);
        self.push(Kind::Assign, "=", true);
        self.expr(&attr.value, true);
    }

    fn block(&mut self, block: &Block) {
        self.ident(&block.ident, true);
        for label in &block.labels {
            self.decorated(label, |p| {
                let text = match label {
                    BlockLabel::Ident(ident) => ident.as_str().to_owned(),
                    BlockLabel::String(string) => p.verbatim(string.span(), || {
                        Expression::String(Decorated::new(string.value().clone())).to_string()
                    }),
                };
                p.word(&text, true);
            });
        }
        self.push(Kind::Open, "{", true);
        let body = &block.body;
        self.trivia(raw(body.decor().prefix()));
        if body.prefer_oneline() {
            // `name { key = value }` stays on one line, like hclwrite keeps it.
            for structure in body {
                self.structure(structure);
            }
            self.trivia(raw(body.decor().suffix()));
            self.push(Kind::Close, "}", !body.is_empty());
        } else {
            // The newline after `{` is syntax, not decor.
            self.newline();
            self.body(body);
            self.push(Kind::Close, "}", true);
        }
    }

    fn expr(&mut self, expr: &Expression, space: bool) {
        self.trivia(raw(expr.decor().prefix()));
        self.expr_inner(expr, space);
        let suffix = raw(expr.decor().suffix());
        // hcl-edit 0.10 stores the trivia between a grouping `...` and the
        // closing `}` as the suffix of the whole for expression; `for_expr`
        // already emitted it inside the braces.
        let inside = match expr {
            Expression::ForExpr(for_expr) => self.grouping_tail(for_expr, expr.span()),
            _ => None,
        };
        if inside != Some(suffix) {
            self.trivia(suffix);
        }
    }

    fn expr_inner(&mut self, expr: &Expression, space: bool) {
        match expr {
            Expression::Null(_)
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_)
            | Expression::StringTemplate(_)
            | Expression::HeredocTemplate(_)
            | Expression::Variable(_) => {
                let text = self.verbatim(expr.span(), || {
                    let mut bare = expr.clone();
                    bare.decor_mut().clear();
                    bare.to_string()
                });
                self.word(&text, space);
            }
            Expression::Array(array) => self.array(array, space),
            Expression::Object(object) => self.object(object, space),
            Expression::Parenthesis(paren) => {
                self.push(Kind::Open, "(", space);
                self.expr(paren.inner(), false);
                self.push(Kind::Close, ")", false);
            }
            Expression::Conditional(cond) => {
                self.expr(&cond.cond_expr, space);
                self.word("?", true);
                self.expr(&cond.true_expr, true);
                self.word(":", true);
                self.expr(&cond.false_expr, true);
            }
            Expression::FuncCall(call) => self.func_call(call, space),
            Expression::UnaryOp(op) => {
                self.word(op.operator.as_str(), space);
                self.expr(&op.expr, false);
            }
            Expression::BinaryOp(op) => {
                self.expr(&op.lhs_expr, space);
                let operator = op.operator.as_str();
                let around = self
                    .between(&op.lhs_expr, op.rhs_expr.span())
                    .and_then(|gap| gap.strip_suffix(raw(op.rhs_expr.decor().prefix())))
                    .and_then(|gap| {
                        let at = trivia_len(gap);
                        Some((&gap[..at], gap[at..].strip_prefix(operator)?))
                    })
                    .filter(|(_, after)| trivia_len(after) == after.len());
                if let Some((before, after)) = around {
                    self.trivia(before);
                    self.word(operator, true);
                    self.trivia(after);
                } else {
                    self.decorated(&op.operator, |p| p.word(operator, true));
                }
                self.expr(&op.rhs_expr, true);
            }
            Expression::Traversal(traversal) => {
                self.expr(&traversal.expr, space);
                let mut prev_end = self.end_of(&traversal.expr);
                for operator in &traversal.operators {
                    let before = prev_end
                        .zip(operator.span())
                        .and_then(|(end, span)| self.src.get(end..span.start))
                        .filter(|gap| trivia_len(gap) == gap.len());
                    self.trivia(before.unwrap_or(raw(operator.decor().prefix())));
                    self.traversal_operator(operator);
                    prev_end = operator.span().map(|span| span.end);
                }
            }
            Expression::ForExpr(for_expr) => self.for_expr(for_expr, expr.span(), space),
        }
    }

    fn traversal_operator(&mut self, operator: &TraversalOperator) {
        match operator {
            TraversalOperator::GetAttr(ident) => {
                self.word(".", false);
                self.ident(ident, false);
            }
            TraversalOperator::LegacyIndex(index) => {
                self.word(".", false);
                self.decorated(index, |p| p.word(&index.value().to_string(), false));
            }
            TraversalOperator::AttrSplat(splat) => {
                self.word(".", false);
                self.decorated(splat, |p| p.word("*", false));
            }
            TraversalOperator::FullSplat(splat) => {
                self.push(Kind::Open, "[", false);
                self.decorated(splat, |p| p.word("*", false));
                self.push(Kind::Close, "]", false);
            }
            TraversalOperator::Index(index) => {
                self.push(Kind::Open, "[", false);
                self.expr(index, false);
                self.push(Kind::Close, "]", false);
            }
        }
    }

    fn array(&mut self, array: &Array, space: bool) {
        self.push(Kind::Open, "[", space);
        for (i, value) in array.iter().enumerate() {
            if i > 0 {
                self.word(",", false);
            }
            self.expr(value, i > 0);
        }
        if array.trailing_comma() {
            self.word(",", false);
        }
        self.trivia(array.trailing());
        self.push(Kind::Close, "]", false);
    }

    fn object(&mut self, object: &Object, space: bool) {
        self.push(Kind::Open, "{", space);
        for (key, value) in object {
            match key {
                ObjectKey::Ident(ident) => self.ident(ident, true),
                ObjectKey::Expression(expr) => self.expr(expr, true),
            }
            match value.assignment() {
                ObjectValueAssignment::Equals => self.push(Kind::Assign, "=", true),
                ObjectValueAssignment::Colon => self.word(":", false),
            }
            self.expr(value.expr(), true);
            match value.terminator() {
                ObjectValueTerminator::Comma => self.word(",", false),
                ObjectValueTerminator::Newline => self.newline(),
                ObjectValueTerminator::None => {}
            }
        }
        self.trivia(object.trailing());
        // Braces get inner spaces (`{ a = 1 }`) unless empty (`{}`), as in hclwrite.
        self.push(Kind::Close, "}", !object.is_empty());
    }

    fn func_call(&mut self, call: &FuncCall, space: bool) {
        let mut space = space;
        for component in &call.name.namespace {
            self.ident(component, space);
            self.word("::", false);
            space = false;
        }
        self.ident(&call.name.name, space);
        let args = &call.args;
        self.decorated(args, |p| {
            p.push(Kind::Open, "(", false);
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    p.word(",", false);
                }
                p.expr(arg, i > 0);
            }
            if args.expand_final() {
                p.word("...", false);
            } else if args.trailing_comma() {
                p.word(",", false);
            }
            p.trivia(args.trailing());
            p.push(Kind::Close, ")", false);
        });
    }

    /// Source trivia between the grouping `...` of a condition-less object
    /// for expression and its closing `}`.
    fn grouping_tail(&self, for_expr: &ForExpr, span: Option<Range<usize>>) -> Option<&'a str> {
        if !for_expr.grouping || for_expr.cond.is_some() {
            return None;
        }
        let start = self.end_of(&for_expr.value_expr)?;
        let tail = self.src.get(start..span?.end.checked_sub(1)?)?;
        let tail = tail[trivia_len(tail)..].strip_prefix("...")?;
        (trivia_len(tail) == tail.len()).then_some(tail)
    }

    fn for_expr(&mut self, for_expr: &ForExpr, span: Option<Range<usize>>, space: bool) {
        let is_object = for_expr.key_expr.is_some();
        let (open, close) = if is_object { ("{", "}") } else { ("[", "]") };
        self.push(Kind::Open, open, space);
        self.for_intro(&for_expr.intro, is_object);
        if let Some(key_expr) = &for_expr.key_expr {
            self.expr(key_expr, true);
            self.word("=>", true);
        }
        self.expr(&for_expr.value_expr, true);
        if for_expr.grouping {
            self.word("...", false);
            if let Some(tail) = self.grouping_tail(for_expr, span) {
                self.trivia(tail);
            }
        }
        if let Some(cond) = &for_expr.cond {
            self.decorated(cond, |p| {
                p.word("if", true);
                p.expr(&cond.expr, true);
            });
        }
        self.push(Kind::Close, close, is_object);
    }

    fn for_intro(&mut self, intro: &ForIntro, space: bool) {
        self.decorated(intro, |p| {
            p.word("for", space);
            if let Some(key_var) = &intro.key_var {
                p.ident(key_var, true);
                p.word(",", false);
            }
            p.ident(&intro.value_var, true);
            p.word("in", true);
            p.expr(&intro.collection_expr, true);
            p.word(":", true);
        });
    }
}

fn raw(decor: Option<&RawString>) -> &str {
    decor.map_or("", |raw| raw)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trivia {
    Newline,
    Space,
    Comment,
    Other,
}

/// Classifies the trivia piece at the start of `text` and its byte length,
/// or `None` when `text` starts with something that is not trivia.
fn next_trivia(text: &str) -> Option<(Trivia, usize)> {
    let piece = match text.as_bytes().first()? {
        b'\n' => (Trivia::Newline, 1),
        b' ' | b'\t' | b'\r' => (Trivia::Space, 1),
        b'#' => (Trivia::Comment, text.find('\n').unwrap_or(text.len())),
        _ if text.starts_with("//") => (Trivia::Comment, text.find('\n').unwrap_or(text.len())),
        _ if text.starts_with("/*") => (
            Trivia::Comment,
            text[2..].find("*/").map_or(text.len(), |end| end + 4),
        ),
        _ => return None,
    };
    Some(piece)
}

/// Byte length of the whitespace and comments at the start of `text`.
fn trivia_len(text: &str) -> usize {
    let mut len = 0;
    while let Some((_, piece)) = next_trivia(&text[len..]) {
        len += piece;
    }
    len
}

/// One output line split into hclwrite's cells: everything before the
/// alignment anchor, the assignment from `=` on, and a trailing comment.
#[derive(Default)]
struct Line {
    indent: usize,
    lead: Vec<Tok>,
    assign: Vec<Tok>,
    comment: Option<Tok>,
}

impl Line {
    fn new(mut lead: Vec<Tok>) -> Self {
        let mut line = Line::default();
        // Columns after an embedded line break are meaningless, so such lines
        // get no trailing-comment cell.
        let multiline = lead.iter().any(Tok::is_multiline);
        if !multiline && lead.len() > 1 && lead.last().is_some_and(|tok| tok.kind == Kind::Comment)
        {
            line.comment = lead.pop();
        }
        // Only a value that closes all its brackets on this line is
        // "single-line" and may join an alignment run (hashicorp/terraform#30278).
        // A heredoc counts as single-line, as in hclwrite where its body is one
        // opaque token, so `name = <<EOT` aligns with its neighbours.
        if let Some(at) = lead.iter().skip(1).position(|tok| tok.kind == Kind::Assign)
            && net_brackets(&lead[at + 1..]) == 0
            && !lead[..=at].iter().any(Tok::is_multiline)
            && lead[at + 1..]
                .iter()
                .all(|tok| !tok.is_multiline() || tok.is_heredoc())
        {
            line.assign = lead.split_off(at + 1);
        }
        line.lead = lead;
        line
    }

    fn lead_width(&self) -> usize {
        self.indent + width(&self.lead)
    }
}

fn net_brackets(toks: &[Tok]) -> isize {
    toks.iter().map(Tok::bracket_change).sum()
}

fn width(toks: &[Tok]) -> usize {
    toks.iter()
        .enumerate()
        .map(|(i, tok)| usize::from(i > 0 && tok.space) + tok.text.chars().count())
        .sum()
}

fn render(out: &mut String, toks: &[Tok]) {
    for (i, tok) in toks.iter().enumerate() {
        if i > 0 && tok.space {
            out.push(' ');
        }
        out.push_str(&tok.text);
    }
}

fn layout(toks: Vec<Tok>) -> String {
    let mut lines: Vec<Line> = Vec::new();
    let mut current = Vec::new();
    let mut blank_pending = false;
    for tok in toks.into_iter().chain(std::iter::once(Tok {
        kind: Kind::Newline,
        text: String::new(),
        space: false,
    })) {
        if tok.kind != Kind::Newline {
            current.push(tok);
            continue;
        }
        if current.is_empty() {
            // Runs of blank lines shrink to one; leading ones disappear.
            blank_pending = !lines.is_empty();
            continue;
        }
        if blank_pending {
            lines.push(Line::default());
            blank_pending = false;
        }
        lines.push(Line::new(std::mem::take(&mut current)));
    }
    indent(&mut lines);
    let assign_columns: Vec<Option<usize>> = lines
        .iter()
        .map(|line| (!line.assign.is_empty()).then(|| line.lead_width()))
        .collect();
    let assign_pad = align(&assign_columns);
    // Comments align after the assignments have moved into place.
    let comment_columns: Vec<Option<usize>> = lines
        .iter()
        .zip(&assign_pad)
        .map(|(line, pad)| {
            let assign = if line.assign.is_empty() {
                0
            } else {
                pad + width(&line.assign)
            };
            line.comment.as_ref().map(|_| line.lead_width() + assign)
        })
        .collect();
    let comment_pad = align(&comment_columns);

    let mut out = String::new();
    for ((line, assign_pad), comment_pad) in lines.iter().zip(assign_pad).zip(comment_pad) {
        if !line.lead.is_empty() {
            out.extend(std::iter::repeat_n(' ', line.indent));
            render(&mut out, &line.lead);
        }
        if !line.assign.is_empty() {
            out.extend(std::iter::repeat_n(' ', assign_pad));
            render(&mut out, &line.assign);
        }
        if let Some(comment) = &line.comment {
            out.extend(std::iter::repeat_n(' ', comment_pad));
            out.push_str(&comment.text);
        }
        out.push('\n');
    }
    out
}

/// hclwrite's indentation: a line opening brackets indents the following
/// lines one level (however many it opens), and lines closing them return to
/// the matching level. Leading closers are applied first, so `}, {` sits at
/// the level of the braces it closes and reopens.
fn indent(lines: &mut [Line]) {
    fn close(levels: &mut Vec<isize>, mut count: isize) {
        while count > 0
            && let Some(top) = levels.last_mut()
        {
            if count < *top {
                *top -= count;
                count = 0;
            } else {
                count -= *top;
                levels.pop();
            }
        }
    }

    let mut levels: Vec<isize> = Vec::new();
    for line in lines {
        let toks: Vec<&Tok> = line.lead.iter().chain(&line.assign).collect();
        let leading = toks
            .iter()
            .take_while(|tok| tok.kind == Kind::Close)
            .count();
        close(&mut levels, isize::try_from(leading).unwrap_or(isize::MAX));
        line.indent = 2 * levels.len();
        let net: isize = toks[leading..].iter().map(|tok| tok.bracket_change()).sum();
        if net > 0 {
            levels.push(net);
        } else {
            close(&mut levels, -net);
        }
    }
}

/// Padding before an aligned cell: consecutive lines that have the cell
/// (`Some(natural start column)`) share the widest start plus one space.
fn align(columns: &[Option<usize>]) -> Vec<usize> {
    let mut pads = vec![1; columns.len()];
    let mut start = 0;
    while start < columns.len() {
        let end = columns[start..]
            .iter()
            .position(Option::is_none)
            .map_or(columns.len(), |len| start + len);
        let widest = columns[start..end].iter().flatten().max().copied();
        for (pad, col) in pads[start..end].iter_mut().zip(&columns[start..end]) {
            if let (Some(widest), Some(col)) = (widest, col) {
                *pad = widest - col + 1;
            }
        }
        start = end + 1;
    }
    pads
}

#[cfg(test)]
mod tests {
    use super::format_source;
    use proptest::prelude::*;
    use std::fs;
    use std::path::{Path, PathBuf};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fmt");

    fn cases() -> Vec<PathBuf> {
        let mut cases: Vec<PathBuf> = fs::read_dir(FIXTURES)
            .expect("fixture directory exists")
            .map(|entry| entry.expect("readable fixture entry").path())
            .filter(|path| path.is_dir())
            .collect();
        cases.sort();
        assert!(cases.len() >= 8, "expected at least 8 fixture cases");
        cases
    }

    fn read(case: &Path, name: &str) -> String {
        fs::read_to_string(case.join(name))
            .unwrap_or_else(|err| panic!("{}/{name}: {err}", case.display()))
    }

    #[test]
    fn fixtures_format_to_expected() {
        for case in cases() {
            let got = format_source(&read(&case, "input.hcl")).expect("fixture input parses");
            let want = read(&case, "expected.hcl");
            assert!(
                got == want,
                "{}: formatted output differs from expected.hcl:\n{}",
                case.display(),
                similar::TextDiff::from_lines(&want, &got)
                    .unified_diff()
                    .header("expected", "got")
            );
        }
    }

    #[test]
    fn fixtures_are_idempotent() {
        for case in cases() {
            for name in ["input.hcl", "expected.hcl"] {
                let once = format_source(&read(&case, name)).expect("fixture parses");
                let twice = format_source(&once).expect("formatted output parses");
                assert_eq!(once, twice, "{}/{name} is not idempotent", case.display());
            }
        }
    }

    #[test]
    fn fixtures_keep_their_meaning() {
        for case in cases() {
            let input = read(&case, "input.hcl");
            let formatted = format_source(&input).expect("fixture input parses");
            assert_eq!(
                hcl::parse(&input).expect("input parses"),
                hcl::parse(&formatted).expect("output parses"),
                "{}: formatting changed the meaning",
                case.display()
            );
        }
    }

    /// The formatter may only move whitespace, so dropping all whitespace
    /// must give identical text; this catches lost or duplicated comments.
    fn without_whitespace(text: &str) -> String {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    }

    #[test]
    fn fixtures_change_only_whitespace() {
        for case in cases() {
            let input = read(&case, "input.hcl");
            let formatted = format_source(&input).expect("fixture input parses");
            assert_eq!(
                without_whitespace(&input),
                without_whitespace(&formatted),
                "{}: formatting changed more than whitespace",
                case.display()
            );
        }
    }

    #[test]
    fn comments_around_operators_survive() {
        // hcl-edit 0.10 does not resolve operator decor; see `Printer::between`.
        let src = "x = (a /* c1 */ + # c2\n b\n .c # c3\n /* c4 */ .d)\n";
        let want = "x = (a /* c1 */ + # c2\n  b\n  .c # c3\n  /* c4 */ .d)\n";
        assert_eq!(format_source(src).unwrap(), want);
        // `/*/` must not be mistaken for an empty block comment.
        let src = "y = a !=/*/ odd */b\n";
        assert_eq!(format_source(src).unwrap(), "y = a != /*/ odd */ b\n");
        // Trivia after a grouping `...` lives in the wrong place in hcl-edit.
        let src = "z = {for k, v in m : k => v... /* g */}\n";
        let want = "z = { for k, v in m : k => v... /* g */ }\n";
        assert_eq!(format_source(src).unwrap(), want);
    }

    #[test]
    fn rejects_invalid_source() {
        assert!(format_source("a = {").is_err());
        assert!(format_source("block {\n").is_err());
    }

    #[test]
    fn blank_and_comment_only_sources() {
        assert_eq!(format_source("").unwrap(), "");
        assert_eq!(format_source("\n\n  \n").unwrap(), "");
        assert_eq!(format_source("  # just a note").unwrap(), "# just a note\n");
    }

    /// Fragments that combine into plausible, often invalid, HCL.
    fn fragment() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "a",
            "b_2",
            "resource",
            "\"x\"",
            "\"${v}\"",
            " ",
            "  ",
            "\t",
            "\n",
            "\n\n",
            "=",
            "==",
            "{",
            "}",
            "[",
            "]",
            "(",
            ")",
            ",",
            ".",
            "*",
            "?",
            ":",
            "=>",
            "...",
            "-",
            "!",
            "+",
            "1",
            "2.5",
            "for",
            "in",
            "if",
            "# c\n",
            "// d\n",
            "/* e */",
            "/*\n f */",
            "<<EOT\nbody\nEOT\n",
            "<<-EOT\n  x\n  EOT\n",
            "true",
            "null",
            "::",
            "a = 1\n",
            "x \"l\" {\n",
            "}\n",
            "y = [\n",
            "]\n",
            "z = {\n",
            "k = v\n",
            "f(\n",
            ")\n",
        ])
    }

    proptest! {
        #[test]
        fn never_panics_and_keeps_meaning(parts in prop::collection::vec(fragment(), 0..40)) {
            let src = parts.concat();
            if let Ok(formatted) = format_source(&src) {
                prop_assert_eq!(without_whitespace(&src), without_whitespace(&formatted));
                let again = format_source(&formatted).ok();
                prop_assert_eq!(again.as_ref(), Some(&formatted));
                prop_assert_eq!(hcl::parse(&src).ok(), hcl::parse(&formatted).ok());
            }
        }

        /// Sprinkles whitespace and comments into the fixtures at random
        /// places; whatever still parses must satisfy every invariant.
        #[test]
        fn mutated_fixtures_keep_invariants(
            case in 0usize..64,
            edits in prop::collection::vec((0.0f64..1.0, prop::sample::select(vec![
                " ", "\n", "\n\n\n", "\t", "/* x */", "# y\n", "// z\n", "/*\n*/",
            ])), 1..6)
        ) {
            let cases = cases();
            let mut src = read(&cases[case % cases.len()], "input.hcl");
            for (at, text) in edits {
                let mut at = (at * src.len() as f64) as usize;
                while !src.is_char_boundary(at) {
                    at -= 1;
                }
                src.insert_str(at, text);
            }
            if let Ok(formatted) = format_source(&src) {
                prop_assert_eq!(without_whitespace(&src), without_whitespace(&formatted));
                let again = format_source(&formatted).ok();
                prop_assert_eq!(again.as_ref(), Some(&formatted));
                prop_assert_eq!(hcl::parse(&src).ok(), hcl::parse(&formatted).ok());
            }
        }

        #[test]
        fn structured_input_round_trips(
            attrs in prop::collection::vec(("[a-z]{1,8}", "[0-9]{1,4}|\"[a-z ]{0,6}\"|\\[([0-9]{1,2}, ?){0,3}\\]", "( # [a-z]{0,5})?", prop::bool::ANY), 1..12)
        ) {
            let mut src = String::from("block \"l\" {\n");
            for (i, (key, value, comment, blank)) in attrs.iter().enumerate() {
                let sep = if *blank { "\n\n" } else { "\n" };
                src.push_str(&format!("   {key}{i} ={value}{comment}{sep}"));
            }
            src.push('}');
            let formatted = format_source(&src).expect("generated source is valid HCL");
            prop_assert_eq!(without_whitespace(&src), without_whitespace(&formatted));
            prop_assert_eq!(format_source(&formatted).expect("output parses"), formatted.clone());
            prop_assert_eq!(hcl::parse(&src).expect("valid"), hcl::parse(&formatted).expect("valid"));
        }
    }
}
