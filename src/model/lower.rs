//! Lowers an evaluated `Config` into a `DesiredState`, checking every semantic rule.

use super::*;
use crate::config::{self, Attr, Block, Config};
use crate::diag::{Diagnostic, Diagnostics, Span, suggestion};
use hcl::Value;
use petgraph::graph::DiGraph;
use std::collections::{BTreeSet, HashMap};

/// The limits of the AWS API, kept so configurations stay portable to Patch Manager.
const MAX_APPROVAL_RULES: usize = 10;
const MAX_GLOBAL_FILTERS: usize = 4;
const MAX_FILTERS_PER_RULE: usize = 4;
const MAX_PATCH_LIST: usize = 50;
const MAX_APPROVE_AFTER_DAYS: f64 = 360.0;

/// Checks and converts a loaded configuration. Pure: reads nothing but `config`.
pub fn lower(config: &Config) -> (Option<DesiredState>, Diagnostics) {
    let mut lowering = Lowering {
        config,
        diags: Diagnostics::default(),
    };
    let state = lowering.run();
    let mut diags = lowering.diags;
    diags.sort();
    if diags.has_errors() {
        (None, diags)
    } else {
        (Some(state), diags)
    }
}

struct Lowering<'c> {
    config: &'c Config,
    diags: Diagnostics,
}

fn string(attr: Option<&Attr>) -> Option<String> {
    attr.and_then(|a| a.value.as_str().map(str::to_owned))
}

fn strings(attr: Option<&Attr>) -> Vec<String> {
    match attr.map(|a| &a.value) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn string_map(attr: Option<&Attr>) -> BTreeMap<String, String> {
    match attr.map(|a| &a.value) {
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn bool_value(attr: Option<&Attr>) -> Option<bool> {
    attr.and_then(|a| a.value.as_bool())
}

fn number(attr: Option<&Attr>) -> Option<f64> {
    attr.and_then(|a| a.value.as_f64())
}

impl Lowering<'_> {
    fn blocks<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Block> {
        self.config.blocks.iter().filter(move |b| b.kind == kind)
    }

    fn error(&mut self, summary: &str, detail: String, span: &Span) {
        self.diags.push(
            Diagnostic::error(summary)
                .detail(detail)
                .at(Some(span.clone())),
        );
    }

    /// Parses an AWS-spelled enum argument, reporting a bad spelling with a suggestion.
    fn spelled<T>(
        &mut self,
        block: &Block,
        name: &str,
        parse: fn(&str) -> Option<T>,
        all: &[&str],
        default: T,
    ) -> T {
        let Some(attr) = block.attr(name) else {
            return default;
        };
        let text = attr.value.as_str().unwrap_or_default();
        match parse(text) {
            Some(value) => value,
            None => {
                let near = suggestion(text, all.iter().copied());
                self.error(
                    "Invalid value",
                    format!(
                        "\"{text}\" is not a valid {name}.{near} Valid values are {}.",
                        all.join(", ")
                    ),
                    &attr.span,
                );
                default
            }
        }
    }

    /// A whole number in `range`, or a diagnostic naming the range.
    fn integer(&mut self, block: &Block, name: &str, min: f64, max: f64) -> Option<f64> {
        let attr = block.attr(name)?;
        let value = number(Some(attr))?;
        if value.fract() != 0.0 || value < min || value > max {
            self.error(
                "Value out of range",
                format!("{name} must be a whole number from {min} to {max}, but it is {value}. Choose a value in that range."),
                &attr.span,
            );
            return None;
        }
        Some(value)
    }

    fn run(&mut self) -> DesiredState {
        let backend = self.backend();
        let ssh = self.ssh_defaults();
        let mut hosts = self.hosts(&ssh);
        let baselines = self.baselines();
        let default_baselines = self.default_baselines(&baselines);
        let groups = self.groups(&baselines, &mut hosts);
        let windows = self.windows(&groups);
        DesiredState {
            backend,
            ssh,
            hosts,
            baselines,
            default_baselines,
            groups,
            windows,
            sensitive_variables: self
                .config
                .variables
                .iter()
                .filter(|v| v.sensitive)
                .map(|v| v.name.clone())
                .collect(),
        }
    }

    fn backend(&mut self) -> Backend {
        let default = Backend::Local {
            path: "patchform.pfstate".to_owned(),
        };
        let Some(settings) = self
            .blocks("patchform")
            .find(|b| b.module.is_empty())
            .cloned()
        else {
            return default;
        };
        let Some(backend) = settings.blocks("backend").next() else {
            return default;
        };
        let values: BTreeMap<String, String> = backend
            .attrs
            .iter()
            .filter_map(|a| {
                let text = match &a.value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return None,
                };
                Some((a.name.clone(), text))
            })
            .collect();
        match backend.label() {
            "local" => Backend::Local {
                path: values
                    .get("path")
                    .cloned()
                    .unwrap_or_else(|| "patchform.pfstate".to_owned()),
            },
            "pg" => Backend::Pg { settings: values },
            other => {
                let near = suggestion(other, ["local", "pg"]);
                self.error(
                    "Unsupported backend",
                    format!("\"{other}\" is not a state backend.{near} Use \"local\" or \"pg\"."),
                    &backend.span,
                );
                default
            }
        }
    }

    fn ssh_defaults(&mut self) -> SshDefaults {
        let mut ssh = SshDefaults::default();
        let Some(block) = self.blocks("ssh").find(|b| b.module.is_empty()).cloned() else {
            return ssh;
        };
        if let Some(user) = string(block.attr("user")) {
            ssh.user = user;
        }
        if let Some(port) = self.integer(&block, "port", 1.0, 65535.0) {
            ssh.port = port as u16;
        }
        if let Some(timeout) = self.integer(&block, "connect_timeout", 1.0, 3600.0) {
            ssh.connect_timeout_seconds = timeout as u32;
        }
        ssh.identity_file = string(block.attr("identity_file"));
        ssh.config_file = string(block.attr("config_file"));
        ssh.known_hosts_file = string(block.attr("known_hosts_file"));
        ssh.jump_host = string(block.attr("jump_host"));
        ssh
    }

    fn hosts(&mut self, ssh: &SshDefaults) -> BTreeMap<String, Host> {
        let mut hosts: BTreeMap<String, Host> = BTreeMap::new();
        let mut spans: HashMap<String, Span> = HashMap::new();
        let inline: Vec<Block> = self.blocks("host").cloned().collect();
        for block in &inline {
            let port = self
                .integer(block, "port", 1.0, 65535.0)
                .map_or(ssh.port, |p| p as u16);
            let host = Host {
                name: block.label().to_owned(),
                address: string(block.attr("address")).unwrap_or_default(),
                port,
                user: string(block.attr("user")).unwrap_or_else(|| ssh.user.clone()),
                identity_file: string(block.attr("identity_file"))
                    .or_else(|| ssh.identity_file.clone()),
                jump_host: string(block.attr("jump_host")).or_else(|| ssh.jump_host.clone()),
                tags: string_map(block.attr("tags")),
                group: None,
            };
            self.insert_host(&mut hosts, &mut spans, host, &block.span);
        }
        for inventory_host in &self.config.inventory_hosts {
            let vars = &inventory_host.vars;
            let port = match vars.get("ansible_port") {
                None => ssh.port,
                Some(text) => match text.parse::<u16>() {
                    Ok(port) if port > 0 => port,
                    _ => {
                        self.error(
                            "Invalid inventory host",
                            format!(
                                "Host \"{}\" has ansible_port=\"{text}\", which is not a port number. Fix the inventory.",
                                inventory_host.name
                            ),
                            &inventory_host.span,
                        );
                        continue;
                    }
                },
            };
            let mut tags: BTreeMap<String, String> = vars
                .iter()
                .filter(|(k, _)| !k.starts_with("ansible_"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for group in &inventory_host.groups {
                tags.insert(format!("group:{group}"), "true".to_owned());
            }
            tags.extend(inventory_host.extra_tags.clone());
            let host = Host {
                name: inventory_host.name.clone(),
                address: vars
                    .get("ansible_host")
                    .cloned()
                    .unwrap_or_else(|| inventory_host.name.clone()),
                port,
                user: vars
                    .get("ansible_user")
                    .cloned()
                    .unwrap_or_else(|| ssh.user.clone()),
                identity_file: vars
                    .get("ansible_ssh_private_key_file")
                    .cloned()
                    .or_else(|| ssh.identity_file.clone()),
                jump_host: ssh.jump_host.clone(),
                tags,
                group: None,
            };
            self.insert_host(&mut hosts, &mut spans, host, &inventory_host.span.clone());
        }
        hosts
    }

    fn insert_host(
        &mut self,
        hosts: &mut BTreeMap<String, Host>,
        spans: &mut HashMap<String, Span>,
        host: Host,
        span: &Span,
    ) {
        if let Some(first) = spans.get(&host.name) {
            let (line, column) = self
                .config
                .sources
                .line_column(first.file, first.range.start);
            let file = &self.config.sources.file(first.file).name;
            self.error(
                "Duplicate host",
                format!(
                    "A host named \"{}\" is already declared at {file}:{line}:{column}. Host names must be unique across host blocks and inventories; rename or remove one.",
                    host.name
                ),
                span,
            );
            return;
        }
        spans.insert(host.name.clone(), span.clone());
        hosts.insert(host.name.clone(), host);
    }

    fn filters(
        &mut self,
        block: &Block,
        kind: &str,
        os: Option<OperatingSystem>,
    ) -> Vec<PatchFilter> {
        let mut filters = Vec::new();
        for filter in block.blocks(kind) {
            let Some(key_attr) = filter.attr("key") else {
                continue;
            };
            let key_text = key_attr.value.as_str().unwrap_or_default();
            let Some(key) = PatchFilterKey::parse(key_text) else {
                let near = suggestion(key_text, PatchFilterKey::ALL.iter().copied());
                self.error(
                    "Invalid filter key",
                    format!(
                        "\"{key_text}\" is not a patch filter key.{near} Valid keys are {}.",
                        PatchFilterKey::ALL.join(", ")
                    ),
                    &key_attr.span,
                );
                continue;
            };
            if let Some(os) = os
                && !os.filter_keys().contains(&key)
            {
                let valid: Vec<&str> = os.filter_keys().iter().map(|k| k.as_str()).collect();
                self.error(
                    "Filter key not valid for this operating system",
                    format!(
                        "{key} filters do not apply to {os} baselines. Use one of {} instead.",
                        valid.join(", ")
                    ),
                    &key_attr.span,
                );
                continue;
            }
            let values = strings(filter.attr("values"));
            if let Some(values_attr) = filter.attr("values") {
                if values.is_empty() || values.len() > 20 {
                    self.error(
                        "Invalid filter values",
                        format!(
                            "A filter takes 1 to 20 values, but this one has {}. Adjust the list.",
                            values.len()
                        ),
                        &values_attr.span,
                    );
                }
                if key == PatchFilterKey::Priority {
                    for value in values
                        .iter()
                        .filter(|v| *v != "*" && !DEBIAN_PRIORITIES.contains(&v.as_str()))
                    {
                        let near = suggestion(value, DEBIAN_PRIORITIES.iter().copied());
                        self.error(
                            "Invalid priority",
                            format!("\"{value}\" is not a Debian priority.{near} Valid values are {}, or \"*\".", DEBIAN_PRIORITIES.join(", ")),
                            &values_attr.span,
                        );
                    }
                }
            }
            filters.push(PatchFilter { key, values });
        }
        filters
    }

    fn patch_list(&mut self, block: &Block, name: &str) -> Vec<String> {
        let list = strings(block.attr(name));
        if let Some(attr) = block.attr(name) {
            if list.len() > MAX_PATCH_LIST {
                self.error(
                    "Too many patches",
                    format!("{name} holds at most {MAX_PATCH_LIST} entries, but has {}. Use glob patterns to shorten it.", list.len()),
                    &attr.span,
                );
            }
            for pattern in &list {
                if let Err(error) = globset::Glob::new(pattern) {
                    self.error(
                        "Invalid patch pattern",
                        format!("\"{pattern}\" is not a valid glob: {}. Use * and ? wildcards, e.g. \"linux-image-*\".", error.kind()),
                        &attr.span,
                    );
                }
            }
        }
        list
    }

    fn baselines(&mut self) -> BTreeMap<String, PatchBaseline> {
        let mut baselines = BTreeMap::new();
        let blocks: Vec<Block> = self.blocks("patch_baseline").cloned().collect();
        for block in &blocks {
            let os_attr = block.attr("operating_system");
            let os_text = string(os_attr).unwrap_or_default();
            let os = OperatingSystem::parse(&os_text);
            if let (None, Some(attr)) = (os, os_attr) {
                let near = suggestion(&os_text, OperatingSystem::ALL.iter().copied());
                self.error(
                    "Invalid value",
                    format!(
                        "\"{os_text}\" is not a valid operating_system.{near} Valid values are {}.",
                        OperatingSystem::ALL.join(", ")
                    ),
                    &attr.span,
                );
            }
            let global_filters = self.filters(block, "global_filter", os);
            if global_filters.len() > MAX_GLOBAL_FILTERS {
                self.error(
                    "Too many global filters",
                    format!("A baseline takes at most {MAX_GLOBAL_FILTERS} global_filter blocks. Merge values into fewer filters."),
                    &block.span,
                );
            }
            let mut approval_rules = Vec::new();
            for rule in block.blocks("approval_rule") {
                let filters = self.filters(rule, "patch_filter", os);
                if filters.len() > MAX_FILTERS_PER_RULE {
                    self.error(
                        "Too many patch filters",
                        format!("An approval_rule takes at most {MAX_FILTERS_PER_RULE} patch_filter blocks. Merge values into fewer filters."),
                        &rule.span,
                    );
                }
                let after = self.integer(rule, "approve_after_days", 0.0, MAX_APPROVE_AFTER_DAYS);
                let until = rule.attr("approve_until_date");
                let approval = match (after, until, rule.attr("approve_after_days")) {
                    (_, Some(until), Some(_)) => {
                        self.error(
                            "Conflicting arguments",
                            "approve_after_days and approve_until_date cannot both be set in one approval_rule. Keep one of them.".to_owned(),
                            &until.span,
                        );
                        Approval::AfterDays(0)
                    }
                    (_, Some(until), None) => {
                        let text = until.value.as_str().unwrap_or_default();
                        match text.parse::<jiff::civil::Date>() {
                            Ok(date) if text.len() == 10 => Approval::UntilDate(date),
                            _ => {
                                self.error(
                                    "Invalid date",
                                    format!("approve_until_date must be a date written YYYY-MM-DD, but it is \"{text}\". Write it like \"2026-12-31\"."),
                                    &until.span,
                                );
                                Approval::AfterDays(0)
                            }
                        }
                    }
                    (Some(days), None, _) => Approval::AfterDays(days as u16),
                    (None, None, _) => Approval::AfterDays(0),
                };
                let compliance_level = self.spelled(
                    rule,
                    "compliance_level",
                    ComplianceLevel::parse,
                    ComplianceLevel::ALL,
                    ComplianceLevel::Unspecified,
                );
                approval_rules.push(ApprovalRule {
                    filters,
                    approval,
                    compliance_level,
                    enable_non_security: bool_value(rule.attr("enable_non_security"))
                        .unwrap_or(false),
                });
            }
            if approval_rules.len() > MAX_APPROVAL_RULES {
                self.error(
                    "Too many approval rules",
                    format!("A baseline takes at most {MAX_APPROVAL_RULES} approval_rule blocks. Combine rules with wider filters."),
                    &block.span,
                );
            }
            let approved_patches = self.patch_list(block, "approved_patches");
            let rejected_patches = self.patch_list(block, "rejected_patches");
            if approval_rules.is_empty() && approved_patches.is_empty() {
                self.error(
                    "Baseline approves nothing",
                    "A patch_baseline needs at least one approval_rule block or an approved_patches list; without either it approves no update. Add one.".to_owned(),
                    &block.span,
                );
            }
            let sources = block
                .blocks("source")
                .map(|s| PatchSource {
                    name: string(s.attr("name")).unwrap_or_default(),
                    products: strings(s.attr("products")),
                    configuration: string(s.attr("configuration")).unwrap_or_default(),
                })
                .collect();
            let baseline = PatchBaseline {
                address: block.address(),
                name: string(block.attr("name")).unwrap_or_else(|| block.label().to_owned()),
                operating_system: os.unwrap_or(OperatingSystem::Debian),
                description: string(block.attr("description")),
                global_filters,
                approval_rules,
                approved_patches,
                approved_patches_compliance_level: self.spelled(
                    block,
                    "approved_patches_compliance_level",
                    ComplianceLevel::parse,
                    ComplianceLevel::ALL,
                    ComplianceLevel::Unspecified,
                ),
                approved_patches_enable_non_security: bool_value(
                    block.attr("approved_patches_enable_non_security"),
                )
                .unwrap_or(false),
                rejected_patches,
                rejected_patches_action: self.spelled(
                    block,
                    "rejected_patches_action",
                    RejectedPatchesAction::parse,
                    RejectedPatchesAction::ALL,
                    RejectedPatchesAction::AllowAsDependency,
                ),
                sources,
            };
            baselines.insert(baseline.address.clone(), baseline);
        }
        baselines
    }

    /// Resolves a reference argument to an address: object references carry their address,
    /// bare names resolve in the block's own module.
    fn resolve(
        &mut self,
        block: &Block,
        attr: &Attr,
        value: &str,
        kind: &str,
        known: &BTreeSet<String>,
    ) -> Option<String> {
        let address = if value.contains(&format!("{kind}.")) {
            value.to_owned()
        } else {
            config::address(&block.module, kind, value)
        };
        if known.contains(&address) {
            return Some(address);
        }
        let names: Vec<String> = known
            .iter()
            .filter_map(|a| {
                a.rsplit_once(&format!("{kind}."))
                    .map(|(_, n)| n.to_owned())
            })
            .collect();
        let near = suggestion(value, names.iter().map(String::as_str));
        self.error(
            &format!("Unknown {kind}"),
            format!("{} \"{}\" refers to {address}, which is not declared.{near} Declare it or fix the reference.", attr.name, block.label()),
            &attr.span,
        );
        None
    }

    fn default_baselines(
        &mut self,
        baselines: &BTreeMap<String, PatchBaseline>,
    ) -> BTreeMap<OperatingSystem, String> {
        let known: BTreeSet<String> = baselines.keys().cloned().collect();
        let mut defaults: BTreeMap<OperatingSystem, (String, Span)> = BTreeMap::new();
        let blocks: Vec<Block> = self.blocks("default_patch_baseline").cloned().collect();
        for block in &blocks {
            let Some(attr) = block.attr("baseline") else {
                continue;
            };
            let value = attr.value.as_str().unwrap_or_default().to_owned();
            let Some(address) = self.resolve(block, attr, &value, "patch_baseline", &known) else {
                continue;
            };
            let os = baselines[&address].operating_system;
            if let Some((first, span)) = defaults.get(&os) {
                let (line, column) = self.config.sources.line_column(span.file, span.range.start);
                let file = self.config.sources.file(span.file).name.clone();
                self.error(
                    "Duplicate default baseline",
                    format!("{first} is already the default baseline for {os} (set at {file}:{line}:{column}). Keep one default_patch_baseline per operating system."),
                    &block.span,
                );
                continue;
            }
            defaults.insert(os, (address, block.span.clone()));
        }
        let mut result: BTreeMap<OperatingSystem, String> =
            defaults.into_iter().map(|(os, (a, _))| (os, a)).collect();
        for os in [
            OperatingSystem::Debian,
            OperatingSystem::Ubuntu,
            OperatingSystem::Raspbian,
        ] {
            if let Some(predefined) = PatchBaseline::predefined(os) {
                result.entry(os).or_insert(predefined.address);
            }
        }
        result
    }

    fn groups(
        &mut self,
        baselines: &BTreeMap<String, PatchBaseline>,
        hosts: &mut BTreeMap<String, Host>,
    ) -> BTreeMap<String, PatchGroup> {
        let known_baselines: BTreeSet<String> = baselines.keys().cloned().collect();
        let blocks: Vec<Block> = self.blocks("patch_group").cloned().collect();
        let known_groups: BTreeSet<String> = blocks.iter().map(Block::address).collect();
        let mut groups: BTreeMap<String, PatchGroup> = BTreeMap::new();
        let mut spans: BTreeMap<String, Span> = BTreeMap::new();
        let mut names: HashMap<String, Span> = HashMap::new();
        for block in &blocks {
            let name = string(block.attr("name")).unwrap_or_else(|| block.label().to_owned());
            if let Some(first) = names.get(&name) {
                let (line, column) = self
                    .config
                    .sources
                    .line_column(first.file, first.range.start);
                let file = self.config.sources.file(first.file).name.clone();
                self.error(
                    "Duplicate patch group name",
                    format!("Another patch_group is named \"{name}\" (at {file}:{line}:{column}); a group name is the Patch Group tag value and must be unique. Set a different `name`."),
                    &block.span,
                );
            }
            names.insert(name.clone(), block.span.clone());
            let baseline = match block.attr("baseline") {
                Some(attr) => {
                    let value = attr.value.as_str().unwrap_or_default().to_owned();
                    self.resolve(block, attr, &value, "patch_baseline", &known_baselines)
                        .unwrap_or_default()
                }
                None => String::new(),
            };
            let mut depends_on = Vec::new();
            if let Some(attr) = block.attr("depends_on") {
                for value in strings(Some(attr)) {
                    if let Some(address) =
                        self.resolve(block, attr, &value, "patch_group", &known_groups)
                    {
                        depends_on.push(address);
                    }
                }
            }
            let membership = match block.blocks("selector").next() {
                Some(selector) => {
                    let names = strings(selector.attr("names"));
                    for pattern in &names {
                        if globset::Glob::new(pattern).is_err() {
                            let span = selector
                                .attr("names")
                                .map_or(selector.span.clone(), |a| a.span.clone());
                            self.error(
                                "Invalid host pattern",
                                format!(
                                    "\"{pattern}\" is not a valid glob. Use * and ? wildcards."
                                ),
                                &span,
                            );
                        }
                    }
                    Membership::Selector {
                        tags: string_map(selector.attr("tags")),
                        names,
                    }
                }
                None => Membership::PatchGroupTag,
            };
            let address = block.address();
            spans.insert(address.clone(), block.span.clone());
            groups.insert(
                address.clone(),
                PatchGroup {
                    address,
                    name,
                    baseline,
                    membership,
                    depends_on,
                    hosts: Vec::new(),
                },
            );
        }
        self.check_group_cycles(&groups, &spans);
        self.assign_hosts(&mut groups, &spans, hosts);
        groups
    }

    fn check_group_cycles(
        &mut self,
        groups: &BTreeMap<String, PatchGroup>,
        spans: &BTreeMap<String, Span>,
    ) {
        let mut graph: DiGraph<&str, ()> = DiGraph::new();
        let ids: HashMap<&str, _> = groups
            .keys()
            .map(|a| (a.as_str(), graph.add_node(a.as_str())))
            .collect();
        for group in groups.values() {
            for dependency in &group.depends_on {
                if let Some(from) = ids.get(dependency.as_str()) {
                    graph.add_edge(*from, ids[group.address.as_str()], ());
                }
            }
        }
        for component in petgraph::algo::tarjan_scc(&graph) {
            if component.len() == 1 && !graph.contains_edge(component[0], component[0]) {
                continue;
            }
            let mut members: Vec<&str> = component.iter().map(|id| graph[*id]).collect();
            members.sort();
            self.error(
                "Patch group dependency cycle",
                format!("These groups depend on each other in a cycle: {} -> {}. A group can only wait for groups that do not wait for it; remove one depends_on entry.", members.join(" -> "), members[0]),
                &spans[members[0]],
            );
        }
    }

    fn assign_hosts(
        &mut self,
        groups: &mut BTreeMap<String, PatchGroup>,
        spans: &BTreeMap<String, Span>,
        hosts: &mut BTreeMap<String, Host>,
    ) {
        for host in hosts.values_mut() {
            let mut matched: Vec<String> = Vec::new();
            for group in groups.values() {
                let selected = match &group.membership {
                    Membership::PatchGroupTag => host
                        .tags
                        .get("Patch Group")
                        .or_else(|| host.tags.get("PatchGroup"))
                        .is_some_and(|tag| *tag == group.name),
                    Membership::Selector { tags, names } => {
                        tags.iter().all(|(k, v)| host.tags.get(k) == Some(v))
                            && (names.is_empty()
                                || names.iter().any(|p| {
                                    globset::Glob::new(p)
                                        .is_ok_and(|g| g.compile_matcher().is_match(&host.name))
                                }))
                    }
                };
                if selected {
                    matched.push(group.address.clone());
                }
            }
            if matched.len() > 1 {
                self.error(
                    "Host in more than one patch group",
                    format!(
                        "Host \"{}\" is selected by both {} and {}. A host follows exactly one baseline; narrow one group's selector or change the host's Patch Group tag.",
                        host.name, matched[0], matched[1]
                    ),
                    &spans[&matched[1]],
                );
            }
            if let Some(address) = matched.first() {
                host.group = Some(address.clone());
                if let Some(group) = groups.get_mut(address) {
                    group.hosts.push(host.name.clone());
                }
            }
        }
    }

    fn schedule_error(&mut self, error: &schedule::ScheduleError, span: &Span) {
        self.error(error.summary(), error.detail(), span);
    }

    /// An RFC 3339 timestamp or a plain date (midnight UTC), as AWS accepts ISO 8601.
    fn timestamp(&mut self, block: &Block, name: &str) -> Option<jiff::Timestamp> {
        let attr = block.attr(name)?;
        let text = attr.value.as_str().unwrap_or_default();
        let parsed = text.parse::<jiff::Timestamp>().ok().or_else(|| {
            text.parse::<jiff::civil::Date>()
                .ok()
                .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        });
        if parsed.is_none() {
            self.error(
                "Invalid date",
                format!("{name} must be an ISO 8601 date or timestamp such as \"2026-01-31\" or \"2026-01-31T22:00:00Z\", but it is \"{text}\"."),
                &attr.span,
            );
        }
        parsed
    }

    fn limit(
        &mut self,
        task: &Block,
        name: &str,
        parse: fn(&str) -> Result<schedule::Limit, schedule::ScheduleError>,
        default: schedule::Limit,
    ) -> schedule::Limit {
        let Some(attr) = task.attr(name) else {
            return default;
        };
        match parse(attr.value.as_str().unwrap_or_default()) {
            Ok(limit) => limit,
            Err(error) => {
                self.schedule_error(&error, &attr.span);
                default
            }
        }
    }

    fn task(&mut self, task: &Block) -> MaintenanceTask {
        let mut waves = Vec::new();
        if let Some(attr) = task.attr("waves") {
            for wave in strings(Some(attr)) {
                match schedule::parse_concurrency(&wave) {
                    Ok(limit) => waves.push(limit),
                    Err(error) => self.schedule_error(&error, &attr.span),
                }
            }
        }
        MaintenanceTask {
            name: task.label().to_owned(),
            operation: self.spelled(
                task,
                "operation",
                Operation::parse,
                Operation::ALL,
                Operation::Install,
            ),
            reboot: self.spelled(
                task,
                "reboot",
                RebootOption::parse,
                RebootOption::ALL,
                RebootOption::RebootIfNeeded,
            ),
            priority: self
                .integer(task, "priority", 0.0, 1_000_000.0)
                .map_or(1, |p| p as u32),
            // One host at a time and no tolerated failure: the safe reading of "unspecified".
            max_concurrency: self.limit(
                task,
                "max_concurrency",
                schedule::parse_concurrency,
                schedule::Limit::Count(1),
            ),
            max_errors: self.limit(
                task,
                "max_errors",
                schedule::parse_max_errors,
                schedule::Limit::Count(0),
            ),
            cutoff_behavior: self.spelled(
                task,
                "cutoff_behavior",
                CutoffBehavior::parse,
                CutoffBehavior::ALL,
                CutoffBehavior::ContinueTask,
            ),
            pre_hook: string(task.attr("pre_hook")),
            post_hook: string(task.attr("post_hook")),
            health_check: string(task.attr("health_check")),
            waves,
        }
    }

    fn windows(
        &mut self,
        groups: &BTreeMap<String, PatchGroup>,
    ) -> BTreeMap<String, MaintenanceWindow> {
        let known: BTreeSet<String> = groups.keys().cloned().collect();
        let blocks: Vec<Block> = self.blocks("maintenance_window").cloned().collect();
        let mut windows = BTreeMap::new();
        let mut targeted: BTreeMap<String, String> = BTreeMap::new();
        for block in &blocks {
            let schedule = block.attr("schedule").and_then(|attr| {
                match schedule::parse_schedule(attr.value.as_str().unwrap_or_default()) {
                    Ok(schedule) => Some(schedule),
                    Err(error) => {
                        self.schedule_error(&error, &attr.span);
                        None
                    }
                }
            });
            let time_zone = match block.attr("schedule_timezone") {
                None => Some(jiff::tz::TimeZone::UTC),
                Some(attr) => {
                    match schedule::parse_time_zone(attr.value.as_str().unwrap_or_default()) {
                        Ok(zone) => Some(zone),
                        Err(error) => {
                            self.schedule_error(&error, &attr.span);
                            None
                        }
                    }
                }
            };
            let duration = self.integer(block, "duration", 1.0, 24.0);
            let cutoff = self.integer(block, "cutoff", 0.0, 23.0);
            let offset = self
                .integer(block, "schedule_offset", 0.0, 6.0)
                .unwrap_or(0.0);
            let start_date = self.timestamp(block, "start_date");
            let end_date = self.timestamp(block, "end_date");
            let tasks: Vec<MaintenanceTask> = block.blocks("task").map(|t| self.task(t)).collect();
            let mut targets = Vec::new();
            if let Some(attr) = block.attr("targets") {
                for value in strings(Some(attr)) {
                    let Some(address) = self.resolve(block, attr, &value, "patch_group", &known)
                    else {
                        continue;
                    };
                    if let Some(other) = targeted.insert(address.clone(), block.address()) {
                        self.error(
                            "Group targeted by two windows",
                            format!("{address} is already a target of {other}. A group belongs to exactly one maintenance window; remove it from one of them."),
                            &attr.span,
                        );
                    }
                    targets.push(address);
                }
            }
            let (Some(schedule), Some(time_zone), Some(duration), Some(cutoff)) =
                (schedule, time_zone, duration, cutoff)
            else {
                continue;
            };
            let spec = schedule::WindowSpec {
                schedule,
                time_zone,
                schedule_offset: offset as u8,
                duration: duration as u8,
                cutoff: cutoff as u8,
                start_date,
                end_date,
                enabled: bool_value(block.attr("enabled")).unwrap_or(true),
            };
            match schedule::Window::new(spec) {
                Ok(window) => {
                    let address = block.address();
                    let name =
                        string(block.attr("name")).unwrap_or_else(|| block.label().to_owned());
                    windows.insert(
                        address.clone(),
                        MaintenanceWindow {
                            address,
                            name,
                            window,
                            targets,
                            tasks,
                        },
                    );
                }
                Err(error) => self.schedule_error(&error, &block.span),
            }
        }
        windows
    }
}
