//! Configuration: every `*.hcl` file of a directory, checked against the schema and
//! evaluated into blocks that keep their source spans.
//!
//! Files are parsed with `hcl::edit` (lossless, with byte spans) and evaluated one attribute
//! at a time with `hcl::eval`, so every problem points at the text that caused it. Locals,
//! module calls and outputs form a dependency graph that decides evaluation order; a block
//! reference such as `patch_group.web` evaluates to `{ id, name }` and needs no ordering.

pub(crate) mod fmt;
mod functions;
mod inventory;
pub mod module;
mod refs;
mod schema;
pub mod vars;

use crate::diag::{Diagnostic, Diagnostics, FileId, SourceMap, Span, suggestion};
use hcl::Value;
use hcl::edit::Span as _;
use hcl::edit::structure::{Attribute, Block as EditBlock, BlockLabel, Body, Structure};
use hcl::eval::{Context, Evaluate};
use petgraph::graph::{DiGraph, NodeIndex};
use refs::Reference;
use schema::{BlockSchema, Repeat, Ty};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use vars::VarType;
pub use vars::{VarArg, VarInputs};

/// What `load` needs besides the directory.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub vars: VarInputs,
}

/// An evaluated argument and where it was written.
#[derive(Debug, Clone)]
pub struct Attr {
    pub name: String,
    pub value: Value,
    pub key_span: Span,
    pub span: Span,
}

/// An evaluated block: its arguments and nested blocks, in source order.
#[derive(Debug, Clone)]
pub struct Block {
    pub kind: String,
    pub labels: Vec<String>,
    /// Names of the module calls this block was declared in, outermost first.
    pub module: Vec<String>,
    /// The block's header (type and labels), where diagnostics about the whole block point.
    pub span: Span,
    pub attrs: Vec<Attr>,
    pub blocks: Vec<Block>,
}

impl Block {
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }

    pub fn blocks<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Block> {
        self.blocks.iter().filter(move |b| b.kind == kind)
    }

    pub fn label(&self) -> &str {
        self.labels.first().map_or("", String::as_str)
    }

    /// `module.a.patch_group.web`: unique across modules, used as the block's identity.
    pub fn address(&self) -> String {
        address(&self.module, &self.kind, self.label())
    }
}

pub fn module_prefix(module: &[String]) -> String {
    module.iter().map(|m| format!("module.{m}.")).collect()
}

pub fn address(module: &[String], kind: &str, name: &str) -> String {
    format!("{}{kind}.{name}", module_prefix(module))
}

/// A host read from an `inventory` block's Ansible file.
#[derive(Debug, Clone)]
pub struct InventoryHost {
    pub name: String,
    pub vars: BTreeMap<String, String>,
    pub groups: BTreeSet<String>,
    /// Tags the `inventory` block adds to every host it reads.
    pub extra_tags: BTreeMap<String, String>,
    pub module: Vec<String>,
    pub span: Span,
}

/// A `module` block, recorded so `init` can install remote sources.
#[derive(Debug, Clone)]
pub struct ModuleCall {
    pub module: Vec<String>,
    pub source: String,
    pub caller_dir: PathBuf,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct NamedValue {
    pub name: String,
    pub value: Value,
    pub sensitive: bool,
}

/// The evaluated configuration of a directory and every module it calls.
#[derive(Debug, Default)]
pub struct Config {
    pub sources: SourceMap,
    pub root: PathBuf,
    pub blocks: Vec<Block>,
    pub inventory_hosts: Vec<InventoryHost>,
    pub module_calls: Vec<ModuleCall>,
    /// Root module variables with their final values.
    pub variables: Vec<NamedValue>,
    /// Root module outputs.
    pub outputs: Vec<NamedValue>,
}

/// Reads and evaluates the configuration in `dir`. Never panics on any input.
pub fn load(dir: &Path, options: &LoadOptions) -> (Config, Diagnostics) {
    let mut loader = Loader {
        options,
        config: Config {
            root: dir.to_path_buf(),
            ..Config::default()
        },
        diags: Diagnostics::default(),
        stack: Vec::new(),
    };
    loader.load_module(dir, &[], None);
    let mut diags = loader.diags;
    diags.sort();
    (loader.config, diags)
}

struct Loader<'o> {
    options: &'o LoadOptions,
    config: Config,
    diags: Diagnostics,
    /// Canonical directories of the modules being loaded, to refuse a module calling itself.
    stack: Vec<PathBuf>,
}

struct ParsedFile {
    file: FileId,
    body: Body,
}

/// A block that passed the schema check, not yet evaluated.
struct Raw<'a> {
    file: FileId,
    block: &'a EditBlock,
    schema: &'static BlockSchema,
}

/// Values supplied by a module call for the called module's variables.
struct ModuleInputs {
    values: BTreeMap<String, (Value, Span)>,
    call_span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum NodeKind {
    Local,
    Module,
    Output,
}

impl NodeKind {
    fn root(self) -> &'static str {
        match self {
            NodeKind::Local => "local",
            NodeKind::Module => "module",
            NodeKind::Output => "output",
        }
    }
}

/// Evaluated values of one module, by reference root (`var`, `local`, `module`, stubs).
#[derive(Default)]
struct Scope {
    roots: BTreeMap<&'static str, hcl::Map<String, Value>>,
}

impl Scope {
    fn set(&mut self, root: &'static str, name: &str, value: Value) {
        self.roots
            .entry(root)
            .or_default()
            .insert(name.to_owned(), value);
    }

    /// Whether a reference has a value; a declared name may lack one when its own
    /// evaluation failed and was already reported.
    fn has(&self, reference: &Reference) -> bool {
        let Some(values) = self.roots.get(reference.root.as_str()) else {
            return false;
        };
        reference
            .name
            .as_ref()
            .is_none_or(|name| values.contains_key(name))
    }

    fn context(&self) -> Context<'static> {
        let mut ctx = Context::new();
        functions::declare_all(&mut ctx);
        for (root, values) in &self.roots {
            ctx.declare_var(*root, Value::Object(values.clone()));
        }
        ctx
    }

    /// A context holding only what `refs` mention, so evaluation order stays cheap.
    fn context_for(&self, refs: &[Reference]) -> Context<'static> {
        let mut ctx = Context::new();
        functions::declare_all(&mut ctx);
        let mut declared = BTreeSet::new();
        for reference in refs {
            if let Some((root, values)) = self.roots.get_key_value(reference.root.as_str())
                && declared.insert(*root)
            {
                ctx.declare_var(*root, Value::Object(values.clone()));
            }
        }
        ctx
    }
}

fn span_of(file: FileId, range: Option<std::ops::Range<usize>>) -> Option<Span> {
    range.map(|r| Span::new(file, r))
}

fn header_span(file: FileId, block: &EditBlock) -> Span {
    let start = block
        .ident
        .span()
        .or_else(|| block.span())
        .map_or(0, |r| r.start);
    let end = block
        .labels
        .last()
        .and_then(|l| match l {
            BlockLabel::Ident(i) => i.span(),
            BlockLabel::String(s) => s.span(),
        })
        .or_else(|| block.ident.span())
        .map_or(start, |r| r.end);
    Span::new(file, start..end)
}

/// "an" before vowels, so messages read "an approval_rule block".
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn capitalized(article: &str) -> &'static str {
    if article == "an" { "An" } else { "A" }
}

fn label_text(label: &BlockLabel) -> &str {
    label.as_str()
}

/// The `*.hcl` files of a directory in name order, so load order never depends on the
/// file system.
pub fn config_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "hcl") && path.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Canonicalizes the longest existing ancestor of `path` and appends the rest unchanged.
fn canonical_prefix(path: &Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut existing = path;
    loop {
        if let Ok(canonical) = std::fs::canonicalize(existing) {
            return missing
                .iter()
                .rev()
                .fold(canonical, |acc: PathBuf, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

impl Loader<'_> {
    /// A path as the user should see it: relative to the configuration directory, so that
    /// messages read the same wherever the configuration lives. Works for missing paths too
    /// (the message is often that they are missing).
    fn display_name(&self, path: &Path) -> String {
        let root = std::fs::canonicalize(&self.config.root).unwrap_or_default();
        let full = canonical_prefix(path);
        pathdiff::diff_paths(&full, &root)
            .unwrap_or(full)
            .to_string_lossy()
            .into_owned()
    }

    fn location(&self, span: &Span) -> String {
        let (line, column) = self.config.sources.line_column(span.file, span.range.start);
        format!(
            "{}:{line}:{column}",
            self.config.sources.file(span.file).name
        )
    }

    fn read_files(&mut self, dir: &Path, call_span: Option<&Span>) -> Vec<ParsedFile> {
        let paths = match config_files(dir) {
            Ok(paths) => paths,
            Err(error) => {
                self.diags.push(
                    Diagnostic::error("Cannot read configuration directory")
                        .detail(format!(
                            "Reading {} failed: {error}. Check that the directory exists and is readable.",
                            dir.display()
                        ))
                        .at(call_span.cloned()),
                );
                return Vec::new();
            }
        };
        if paths.is_empty() {
            self.diags.push(
                Diagnostic::error("No configuration files")
                    .detail(format!(
                        "The directory {} contains no *.hcl files. patchform reads every *.hcl file in the working directory; change to the directory that holds your configuration or use -chdir=DIR.",
                        dir.display()
                    ))
                    .at(call_span.cloned()),
            );
        }
        let mut parsed = Vec::new();
        for path in paths {
            let text = match std::fs::read(&path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => text,
                    Err(_) => {
                        self.diags
                            .push(Diagnostic::error("Invalid file encoding").detail(format!(
                                "{} is not valid UTF-8. Save the file as UTF-8.",
                                path.display()
                            )));
                        continue;
                    }
                },
                Err(error) => {
                    self.diags.push(
                        Diagnostic::error("Cannot read file")
                            .detail(format!("Reading {} failed: {error}.", path.display())),
                    );
                    continue;
                }
            };
            let name = self.display_name(&path);
            let file = self.config.sources.add(name, path, text);
            match self.config.sources.file(file).text.parse::<Body>() {
                Ok(body) => parsed.push(ParsedFile { file, body }),
                Err(error) => {
                    let offset = error.location().offset();
                    self.diags.push(
                        Diagnostic::error("Invalid HCL syntax")
                            .detail(format!(
                                "The parser stopped here: {}. Fix the syntax at this position; every block needs a closing brace and every argument the form `name = value`.",
                                error.message()
                            ))
                            .at(Some(Span::new(file, offset..offset + 1))),
                    );
                }
            }
        }
        parsed
    }

    /// Checks a block's shape against its schema. Returns false when the block is too broken
    /// to evaluate (wrong labels); unknown arguments are reported and skipped.
    fn check_block(&mut self, file: FileId, block: &EditBlock, schema: &BlockSchema) -> bool {
        let header = header_span(file, block);
        let mut ok = true;
        if block.labels.len() < schema.labels.len() {
            let missing = schema.labels[block.labels.len()..].join(", ");
            self.diags.push(
                Diagnostic::error("Missing block label")
                    .detail(format!(
                        "{} {} block needs a {missing}, as in `{} \"name\" {{ ... }}`. Add the missing label.",
                        capitalized(article(schema.name)), schema.name, schema.name
                    ))
                    .at(Some(header.clone())),
            );
            ok = false;
        } else if block.labels.len() > schema.labels.len() {
            self.diags.push(
                Diagnostic::error("Extraneous block label")
                    .detail(format!(
                        "{} {} block takes {} label(s) but has {}. Remove the extra label. {}",
                        capitalized(article(schema.name)),
                        schema.name,
                        schema.labels.len(),
                        block.labels.len(),
                        schema.help
                    ))
                    .at(Some(header.clone())),
            );
            ok = false;
        }
        let mut seen_blocks: HashMap<&str, Span> = HashMap::new();
        for structure in block.body.iter() {
            match structure {
                Structure::Attribute(attr) => {
                    let name = attr.key.as_str();
                    if schema.attr(name).is_some() || schema.open {
                        continue;
                    }
                    let key_span = span_of(file, attr.key.span());
                    let detail = if schema.block(name).is_some() {
                        format!(
                            "\"{name}\" is a block in {}, not an argument. Write it as `{name} {{ ... }}`.",
                            schema.name
                        )
                    } else {
                        format!(
                            "An argument named \"{name}\" is not expected in {} {} block.{} Remove it or check the spelling.",
                            article(schema.name),
                            schema.name,
                            suggestion(name, schema.attrs.iter().map(|a| a.name))
                        )
                    };
                    self.diags.push(
                        Diagnostic::error("Unsupported argument")
                            .detail(detail)
                            .at(key_span),
                    );
                }
                Structure::Block(nested) => {
                    let name = nested.ident.as_str();
                    let nested_header = header_span(file, nested);
                    let Some(nested_schema) = schema.block(name) else {
                        let detail = if schema.attr(name).is_some() {
                            format!(
                                "\"{name}\" is an argument in {}, not a block. Write it as `{name} = ...`.",
                                schema.name
                            )
                        } else {
                            format!(
                                "Blocks of type \"{name}\" are not expected in {} {} block.{} Remove it or check the spelling.",
                                article(schema.name),
                                schema.name,
                                suggestion(name, schema.blocks.iter().map(|b| b.name))
                            )
                        };
                        self.diags.push(
                            Diagnostic::error("Unsupported block type")
                                .detail(detail)
                                .at(Some(nested_header)),
                        );
                        continue;
                    };
                    if nested_schema.repeat == Repeat::Once
                        && let Some(first) = seen_blocks.get(name)
                    {
                        let first = self.location(first);
                        self.diags.push(
                            Diagnostic::error("Duplicate block")
                                .detail(format!(
                                    "Only one {name} block is allowed in a {}; the first is at {first}. Merge them into one.",
                                    schema.name
                                ))
                                .at(Some(nested_header.clone())),
                        );
                    }
                    seen_blocks.insert(name, nested_header);
                    self.check_block(file, nested, nested_schema);
                }
            }
        }
        for attr in schema.attrs.iter().filter(|a| a.required) {
            if !block.body.has_attribute(attr.name) {
                self.diags.push(
                    Diagnostic::error("Missing required argument")
                        .detail(format!(
                            "The argument \"{}\" is required in {} {} block. Add `{} = ...` to it.",
                            attr.name,
                            article(schema.name),
                            schema.name,
                            attr.name
                        ))
                        .at(Some(header.clone())),
                );
            }
        }
        ok
    }

    fn load_module(
        &mut self,
        dir: &Path,
        module: &[String],
        inputs: Option<ModuleInputs>,
    ) -> Option<Value> {
        let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let call_span = inputs.as_ref().map(|i| i.call_span.clone());
        if self.stack.contains(&canonical) {
            self.diags.push(
                Diagnostic::error("Module cycle")
                    .detail(format!(
                        "The module in {} calls itself through module.{}. A module must not contain a call to itself; remove the call.",
                        dir.display(),
                        module.join(".module.")
                    ))
                    .at(call_span),
            );
            return None;
        }
        self.stack.push(canonical);
        let files = self.read_files(dir, call_span.as_ref());
        let outputs = self.evaluate_module(dir, module, inputs, &files);
        self.stack.pop();
        outputs
    }

    fn evaluate_module(
        &mut self,
        dir: &Path,
        module: &[String],
        inputs: Option<ModuleInputs>,
        files: &[ParsedFile],
    ) -> Option<Value> {
        let mut raws: Vec<Raw<'_>> = Vec::new();
        for parsed in files {
            for structure in parsed.body.iter() {
                match structure {
                    Structure::Attribute(attr) => {
                        self.diags.push(
                            Diagnostic::error("Unsupported argument")
                                .detail(format!(
                                    "An argument named \"{}\" cannot appear at the top level of a file. Put it inside a block, e.g. `locals {{ {} = ... }}`.",
                                    attr.key.as_str(),
                                    attr.key.as_str()
                                ))
                                .at(span_of(parsed.file, attr.key.span())),
                        );
                    }
                    Structure::Block(block) => {
                        let kind = block.ident.as_str();
                        match schema::top_level(kind) {
                            Some(schema) => {
                                if self.check_block(parsed.file, block, schema) {
                                    raws.push(Raw {
                                        file: parsed.file,
                                        block,
                                        schema,
                                    });
                                }
                            }
                            None => self.diags.push(
                                Diagnostic::error("Unsupported block type")
                                    .detail(format!(
                                        "Blocks of type \"{kind}\" are not expected here.{} patchform accepts {}.",
                                        suggestion(kind, schema::TOP_LEVEL.iter().map(|b| b.name)),
                                        schema::TOP_LEVEL
                                            .iter()
                                            .map(|b| b.name)
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ))
                                    .at(Some(header_span(parsed.file, block))),
                            ),
                        }
                    }
                }
            }
        }
        self.check_duplicates(&raws);

        let mut scope = Scope::default();
        let declared = Declared::collect(&raws);
        for (kind, names) in &declared.blocks {
            for name in names {
                let stub = hcl::value!({
                    id = (address(module, kind, name)),
                    name = (name.clone())
                });
                scope.set(kind, name, stub);
            }
        }
        self.evaluate_variables(&raws, module, inputs, &declared, &mut scope);
        self.evaluate_graph(dir, module, &raws, &declared, &mut scope);
        // Every block attribute sees the whole module scope; one context serves them all.
        let block_context = scope.context();
        for raw in &raws {
            if matches!(raw.schema.name, "variable" | "locals" | "output" | "module") {
                continue;
            }
            let block = self.evaluate_block(
                raw.file,
                raw.block,
                raw.schema,
                module,
                &declared,
                (&scope, &block_context),
            );
            if block.kind == "inventory" {
                self.read_inventory(dir, &block);
            }
            self.config.blocks.push(block);
        }
        scope.roots.remove("output").map(Value::Object)
    }

    fn check_duplicates(&mut self, raws: &[Raw<'_>]) {
        let mut seen: HashMap<(&str, Vec<&str>), Span> = HashMap::new();
        for raw in raws {
            if raw.schema.name == "locals" || raw.schema.name == "default_patch_baseline" {
                continue;
            }
            let key = (
                raw.schema.name,
                raw.block.labels.iter().map(label_text).collect::<Vec<_>>(),
            );
            let header = header_span(raw.file, raw.block);
            if let Some(first) = seen.get(&key) {
                let what = if key.1.is_empty() {
                    format!("Only one {} block is allowed", key.0)
                } else {
                    format!(
                        "A {} named \"{}\" is already declared",
                        key.0,
                        key.1.join("\" \"")
                    )
                };
                let first = self.location(first);
                self.diags.push(
                    Diagnostic::error(format!("Duplicate {} block", key.0))
                        .detail(format!("{what} at {first}. Rename or remove one of them."))
                        .at(Some(header)),
                );
            } else {
                seen.insert(key, header);
            }
        }
    }

    /// Checks that a reference names something declared; reports it otherwise.
    fn check_reference(
        &mut self,
        file: FileId,
        reference: &Reference,
        declared: &Declared,
    ) -> bool {
        let span = Some(Span::new(file, reference.range.clone()));
        let root = reference.root.as_str();
        let candidates: Vec<&str> = match root {
            "var" => declared.variables.iter().map(String::as_str).collect(),
            "local" => declared.locals.keys().map(String::as_str).collect(),
            "module" => declared.modules.iter().map(String::as_str).collect(),
            kind if schema::REFERENCEABLE.contains(&kind) => declared
                .blocks
                .get(kind)
                .map(|names| names.iter().map(String::as_str).collect())
                .unwrap_or_default(),
            _ => {
                let mut roots = vec!["var", "local", "module"];
                roots.extend(schema::REFERENCEABLE);
                self.diags.push(
                    Diagnostic::error("Unknown reference")
                        .detail(format!(
                            "\"{root}\" is not something an expression can refer to.{} References start with {}.",
                            suggestion(root, roots.iter().copied()),
                            roots.iter().map(|r| format!("{r}.")).collect::<Vec<_>>().join(", ")
                        ))
                        .at(span),
                );
                return false;
            }
        };
        let what = match root {
            "var" => "input variable",
            "local" => "local value",
            "module" => "module call",
            kind => kind,
        };
        let Some(name) = &reference.name else {
            self.diags.push(
                Diagnostic::error("Invalid reference")
                    .detail(format!(
                        "\"{root}\" must be followed by the name of a {what}, as in `{root}.NAME`."
                    ))
                    .at(span),
            );
            return false;
        };
        if candidates.contains(&name.as_str()) {
            return true;
        }
        self.diags.push(
            Diagnostic::error(format!("Reference to undeclared {what}"))
                .detail(format!(
                    "No {what} named \"{name}\" is declared in this module.{} Declare it or fix the name.",
                    suggestion(name, candidates.iter().copied())
                ))
                .at(span),
        );
        false
    }

    fn evaluate_expression(
        &mut self,
        file: FileId,
        expr: &hcl::edit::expr::Expression,
        ctx: &Context<'_>,
    ) -> Option<Value> {
        let converted: hcl::Expression = expr.clone().into();
        match converted.evaluate(ctx) {
            Ok(value) if !is_finite(&value) => {
                self.diags.push(
                    Diagnostic::error("Invalid number")
                        .detail("This expression yields an infinite or undefined number, for example from a division by zero. Change the arithmetic so the result is a finite number.")
                        .at(span_of(file, expr.span())),
                );
                None
            }
            Ok(value) => Some(value),
            Err(error) => {
                self.diags.push(
                    Diagnostic::error("Invalid expression")
                        .detail(format!(
                            "Evaluating this expression failed: {}. Fix the expression so it yields a value.",
                            error.kind()
                        ))
                        .at(span_of(file, expr.span())),
                );
                None
            }
        }
    }

    fn evaluate_variables(
        &mut self,
        raws: &[Raw<'_>],
        module: &[String],
        inputs: Option<ModuleInputs>,
        declared: &Declared,
        scope: &mut Scope,
    ) {
        let is_root = inputs.is_none();
        let empty = Scope::default().context();
        let mut supplied: BTreeMap<String, (Value, Option<Span>)> = BTreeMap::new();
        if let Some(inputs) = &inputs {
            for (name, (value, span)) in &inputs.values {
                if declared.variables.contains(name) {
                    supplied.insert(name.clone(), (value.clone(), Some(span.clone())));
                } else {
                    self.diags.push(
                        Diagnostic::error("Unsupported argument")
                            .detail(format!(
                                "The module {} has no variable named \"{name}\".{} Remove the argument or declare the variable in the module.",
                                module.join("."),
                                suggestion(name, declared.variables.iter().map(String::as_str))
                            ))
                            .at(Some(span.clone())),
                    );
                }
            }
        } else {
            supplied = self.root_variable_values(declared);
        }
        for raw in raws.iter().filter(|r| r.schema.name == "variable") {
            let Some(name) = raw.block.labels.first().map(label_text) else {
                continue;
            };
            let header = header_span(raw.file, raw.block);
            let body = &raw.block.body;
            let ty = match body.get_attribute("type") {
                None => VarType::Any,
                Some(attr) => match vars::parse_type(&attr.value) {
                    Some(ty) => ty,
                    None => {
                        self.diags.push(
                            Diagnostic::error("Invalid type constraint")
                                .detail("Write a type as string, number, bool, any, list(T), set(T) or map(T).")
                                .at(span_of(raw.file, attr.value.span())),
                        );
                        VarType::Any
                    }
                },
            };
            let sensitive = body
                .get_attribute("sensitive")
                .and_then(|a| self.evaluate_expression(raw.file, &a.value, &empty))
                .is_some_and(|v| v == Value::Bool(true));
            let (value, value_span) = match supplied.remove(name) {
                Some((value, span)) => (Some(value), span),
                None => (
                    body.get_attribute("default")
                        .and_then(|a| self.evaluate_expression(raw.file, &a.value, &empty)),
                    body.get_attribute("default")
                        .and_then(|a| span_of(raw.file, a.value.span())),
                ),
            };
            let Some(value) = value else {
                let detail = if is_root {
                    format!(
                        "The variable \"{name}\" has no default and no value was given. Set it with -var '{name}=...', in a *.auto.pfvars file, or with the environment variable PATCHFORM_VAR_{name}."
                    )
                } else {
                    format!(
                        "The module {} needs a value for its variable \"{name}\". Add `{name} = ...` to the module block.",
                        module.join(".")
                    )
                };
                let at = inputs
                    .as_ref()
                    .map_or(header.clone(), |i| i.call_span.clone());
                self.diags.push(
                    Diagnostic::error("No value for required variable")
                        .detail(detail)
                        .at(Some(at)),
                );
                continue;
            };
            let value = match vars::convert(value, &ty) {
                Ok(value) => value,
                Err(reason) => {
                    self.diags.push(
                        Diagnostic::error("Invalid value for variable")
                            .detail(format!(
                                "The value for variable \"{name}\" is not valid: {reason}. Give a value of type {ty}."
                            ))
                            .at(value_span.or(Some(header.clone()))),
                    );
                    continue;
                }
            };
            if self.check_validations(raw, name, &value) {
                scope.set("var", name, value.clone());
            }
            if is_root {
                self.config.variables.push(NamedValue {
                    name: name.to_owned(),
                    value,
                    sensitive,
                });
            }
        }
    }

    /// Runs a variable's `validation` blocks; false when one fails.
    fn check_validations(&mut self, raw: &Raw<'_>, name: &str, value: &Value) -> bool {
        let mut scope = Scope::default();
        scope.set("var", name, value.clone());
        let ctx = scope.context();
        let mut valid = true;
        for validation in raw.block.body.get_blocks("validation") {
            let Some(condition) = validation.body.get_attribute("condition") else {
                continue;
            };
            let condition_span = span_of(raw.file, condition.value.span());
            let stray = refs::references(&condition.value)
                .into_iter()
                .find(|r| !(r.root == "var" && r.name.as_deref() == Some(name)));
            if let Some(stray) = stray {
                self.diags.push(
                    Diagnostic::error("Invalid reference in variable validation")
                        .detail(format!(
                            "A validation condition may refer only to var.{name}, not to {}. Move the check elsewhere or refer to var.{name}.",
                            stray.root
                        ))
                        .at(Some(Span::new(raw.file, stray.range))),
                );
                valid = false;
                continue;
            }
            let message = validation
                .body
                .get_attribute("error_message")
                .and_then(|a| self.evaluate_expression(raw.file, &a.value, &ctx))
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "The value is not valid.".to_owned());
            match self.evaluate_expression(raw.file, &condition.value, &ctx) {
                Some(Value::Bool(true)) => {}
                Some(Value::Bool(false)) => {
                    self.diags.push(
                        Diagnostic::error("Invalid value for variable")
                            .detail(format!(
                                "{message}\n\nThis was checked by the validation rule for var.{name}; change the value you give it."
                            ))
                            .at(condition_span),
                    );
                    valid = false;
                }
                Some(other) => {
                    self.diags.push(
                        Diagnostic::error("Invalid validation condition")
                            .detail(format!(
                                "A validation condition must be true or false, but this is {}. Make the condition a comparison.",
                                vars::describe(&other)
                            ))
                            .at(condition_span),
                    );
                    valid = false;
                }
                None => valid = false,
            }
        }
        valid
    }

    /// Root variable values from outside the configuration, highest precedence last.
    fn root_variable_values(
        &mut self,
        declared: &Declared,
    ) -> BTreeMap<String, (Value, Option<Span>)> {
        let mut values: BTreeMap<String, (Value, Option<Span>)> = BTreeMap::new();
        for (name, raw) in &self.options.vars.env {
            if declared.variables.contains(name) {
                let value = self.raw_value(name, raw, declared);
                values.insert(name.clone(), (value, None));
            }
        }
        let mut files: Vec<PathBuf> = Vec::new();
        let root = self.config.root.clone();
        let default_file = root.join("patchform.pfvars");
        if default_file.is_file() {
            files.push(default_file);
        }
        let mut auto: Vec<PathBuf> = std::fs::read_dir(&root)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".auto.pfvars"))
            .collect();
        auto.sort();
        files.extend(auto);
        for path in files {
            self.read_var_file(&path, declared, &mut values, false);
        }
        for arg in self.options.vars.args.clone() {
            match arg {
                VarArg::Assign { name, raw } => {
                    if declared.variables.contains(&name) {
                        let value = self.raw_value(&name, &raw, declared);
                        values.insert(name, (value, None));
                    } else {
                        self.diags.push(Diagnostic::error("Value for undeclared variable").detail(format!(
                            "A value was given for \"{name}\" with -var, but no variable of that name is declared.{} Declare it with `variable \"{name}\" {{}}` or remove the -var.",
                            suggestion(&name, declared.variables.iter().map(String::as_str))
                        )));
                    }
                }
                VarArg::File(path) => {
                    let path = if path.is_relative() {
                        root.join(path)
                    } else {
                        path
                    };
                    self.read_var_file(&path, declared, &mut values, true);
                }
            }
        }
        values
    }

    /// A `-var` or environment value: a string for string variables, otherwise an HCL
    /// expression, as Terraform reads them.
    fn raw_value(&mut self, name: &str, raw: &str, declared: &Declared) -> Value {
        let is_string = matches!(declared.types.get(name), Some(VarType::String) | None);
        if is_string {
            return Value::from(raw);
        }
        match raw.parse::<hcl::Expression>() {
            Ok(expr) => expr
                .evaluate(&Scope::default().context())
                .unwrap_or_else(|_| Value::from(raw)),
            Err(_) => Value::from(raw),
        }
    }

    fn read_var_file(
        &mut self,
        path: &Path,
        declared: &Declared,
        values: &mut BTreeMap<String, (Value, Option<Span>)>,
        explicit: bool,
    ) {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                self.diags.push(
                    Diagnostic::error("Cannot read variables file").detail(format!(
                        "Reading {} failed: {error}. Check the path given to -var-file.",
                        path.display()
                    )),
                );
                return;
            }
        };
        let name = self.display_name(path);
        let file = self.config.sources.add(name, path.to_path_buf(), text);
        let body = match self.config.sources.file(file).text.parse::<Body>() {
            Ok(body) => body,
            Err(error) => {
                let offset = error.location().offset();
                self.diags.push(
                    Diagnostic::error("Invalid HCL syntax")
                        .detail(format!(
                            "The parser stopped here: {}. A variables file holds only `name = value` lines.",
                            error.message()
                        ))
                        .at(Some(Span::new(file, offset..offset + 1))),
                );
                return;
            }
        };
        let ctx = Scope::default().context();
        for attr in body.attributes() {
            let name = attr.key.as_str();
            if !declared.variables.contains(name) {
                let diagnostic = if explicit {
                    Diagnostic::error("Value for undeclared variable")
                } else {
                    Diagnostic::warning("Value for undeclared variable")
                };
                self.diags.push(
                    diagnostic
                        .detail(format!(
                            "The file sets \"{name}\", but no variable of that name is declared.{} Declare it or remove the line.",
                            suggestion(name, declared.variables.iter().map(String::as_str))
                        ))
                        .at(span_of(file, attr.key.span())),
                );
                continue;
            }
            if let Some(value) = self.evaluate_expression(file, &attr.value, &ctx) {
                values.insert(name.to_owned(), (value, span_of(file, attr.value.span())));
            }
        }
    }

    /// Evaluates locals, module calls and outputs in dependency order.
    fn evaluate_graph(
        &mut self,
        dir: &Path,
        module: &[String],
        raws: &[Raw<'_>],
        declared: &Declared,
        scope: &mut Scope,
    ) {
        struct Node<'a> {
            kind: NodeKind,
            name: String,
            file: FileId,
            /// The module block for calls, the defining attribute otherwise.
            block: Option<&'a EditBlock>,
            attrs: Vec<&'a Attribute>,
            refs: Vec<Reference>,
            span: Span,
        }
        let mut nodes: Vec<Node<'_>> = Vec::new();
        for raw in raws {
            match raw.schema.name {
                "locals" => {
                    for attr in raw.block.body.attributes() {
                        let name = attr.key.as_str().to_owned();
                        if let Some((first_file, first_range)) = declared.locals.get(&name)
                            && (*first_file != raw.file
                                || Some(first_range.clone()) != attr.key.span())
                        {
                            let first = self.location(&Span::new(*first_file, first_range.clone()));
                            self.diags.push(
                                Diagnostic::error("Duplicate local value")
                                    .detail(format!(
                                        "A local value named \"{name}\" is already defined at {first}. Local names must be unique within a module; rename one."
                                    ))
                                    .at(span_of(raw.file, attr.key.span())),
                            );
                            continue;
                        }
                        nodes.push(Node {
                            kind: NodeKind::Local,
                            name,
                            file: raw.file,
                            block: None,
                            attrs: vec![attr],
                            refs: Vec::new(),
                            span: span_of(raw.file, attr.key.span())
                                .unwrap_or_else(|| header_span(raw.file, raw.block)),
                        });
                    }
                }
                "module" | "output" => {
                    let kind = if raw.schema.name == "module" {
                        NodeKind::Module
                    } else {
                        NodeKind::Output
                    };
                    let attrs: Vec<&Attribute> = raw
                        .block
                        .body
                        .attributes()
                        .filter(|a| {
                            let key = a.key.as_str();
                            match kind {
                                NodeKind::Module => key != "source",
                                _ => key == "value",
                            }
                        })
                        .collect();
                    nodes.push(Node {
                        kind,
                        name: raw
                            .block
                            .labels
                            .first()
                            .map(label_text)
                            .unwrap_or("")
                            .to_owned(),
                        file: raw.file,
                        block: Some(raw.block),
                        attrs,
                        refs: Vec::new(),
                        span: header_span(raw.file, raw.block),
                    });
                }
                _ => {}
            }
        }
        let index: HashMap<(NodeKind, String), usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| ((n.kind, n.name.clone()), i))
            .collect();
        let mut graph: DiGraph<usize, ()> = DiGraph::new();
        let ids: Vec<NodeIndex> = (0..nodes.len()).map(|i| graph.add_node(i)).collect();
        let mut broken: BTreeSet<usize> = BTreeSet::new();
        for (i, node) in nodes.iter_mut().enumerate() {
            for attr in &node.attrs {
                for reference in refs::references(&attr.value) {
                    if !self.check_reference(node.file, &reference, declared) {
                        broken.insert(i);
                        continue;
                    }
                    let dependency = match reference.root.as_str() {
                        "local" => Some(NodeKind::Local),
                        "module" => Some(NodeKind::Module),
                        _ => None,
                    };
                    if let (Some(kind), Some(name)) = (dependency, &reference.name)
                        && let Some(&j) = index.get(&(kind, name.clone()))
                    {
                        graph.update_edge(ids[j], ids[i], ());
                    }
                    node.refs.push(reference);
                }
            }
        }
        // Tarjan's algorithm yields components dependencies-last; walking it backwards
        // evaluates every node after what it refers to.
        let components = petgraph::algo::tarjan_scc(&graph);
        for component in components.iter().rev() {
            let cyclic = component.len() > 1 || graph.contains_edge(component[0], component[0]);
            if cyclic {
                let mut members: Vec<usize> = component.iter().map(|id| graph[*id]).collect();
                members.sort_by_key(|i| (nodes[*i].span.file, nodes[*i].span.range.start));
                let names: Vec<String> = members
                    .iter()
                    .map(|i| {
                        format!(
                            "{}{}.{}",
                            module_prefix(module),
                            nodes[*i].kind.root(),
                            nodes[*i].name
                        )
                    })
                    .collect();
                let first = &nodes[members[0]];
                self.diags.push(
                    Diagnostic::error("Reference cycle")
                        .detail(format!(
                            "These values refer to each other in a cycle: {} -> {}. Break the cycle by removing one of the references.",
                            names.join(" -> "),
                            names[0]
                        ))
                        .at(Some(first.span.clone())),
                );
                broken.extend(members);
                continue;
            }
            let i = graph[component[0]];
            let node = &nodes[i];
            let upstream_broken = graph
                .neighbors_directed(component[0], petgraph::Direction::Incoming)
                .any(|dep| broken.contains(&graph[dep]));
            let missing_input = node
                .refs
                .iter()
                .any(|r| matches!(r.root.as_str(), "var") && !scope.has(r));
            if broken.contains(&i) || upstream_broken || missing_input {
                broken.insert(i);
                continue;
            }
            let ctx = scope.context_for(&node.refs);
            match node.kind {
                NodeKind::Local | NodeKind::Output => {
                    let value = node
                        .attrs
                        .first()
                        .and_then(|attr| self.evaluate_expression(node.file, &attr.value, &ctx));
                    match value {
                        Some(value) => {
                            if node.kind == NodeKind::Output && module.is_empty() {
                                let sensitive = node
                                    .block
                                    .and_then(|b| b.body.get_attribute("sensitive"))
                                    .and_then(|a| {
                                        self.evaluate_expression(node.file, &a.value, &ctx)
                                    })
                                    == Some(Value::Bool(true));
                                self.config.outputs.push(NamedValue {
                                    name: node.name.clone(),
                                    value: value.clone(),
                                    sensitive,
                                });
                            }
                            scope.set(node.kind.root(), &node.name, value);
                        }
                        None => {
                            broken.insert(i);
                        }
                    }
                }
                NodeKind::Module => {
                    let Some(block) = node.block else { continue };
                    let mut values = BTreeMap::new();
                    for attr in &node.attrs {
                        if let Some(value) = self.evaluate_expression(node.file, &attr.value, &ctx)
                        {
                            let span = span_of(node.file, attr.value.span())
                                .unwrap_or_else(|| node.span.clone());
                            values.insert(attr.key.as_str().to_owned(), (value, span));
                        }
                    }
                    let mut child = module.to_vec();
                    child.push(node.name.clone());
                    let outputs =
                        self.call_module(dir, &child, node.file, block, values, node.span.clone());
                    match outputs {
                        Some(outputs) => scope.set("module", &node.name, outputs),
                        None => {
                            broken.insert(i);
                        }
                    }
                }
            }
        }
    }

    fn call_module(
        &mut self,
        dir: &Path,
        child: &[String],
        file: FileId,
        block: &EditBlock,
        values: BTreeMap<String, (Value, Span)>,
        call_span: Span,
    ) -> Option<Value> {
        let source_attr = block.body.get_attribute("source")?;
        let source_span = span_of(file, source_attr.value.span());
        let source = match &source_attr.value {
            hcl::edit::expr::Expression::String(s) => s.value().clone(),
            _ => {
                self.diags.push(
                    Diagnostic::error("Invalid module source")
                        .detail("A module source must be a literal string such as \"./modules/baseline\"; it cannot use variables, because sources are resolved before anything is evaluated.")
                        .at(source_span),
                );
                return None;
            }
        };
        self.config.module_calls.push(ModuleCall {
            module: child.to_vec(),
            source: source.clone(),
            caller_dir: dir.to_path_buf(),
            span: call_span.clone(),
        });
        let child_dir = match module::resolve(&source, dir, &self.config.root, child) {
            Ok(path) => path,
            Err(problem) => {
                self.diags.push(
                    Diagnostic::error(problem.summary())
                        .detail(problem.detail(|path| self.display_name(path)))
                        .at(source_span),
                );
                return None;
            }
        };
        let mut source_diags = Diagnostics::default();
        std::mem::swap(&mut source_diags, &mut self.diags);
        let outputs = self.load_module(&child_dir, child, Some(ModuleInputs { values, call_span }));
        std::mem::swap(&mut source_diags, &mut self.diags);
        let child_failed = source_diags.has_errors();
        self.diags.extend(source_diags);
        if child_failed { None } else { outputs }
    }

    fn evaluate_block(
        &mut self,
        file: FileId,
        edit: &EditBlock,
        schema: &BlockSchema,
        module: &[String],
        declared: &Declared,
        (scope, ctx): (&Scope, &Context<'_>),
    ) -> Block {
        let mut block = Block {
            kind: schema.name.to_owned(),
            labels: edit
                .labels
                .iter()
                .map(|l| label_text(l).to_owned())
                .collect(),
            module: module.to_vec(),
            span: header_span(file, edit),
            attrs: Vec::new(),
            blocks: Vec::new(),
        };
        for structure in edit.body.iter() {
            match structure {
                Structure::Attribute(attr) => {
                    let name = attr.key.as_str();
                    let ty = match schema.attr(name) {
                        Some(a) => a.ty,
                        None if schema.open => Ty::Any,
                        None => continue,
                    };
                    if ty == Ty::Unevaluated {
                        continue;
                    }
                    let references = refs::references(&attr.value);
                    let mut resolvable = true;
                    for reference in &references {
                        resolvable &=
                            self.check_reference(file, reference, declared) && scope.has(reference);
                    }
                    if !resolvable {
                        continue;
                    }
                    let Some(value) = self.evaluate_expression(file, &attr.value, ctx) else {
                        continue;
                    };
                    let span =
                        span_of(file, attr.value.span()).unwrap_or_else(|| block.span.clone());
                    let Some(value) = self.check_type(name, value, ty, &span) else {
                        continue;
                    };
                    block.attrs.push(Attr {
                        name: name.to_owned(),
                        value,
                        key_span: span_of(file, attr.key.span()).unwrap_or_else(|| span.clone()),
                        span,
                    });
                }
                Structure::Block(nested) => {
                    if let Some(nested_schema) = schema.block(nested.ident.as_str()) {
                        let child = self.evaluate_block(
                            file,
                            nested,
                            nested_schema,
                            module,
                            declared,
                            (scope, ctx),
                        );
                        block.blocks.push(child);
                    }
                }
            }
        }
        block
    }

    /// Converts a value to an argument's type, reporting a mismatch at the value.
    fn check_type(&mut self, name: &str, value: Value, ty: Ty, span: &Span) -> Option<Value> {
        let converted = match ty {
            Ty::String => vars::convert(value.clone(), &VarType::String),
            Ty::Number => vars::convert(value.clone(), &VarType::Number),
            Ty::Bool => vars::convert(value.clone(), &VarType::Bool),
            Ty::StringList => {
                vars::convert(value.clone(), &VarType::List(Box::new(VarType::String)))
            }
            Ty::StringMap => vars::convert(value.clone(), &VarType::Map(Box::new(VarType::String))),
            Ty::Ref => reference_value(&value),
            Ty::RefList => match &value {
                Value::Array(items) => items
                    .iter()
                    .map(reference_value)
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array),
                _ => Err(format!("{} is not a list", vars::describe(&value))),
            },
            Ty::Any | Ty::Unevaluated => Ok(value.clone()),
        };
        let expected = match ty {
            Ty::String => "a string",
            Ty::Number => "a number",
            Ty::Bool => "true or false",
            Ty::StringList => "a list of strings",
            Ty::StringMap => "a map of strings",
            Ty::Ref => "a reference such as patch_group.web, or a name",
            Ty::RefList => "a list of references such as [patch_group.web]",
            Ty::Any | Ty::Unevaluated => "any value",
        };
        match converted {
            Ok(value) if value != Value::Null => Some(value),
            Ok(_) => None,
            Err(_) => {
                self.diags.push(
                    Diagnostic::error("Incorrect argument type")
                        .detail(format!(
                            "The argument \"{name}\" must be {expected}, but this is {}. Change the value to {expected}.",
                            vars::describe(&value)
                        ))
                        .at(Some(span.clone())),
                );
                None
            }
        }
    }

    fn read_inventory(&mut self, dir: &Path, block: &Block) {
        let Some(path_attr) = block.attr("path") else {
            return;
        };
        let Some(relative) = path_attr.value.as_str() else {
            return;
        };
        let path = dir.join(relative);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) => {
                self.diags.push(
                    Diagnostic::error("Cannot read inventory")
                        .detail(format!(
                            "Reading {} failed: {error}. Paths are relative to the directory of the configuration file.",
                            self.display_name(&path)
                        ))
                        .at(Some(path_attr.span.clone())),
                );
                return;
            }
        };
        let format = block
            .attr("format")
            .and_then(|a| a.value.as_str().map(str::to_owned))
            .unwrap_or_else(|| {
                if relative.ends_with(".yml") || relative.ends_with(".yaml") {
                    "yaml".to_owned()
                } else {
                    "ini".to_owned()
                }
            });
        let parsed = match format.as_str() {
            "ini" => inventory::parse_ini(&text),
            "yaml" => inventory::parse_yaml(&text),
            other => {
                let span = block.attr("format").map(|a| a.span.clone());
                self.diags.push(
                    Diagnostic::error("Invalid inventory format")
                        .detail(format!(
                            "\"{other}\" is not an inventory format.{} Use \"ini\" or \"yaml\".",
                            suggestion(other, ["ini", "yaml"])
                        ))
                        .at(span),
                );
                return;
            }
        };
        match parsed {
            Ok(hosts) => {
                let extra_tags: BTreeMap<String, String> = block
                    .attr("tags")
                    .and_then(|a| a.value.as_object())
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                            .collect()
                    })
                    .unwrap_or_default();
                self.config
                    .inventory_hosts
                    .extend(hosts.into_iter().map(|h| InventoryHost {
                        name: h.name,
                        vars: h.vars,
                        groups: h.groups,
                        extra_tags: extra_tags.clone(),
                        module: block.module.clone(),
                        span: block.span.clone(),
                    }));
            }
            Err(error) => {
                let line = error
                    .line
                    .map(|l| format!(" on line {l}"))
                    .unwrap_or_default();
                self.diags.push(
                    Diagnostic::error("Invalid inventory")
                        .detail(format!(
                            "{}{line} is not a valid Ansible {format} inventory: {}. Fix the file.",
                            relative, error.message
                        ))
                        .at(Some(path_attr.span.clone())),
                );
            }
        }
    }
}

/// Whether every number in a value is finite (`1 / 0` evaluates to infinity).
fn is_finite(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_f64().is_none_or(f64::is_finite),
        Value::Array(items) => items.iter().all(is_finite),
        Value::Object(map) => map.values().all(is_finite),
        Value::Null | Value::Bool(_) | Value::String(_) => true,
    }
}

/// A reference value as a string: the block address of an object, or a bare name.
fn reference_value(value: &Value) -> Result<Value, String> {
    match value {
        Value::String(name) => Ok(Value::String(name.clone())),
        Value::Object(map) => map
            .get("id")
            .and_then(Value::as_str)
            .map(Value::from)
            .ok_or_else(|| "an object without an id".to_owned()),
        other => Err(vars::describe(other).to_owned()),
    }
}

/// Names declared in one module, for reference checks and suggestions.
#[derive(Default)]
struct Declared {
    variables: BTreeSet<String>,
    types: BTreeMap<String, VarType>,
    /// Local name to the file and key span of its first definition.
    locals: BTreeMap<String, (FileId, std::ops::Range<usize>)>,
    modules: BTreeSet<String>,
    blocks: BTreeMap<&'static str, BTreeSet<String>>,
}

impl Declared {
    fn collect(raws: &[Raw<'_>]) -> Declared {
        let mut declared = Declared::default();
        for raw in raws {
            let label = raw.block.labels.first().map(|l| label_text(l).to_owned());
            match (raw.schema.name, label) {
                ("variable", Some(name)) => {
                    if let Some(ty) = raw
                        .block
                        .body
                        .get_attribute("type")
                        .and_then(|a| vars::parse_type(&a.value))
                    {
                        declared.types.insert(name.clone(), ty);
                    }
                    declared.variables.insert(name);
                }
                ("locals", _) => {
                    for attr in raw.block.body.attributes() {
                        declared
                            .locals
                            .entry(attr.key.as_str().to_owned())
                            .or_insert((raw.file, attr.key.span().unwrap_or(0..0)));
                    }
                }
                ("module", Some(name)) => {
                    declared.modules.insert(name);
                }
                (kind, Some(name)) if schema::REFERENCEABLE.contains(&kind) => {
                    let kind = schema::REFERENCEABLE
                        .iter()
                        .find(|k| **k == kind)
                        .copied()
                        .unwrap_or("host");
                    declared.blocks.entry(kind).or_default().insert(name);
                }
                _ => {}
            }
        }
        declared
    }
}
