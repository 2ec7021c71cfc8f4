//! Ansible inventories (INI and YAML) read into hosts with variables and group memberships.
//!
//! Pure: the loader reads the file and hands its text in. Host variables override group
//! variables, and a child group's hosts inherit its parents' variables, as in Ansible.

use std::collections::{BTreeMap, BTreeSet};

/// One host of an Ansible inventory, with every variable that applies to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnsibleHost {
    pub(crate) name: String,
    pub(crate) vars: BTreeMap<String, String>,
    pub(crate) groups: BTreeSet<String>,
}

/// A problem in an inventory file, with the 1-based line where one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InventoryError {
    pub(crate) line: Option<usize>,
    pub(crate) message: String,
}

#[derive(Default)]
struct Group {
    hosts: BTreeMap<String, BTreeMap<String, String>>,
    vars: BTreeMap<String, String>,
    children: BTreeSet<String>,
}

#[derive(Default)]
struct Inventory {
    groups: BTreeMap<String, Group>,
}

impl Inventory {
    fn group(&mut self, name: &str) -> &mut Group {
        self.groups.entry(name.to_owned()).or_default()
    }

    /// Flattens groups into hosts: parents' variables first, so nearer groups and host
    /// variables win.
    fn into_hosts(self) -> Result<Vec<AnsibleHost>, InventoryError> {
        let mut parents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, group) in &self.groups {
            for child in &group.children {
                parents
                    .entry(child.as_str())
                    .or_default()
                    .push(name.as_str());
            }
        }
        let mut hosts: BTreeMap<String, AnsibleHost> = BTreeMap::new();
        for (group_name, group) in &self.groups {
            let mut chain = Vec::new();
            ancestors(group_name, &parents, &mut chain, 0)?;
            for (host_name, host_vars) in &group.hosts {
                let host = hosts
                    .entry(host_name.clone())
                    .or_insert_with(|| AnsibleHost {
                        name: host_name.clone(),
                        vars: BTreeMap::new(),
                        groups: BTreeSet::new(),
                    });
                for ancestor in chain.iter().rev() {
                    if let Some(g) = self.groups.get(*ancestor) {
                        host.vars.extend(g.vars.clone());
                    }
                    if *ancestor != "all" && *ancestor != "ungrouped" {
                        host.groups.insert((*ancestor).to_owned());
                    }
                }
                host.vars.extend(host_vars.clone());
            }
        }
        Ok(hosts.into_values().collect())
    }
}

/// Collects `group` and its ancestors, nearest first, refusing `children` cycles.
fn ancestors<'a>(
    group: &'a str,
    parents: &BTreeMap<&'a str, Vec<&'a str>>,
    out: &mut Vec<&'a str>,
    depth: usize,
) -> Result<(), InventoryError> {
    // Ansible forbids cycles too; a depth bound finds them without tracking paths.
    if depth > 64 {
        return Err(InventoryError {
            line: None,
            message: format!("group \"{group}\" is its own ancestor through `children`"),
        });
    }
    if !out.contains(&group) {
        out.push(group);
    }
    for parent in parents.get(group).into_iter().flatten() {
        ancestors(parent, parents, out, depth + 1)?;
    }
    Ok(())
}

/// Parses `key=value key2="quoted value"` pairs after a host name or in a `:vars` section.
fn parse_pairs(text: &str, line: usize) -> Result<BTreeMap<String, String>, InventoryError> {
    let mut vars = BTreeMap::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').ok_or_else(|| InventoryError {
            line: Some(line),
            message: format!("expected key=value, found \"{rest}\""),
        })?;
        let after = after.trim_start();
        let (value, remainder) = match after.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let end = after[1..].find(quote).ok_or_else(|| InventoryError {
                    line: Some(line),
                    message: format!("unterminated quote in value of \"{}\"", key.trim()),
                })?;
                (&after[1..=end], &after[end + 2..])
            }
            _ => after.split_once(char::is_whitespace).unwrap_or((after, "")),
        };
        vars.insert(key.trim().to_owned(), value.to_owned());
        rest = remainder.trim_start();
    }
    Ok(vars)
}

pub(crate) fn parse_ini(text: &str) -> Result<Vec<AnsibleHost>, InventoryError> {
    enum Section {
        Hosts(String),
        Vars(String),
        Children(String),
    }
    let mut inventory = Inventory::default();
    let mut section = Section::Hosts("ungrouped".to_owned());
    for (index, raw) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header.strip_suffix(']').ok_or_else(|| InventoryError {
                line: Some(line_number),
                message: format!("section header \"{line}\" has no closing ]"),
            })?;
            section = match header.split_once(':') {
                None => Section::Hosts(header.to_owned()),
                Some((group, "vars")) => Section::Vars(group.to_owned()),
                Some((group, "children")) => Section::Children(group.to_owned()),
                Some((_, kind)) => {
                    return Err(InventoryError {
                        line: Some(line_number),
                        message: format!(
                            "unknown section kind \":{kind}\" (expected :vars or :children)"
                        ),
                    });
                }
            };
            let group = match &section {
                Section::Hosts(g) | Section::Vars(g) | Section::Children(g) => g.clone(),
            };
            inventory.group(&group);
            continue;
        }
        match &section {
            Section::Hosts(group) => {
                let (name, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                let vars = parse_pairs(rest, line_number)?;
                inventory.group(group).hosts.insert(name.to_owned(), vars);
            }
            Section::Vars(group) => {
                let vars = parse_pairs(line, line_number)?;
                inventory.group(group).vars.extend(vars);
            }
            Section::Children(group) => {
                inventory.group(line);
                inventory.group(group).children.insert(line.to_owned());
            }
        }
    }
    inventory.into_hosts()
}

pub(crate) fn parse_yaml(text: &str) -> Result<Vec<AnsibleHost>, InventoryError> {
    use serde_yaml_ng::Value as Yaml;
    let yaml_error = |e: serde_yaml_ng::Error| InventoryError {
        line: e.location().map(|l| l.line()),
        message: e.to_string(),
    };
    let root: Yaml = serde_yaml_ng::from_str(text).map_err(yaml_error)?;
    let scalar = |v: &Yaml| match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let vars_of = |v: Option<&Yaml>| -> BTreeMap<String, String> {
        v.and_then(Yaml::as_mapping)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((scalar(k)?, scalar(v)?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    fn walk(
        name: &str,
        node: &Yaml,
        inventory: &mut Inventory,
        vars_of: &dyn Fn(Option<&Yaml>) -> BTreeMap<String, String>,
    ) {
        let hosts: Vec<(String, BTreeMap<String, String>)> = node
            .get("hosts")
            .and_then(Yaml::as_mapping)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), vars_of(Some(v)))))
                    .collect()
            })
            .unwrap_or_default();
        let group = inventory.group(name);
        group.hosts.extend(hosts);
        group.vars.extend(vars_of(node.get("vars")));
        let children: Vec<(String, Yaml)> = node
            .get("children")
            .and_then(Yaml::as_mapping)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
                    .collect()
            })
            .unwrap_or_default();
        for (child, child_node) in children {
            inventory.group(name).children.insert(child.clone());
            walk(&child, &child_node, inventory, vars_of);
        }
    }
    let mut inventory = Inventory::default();
    let top = root.as_mapping().ok_or_else(|| InventoryError {
        line: Some(1),
        message: "the inventory must be a mapping of group names (usually `all:`)".to_owned(),
    })?;
    for (key, node) in top {
        if let Some(name) = key.as_str() {
            walk(name, node, &mut inventory, &vars_of);
        }
    }
    inventory.into_hosts()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host<'a>(hosts: &'a [AnsibleHost], name: &str) -> &'a AnsibleHost {
        hosts.iter().find(|h| h.name == name).unwrap()
    }

    #[test]
    fn ini_groups_vars_and_children() {
        let hosts = parse_ini(
            "bastion ansible_host=10.0.0.1\n\
             [web]\nweb-1 ansible_host=10.0.1.1 ansible_port=2222 role=\"front end\"\nweb-2\n\
             [web:vars]\nansible_user=deploy\nrole=web\n\
             [prod:children]\nweb\n[prod:vars]\nenv=prod\n",
        )
        .unwrap();
        assert_eq!(hosts.len(), 3);
        let web1 = host(&hosts, "web-1");
        assert_eq!(web1.vars["ansible_port"], "2222");
        assert_eq!(web1.vars["role"], "front end");
        assert_eq!(web1.vars["ansible_user"], "deploy");
        assert_eq!(web1.vars["env"], "prod");
        assert_eq!(
            web1.groups.iter().map(String::as_str).collect::<Vec<_>>(),
            ["prod", "web"]
        );
        assert_eq!(host(&hosts, "web-2").vars["role"], "web");
        assert!(host(&hosts, "bastion").groups.is_empty());
    }

    #[test]
    fn ini_errors_name_the_line() {
        let err = parse_ini("[web\nweb-1\n").unwrap_err();
        assert_eq!(err.line, Some(1));
        let err = parse_ini("[web]\nweb-1 novalue\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        let err = parse_ini("[web:bogus]\n").unwrap_err();
        assert!(err.message.contains(":bogus"), "{}", err.message);
    }

    #[test]
    fn yaml_matches_ini() {
        let hosts = parse_yaml(
            "all:\n  vars:\n    ansible_user: root\n  children:\n    db:\n      hosts:\n        db-1:\n          ansible_host: 10.0.2.1\n          ansible_port: 22\n      vars:\n        Patch Group: db\n",
        )
        .unwrap();
        let db = host(&hosts, "db-1");
        assert_eq!(db.vars["ansible_user"], "root");
        assert_eq!(db.vars["ansible_port"], "22");
        assert_eq!(db.vars["Patch Group"], "db");
        assert!(db.groups.contains("db"));
        assert!(parse_yaml("- a\n").is_err());
    }
}
