//! apt and dpkg: the commands patchform runs on Debian-family hosts and pure parsers for
//! their output.
//!
//! Everything a host prints is untrusted. Parsers accept only package names and versions
//! that Debian policy allows, so nothing odd can reach a later command line, and they reject
//! rather than guess when a line does not have the expected shape.

use super::{PackageName, ParseError, Version};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Marks the start of a section in the facts script's output.
const SECTION: &str = "@@pf ";
/// Marks a section's exit status, so a failing command is not mistaken for empty output.
const STATUS: &str = "@@pf-status ";

/// Reads every fact one scan needs in one round trip. Runs under `sh -c` with `LC_ALL=C.UTF-8`.
/// Nothing is interpolated into it. Its output is the facts sections, then after `@@pf details`
/// the package details (see `split_scan_output`).
pub(crate) const FACTS_SCRIPT: &str = include_str!("scan.sh");

/// Refreshes the package lists before a scan. `DPkg::Lock::Timeout` waits for another apt
/// instead of failing at once.
pub(crate) const UPDATE_COMMAND: &str =
    "apt-get -q -o DPkg::Lock::Timeout=60 -o Acquire::Retries=2 update";

/// The line that separates the facts from the package details in the scan's output.
const DETAILS_MARKER: &str = "\n@@pf details\n";

/// Splits the scan script's output into the facts part (`parse_facts`) and the details part
/// (`parse_details`).
pub fn split_scan_output(stdout: &str) -> Result<(&str, &str), ParseError> {
    stdout
        .split_once(DETAILS_MARKER)
        .ok_or_else(|| ParseError::new("the scan output has no details section"))
}

/// Package details by name: every version apt knows, newest first as apt lists them.
pub type Details = BTreeMap<PackageName, Vec<AvailableVersion>>;

/// Parses the whole output of `FACTS_SCRIPT`. Line numbers in errors count from the start of
/// the whole output, details included.
pub fn parse_scan_output(stdout: &str) -> Result<(AptFacts, Details), ParseError> {
    let (facts_text, details_text) = split_scan_output(stdout)?;
    let facts = parse_facts(facts_text)?;
    // The facts' lines, the blank line and the marker line come before the details.
    let offset = facts_text.matches('\n').count() + 2;
    let details = parse_details(details_text, &facts.releases).map_err(|mut error| {
        error.line = error.line.map(|line| line + offset);
        error
    })?;
    Ok((facts, details))
}

/// What dpkg says about an installed package (`${db:Status-Abbrev}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DpkgState {
    Installed,
    ConfigFiles,
    HalfInstalled,
    Unpacked,
    HalfConfigured,
    TriggersAwaited,
    TriggersPending,
}

impl DpkgState {
    fn from_abbrev(status: char) -> Option<DpkgState> {
        Some(match status {
            'i' => DpkgState::Installed,
            'c' => DpkgState::ConfigFiles,
            'H' => DpkgState::HalfInstalled,
            'U' => DpkgState::Unpacked,
            'F' => DpkgState::HalfConfigured,
            'W' => DpkgState::TriggersAwaited,
            't' => DpkgState::TriggersPending,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DpkgState::Installed => "installed",
            DpkgState::ConfigFiles => "config-files",
            DpkgState::HalfInstalled => "half-installed",
            DpkgState::Unpacked => "unpacked",
            DpkgState::HalfConfigured => "half-configured",
            DpkgState::TriggersAwaited => "triggers-awaited",
            DpkgState::TriggersPending => "triggers-pending",
        }
    }

    /// A package dpkg did not finish with: `dpkg --configure -a` must run before any upgrade.
    pub fn is_broken(self) -> bool {
        !matches!(self, DpkgState::Installed | DpkgState::ConfigFiles)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledPackage {
    pub version: Version,
    pub architecture: std::sync::Arc<str>,
    pub state: DpkgState,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsRelease {
    pub id: String,
    pub version_id: String,
    pub codename: String,
    pub pretty_name: String,
}

/// Whether something on the host installs updates on its own (it races with patchform).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoUpgrades {
    Enabled,
    Disabled,
    Unknown,
}

/// One archive apt knows, from `apt-cache policy`'s `release` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Release {
    pub origin: String,
    pub label: String,
    pub archive: String,
    pub codename: String,
    pub component: String,
}

impl Release {
    /// Patch Manager's Debian rule: an update is a security update when it comes from the
    /// security suite. Match the codename (`bookworm-security`) or Debian's label, never the
    /// archive (`stable-security` moves to `oldstable-security` at the next release).
    pub fn is_security(&self) -> bool {
        self.codename.ends_with("-security") || self.label == "Debian-Security"
    }

    /// `bookworm-security` style name used in plans.
    pub fn suite(&self) -> &str {
        if self.codename.is_empty() {
            &self.archive
        } else {
            &self.codename
        }
    }
}

/// A package `apt-get dist-upgrade` would install or upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulatedInstall {
    pub name: PackageName,
    /// `None` for a package the upgrade newly installs.
    pub from: Option<Version>,
    pub to: Version,
}

/// Facts from the facts script, before per-package details are fetched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AptFacts {
    pub os: OsRelease,
    pub boot_id: String,
    pub running_kernel: String,
    pub reboot_required: bool,
    pub reboot_required_packages: Vec<PackageName>,
    pub installed: BTreeMap<PackageName, InstalledPackage>,
    pub holds: BTreeSet<PackageName>,
    pub auto_upgrades: Option<AutoUpgrades>,
    pub dpkg_status_digest: String,
    pub apt_lists_digest: String,
    pub simulated: Vec<SimulatedInstall>,
    /// Source line (`URI dist/component arch`) to the archive it is.
    pub releases: BTreeMap<String, Release>,
}

/// One available version of a package with where it comes from and its control fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailableVersion {
    pub version: Version,
    pub releases: Vec<Release>,
    pub priority: String,
    pub section: String,
    /// Names in `Depends` and `Pre-Depends`, alternatives included.
    pub depends: Vec<PackageName>,
}

impl AvailableVersion {
    pub fn is_security(&self) -> bool {
        self.releases.iter().any(Release::is_security)
    }
}

/// Splits output into named sections, refusing a section whose command failed.
fn sections(stdout: &str) -> Result<BTreeMap<String, (usize, Vec<&str>)>, ParseError> {
    let mut out: BTreeMap<String, (usize, Vec<&str>)> = BTreeMap::new();
    let mut current: Option<String> = None;
    for (index, line) in stdout.lines().enumerate() {
        let line_number = index + 1;
        if let Some(name) = line.strip_prefix(SECTION) {
            if out.contains_key(name) {
                return Err(ParseError::at(
                    line_number,
                    format!("section {name} appears twice"),
                ));
            }
            out.insert(name.to_owned(), (line_number + 1, Vec::new()));
            current = Some(name.to_owned());
        } else if let Some(status) = line.strip_prefix(STATUS) {
            let name = current
                .take()
                .ok_or_else(|| ParseError::at(line_number, "status outside a section"))?;
            if status.trim() != "0" {
                let lines = &out[&name].1;
                let tail: Vec<&str> = lines.iter().rev().take(3).rev().copied().collect();
                return Err(ParseError::at(
                    line_number,
                    format!(
                        "the {name} command exited with status {}: {}",
                        status.trim(),
                        tail.join(" | ")
                    ),
                ));
            }
        } else if let Some(name) = &current
            && let Some((_, lines)) = out.get_mut(name)
        {
            lines.push(line);
        }
    }
    Ok(out)
}

fn section<'a>(
    sections: &'a BTreeMap<String, (usize, Vec<&'a str>)>,
    name: &str,
) -> Result<(usize, &'a [&'a str]), ParseError> {
    sections
        .get(name)
        .map(|(first, lines)| (*first, lines.as_slice()))
        .ok_or_else(|| ParseError::new(format!("the output has no {name} section")))
}

pub(crate) fn parse_os_release(lines: &[&str]) -> OsRelease {
    let mut os = OsRelease::default();
    for line in lines {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_owned();
        match key.trim() {
            "ID" => os.id = value,
            "VERSION_ID" => os.version_id = value,
            "VERSION_CODENAME" => os.codename = value,
            "PRETTY_NAME" => os.pretty_name = value,
            _ => {}
        }
    }
    os
}

/// Parses `dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\n'`.
pub(crate) fn parse_dpkg(
    first_line: usize,
    lines: &[&str],
) -> Result<BTreeMap<PackageName, InstalledPackage>, ParseError> {
    let mut installed = BTreeMap::new();
    // A host has a handful of architectures ("amd64", "all"); share one string for each.
    let mut architectures: BTreeMap<&str, std::sync::Arc<str>> = BTreeMap::new();
    for (offset, line) in lines.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        let at = first_line + offset;
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, version, architecture, status] = fields[..] else {
            return Err(ParseError::at(at, "expected 4 tab-separated fields"));
        };
        // Status-Abbrev is want, status, error flag: "ii ", "iF ", "rc ", "iHR".
        let state_char = status.chars().nth(1).unwrap_or(' ');
        let Some(state) = DpkgState::from_abbrev(state_char) else {
            // 'n' (not installed) rows carry no version worth keeping.
            continue;
        };
        if state == DpkgState::ConfigFiles {
            continue;
        }
        let name = PackageName::parse(name).map_err(|e| ParseError::at(at, e))?;
        let version = Version::parse(version).map_err(|e| ParseError::at(at, e))?;
        installed.insert(
            name,
            InstalledPackage {
                version,
                architecture: architectures
                    .entry(architecture)
                    .or_insert_with(|| architecture.into())
                    .clone(),
                state,
            },
        );
    }
    Ok(installed)
}

/// Parses the `Inst` lines of `apt-get -s dist-upgrade`:
/// `Inst NAME [OLD] (NEW RELEASE[, RELEASE] [ARCH])`, `[OLD]` absent for new packages.
pub(crate) fn parse_simulation(
    first_line: usize,
    lines: &[&str],
) -> Result<Vec<SimulatedInstall>, ParseError> {
    let mut installs = Vec::new();
    for (offset, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("Inst ") else {
            continue;
        };
        let at = first_line + offset;
        let (name, rest) = rest
            .split_once(' ')
            .ok_or_else(|| ParseError::at(at, "Inst line without a version"))?;
        let (from, rest) = match rest.strip_prefix('[') {
            Some(old) => {
                let (old, rest) = old
                    .split_once("] ")
                    .ok_or_else(|| ParseError::at(at, "unterminated [installed version]"))?;
                (
                    Some(Version::parse(old).map_err(|e| ParseError::at(at, e))?),
                    rest,
                )
            }
            None => (None, rest),
        };
        let inner = rest
            .strip_prefix('(')
            .and_then(|r| r.split_once(' ').map(|(v, _)| v))
            .ok_or_else(|| ParseError::at(at, "expected (VERSION ...) after the package name"))?;
        installs.push(SimulatedInstall {
            name: PackageName::parse(name).map_err(|e| ParseError::at(at, e))?,
            from,
            to: Version::parse(inner).map_err(|e| ParseError::at(at, e))?,
        });
    }
    Ok(installs)
}

/// Parses the package-files part of a bare `apt-cache policy`: each source line followed by
/// its `release` line.
pub(crate) fn parse_releases(lines: &[&str]) -> BTreeMap<String, Release> {
    let mut releases = BTreeMap::new();
    let mut source: Option<String> = None;
    for line in lines {
        let trimmed = line.trim();
        if let Some(fields) = trimmed.strip_prefix("release ") {
            let Some(key) = source.take() else { continue };
            let mut release = Release::default();
            for pair in fields.split(',') {
                let Some((k, v)) = pair.split_once('=') else {
                    continue;
                };
                let v = v.to_owned();
                match k {
                    "o" => release.origin = v,
                    "l" => release.label = v,
                    "a" => release.archive = v,
                    "n" => release.codename = v,
                    "c" => release.component = v,
                    _ => {}
                }
            }
            releases.insert(key, release);
        } else if let Some(key) = source_key(trimmed) {
            source = Some(key);
        } else if trimmed.starts_with("Pinned packages") {
            break;
        }
    }
    releases
}

/// `500 http://deb.debian.org/debian bookworm/main amd64 Packages` → the line without its
/// pin priority and trailing `Packages`, which is how version tables name the same source.
fn source_key(line: &str) -> Option<String> {
    let (priority, rest) = line.split_once(' ')?;
    priority.parse::<i32>().ok()?;
    let rest = rest.trim();
    Some(rest.strip_suffix(" Packages").unwrap_or(rest).to_owned())
}

/// Per package, every version with the source lines it is available from.
type VersionTables = BTreeMap<PackageName, Vec<(Version, Vec<String>)>>;

/// Version tables of `apt-cache policy -- NAME...`: per package, every version and its sources.
pub(crate) fn parse_policy(first_line: usize, lines: &[&str]) -> Result<VersionTables, ParseError> {
    let mut tables: VersionTables = BTreeMap::new();
    let mut package: Option<PackageName> = None;
    let mut in_table = false;
    for (offset, line) in lines.iter().enumerate() {
        let at = first_line + offset;
        if !line.starts_with(' ') && line.ends_with(':') {
            let name = PackageName::parse(line.trim_end_matches(':'))
                .map_err(|e| ParseError::at(at, e))?;
            tables.entry(name.clone()).or_default();
            package = Some(name);
            in_table = false;
            continue;
        }
        let Some(name) = &package else { continue };
        let trimmed = line.trim();
        if trimmed == "Version table:" {
            in_table = true;
            continue;
        }
        if !in_table || trimmed.is_empty() {
            continue;
        }
        // Version rows are indented 5 (or start with " *** "); source rows 8.
        let indent = line.len() - line.trim_start().len();
        let versions = tables.entry(name.clone()).or_default();
        if trimmed.starts_with("*** ") || indent <= 5 {
            let text = trimmed.trim_start_matches("*** ");
            let version = text.split_whitespace().next().unwrap_or_default();
            versions.push((
                Version::parse(version).map_err(|e| ParseError::at(at, e))?,
                Vec::new(),
            ));
        } else if let Some((_, sources)) = versions.last_mut()
            && let Some(key) = source_key(trimmed)
        {
            sources.push(key);
        }
    }
    Ok(tables)
}

/// One stanza of `apt-cache show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageRecord {
    pub(crate) name: PackageName,
    pub(crate) version: Version,
    pub(crate) priority: String,
    pub(crate) section: String,
    pub(crate) depends: Vec<PackageName>,
}

/// Names in a `Depends` field: `a (>= 1), b | c:any` → a, b, c.
fn dependency_names(field: &str) -> Vec<PackageName> {
    field
        .split([',', '|'])
        .filter_map(|alternative| {
            let name = alternative.trim().split([' ', '(', ':']).next()?;
            PackageName::parse(name).ok()
        })
        .collect()
}

pub(crate) fn parse_show(
    first_line: usize,
    lines: &[&str],
) -> Result<Vec<PackageRecord>, ParseError> {
    let mut records = Vec::new();
    let mut fields: BTreeMap<&str, String> = BTreeMap::new();
    let mut start = first_line;
    let mut flush = |fields: &mut BTreeMap<&str, String>, at: usize| -> Result<(), ParseError> {
        if fields.is_empty() {
            return Ok(());
        }
        let name = fields
            .get("Package")
            .ok_or_else(|| ParseError::at(at, "record without Package"))?;
        let version = fields
            .get("Version")
            .ok_or_else(|| ParseError::at(at, "record without Version"))?;
        let mut depends = fields
            .get("Pre-Depends")
            .map(|f| dependency_names(f))
            .unwrap_or_default();
        depends.extend(
            fields
                .get("Depends")
                .map(|f| dependency_names(f))
                .unwrap_or_default(),
        );
        records.push(PackageRecord {
            name: PackageName::parse(name).map_err(|e| ParseError::at(at, e))?,
            version: Version::parse(version).map_err(|e| ParseError::at(at, e))?,
            priority: fields.get("Priority").cloned().unwrap_or_default(),
            section: fields.get("Section").cloned().unwrap_or_default(),
            depends,
        });
        fields.clear();
        Ok(())
    };
    for (offset, line) in lines.iter().enumerate() {
        if line.is_empty() {
            flush(&mut fields, start)?;
            start = first_line + offset + 1;
            continue;
        }
        if line.starts_with(' ') {
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            let key = match key {
                "Package" => "Package",
                "Version" => "Version",
                "Priority" => "Priority",
                "Section" => "Section",
                "Depends" => "Depends",
                "Pre-Depends" => "Pre-Depends",
                _ => continue,
            };
            fields.insert(key, value.trim().to_owned());
        }
    }
    flush(&mut fields, start)?;
    Ok(records)
}

/// Parses the facts script's output.
pub fn parse_facts(stdout: &str) -> Result<AptFacts, ParseError> {
    let sections = sections(stdout)?;
    let (_, os_lines) = section(&sections, "os-release")?;
    let (_, boot) = section(&sections, "boot-id")?;
    let (_, kernel) = section(&sections, "kernel")?;
    let (_, reboot) = section(&sections, "reboot-required")?;
    let (dpkg_first, dpkg) = section(&sections, "dpkg")?;
    let (holds_first, holds) = section(&sections, "holds")?;
    let (_, auto) = section(&sections, "auto-upgrades")?;
    let (_, fingerprint) = section(&sections, "fingerprint")?;
    let (simulate_first, simulate) = section(&sections, "simulate")?;
    let (_, policy) = section(&sections, "policy")?;
    let boot_id = boot
        .first()
        .map(|b| b.trim().to_owned())
        .unwrap_or_default();
    if boot_id.len() != 36 || !boot_id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(ParseError::new(format!(
            "boot_id \"{}\" is not a UUID",
            boot_id.escape_debug()
        )));
    }
    let reboot_required = reboot.first().is_some_and(|l| l.trim() == "yes");
    let reboot_required_packages = reboot
        .iter()
        .skip(1)
        .filter_map(|l| PackageName::parse(l.trim()).ok())
        .collect();
    let holds = holds
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| PackageName::parse(l.trim()).map_err(|e| ParseError::at(holds_first + i, e)))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let digest = |i: usize| -> Result<String, ParseError> {
        let text = fingerprint.get(i).map(|l| l.trim()).unwrap_or_default();
        if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(text.to_owned())
        } else {
            Err(ParseError::new(
                "the fingerprint section holds no SHA-256 digest",
            ))
        }
    };
    Ok(AptFacts {
        os: parse_os_release(os_lines),
        boot_id,
        running_kernel: kernel
            .first()
            .map(|k| k.trim().to_owned())
            .unwrap_or_default(),
        reboot_required,
        reboot_required_packages,
        installed: parse_dpkg(dpkg_first, dpkg)?,
        holds,
        auto_upgrades: Some(parse_auto_upgrades(auto)),
        dpkg_status_digest: digest(0)?,
        apt_lists_digest: digest(1)?,
        simulated: parse_simulation(simulate_first, simulate)?,
        releases: parse_releases(policy),
    })
}

/// `unit enabled|disabled|unknown` lines plus `APT::Periodic::Unattended-Upgrade "1";`.
pub(crate) fn parse_auto_upgrades(lines: &[&str]) -> AutoUpgrades {
    let mut known = false;
    for line in lines {
        if let Some(value) = line.strip_prefix("APT::Periodic::Unattended-Upgrade ") {
            let value = value.trim().trim_end_matches(';').trim_matches('"');
            if value != "0" && !value.is_empty() {
                return AutoUpgrades::Enabled;
            }
            known = true;
        } else if let Some((_, state)) = line.split_once(' ') {
            match state.trim() {
                "enabled" | "enabled-runtime" | "static" => return AutoUpgrades::Enabled,
                "disabled" | "masked" | "not-found" => known = true,
                _ => {}
            }
        }
    }
    if known {
        AutoUpgrades::Disabled
    } else {
        AutoUpgrades::Unknown
    }
}

/// Parses the details script's output into every available version of each package.
pub fn parse_details(
    stdout: &str,
    releases: &BTreeMap<String, Release>,
) -> Result<BTreeMap<PackageName, Vec<AvailableVersion>>, ParseError> {
    let (policy, show) = match stdout.split_once("\n@@pf show\n") {
        Some(parts) => parts,
        None => return Err(ParseError::new("the details output has no show section")),
    };
    let policy_lines: Vec<&str> = policy.lines().collect();
    let (policy_lines, status) = match policy_lines.split_last() {
        Some((last, rest)) if last.starts_with(STATUS) => (rest, last.trim_start_matches(STATUS)),
        _ => return Err(ParseError::new("apt-cache policy did not finish")),
    };
    if status.trim() != "0" {
        return Err(ParseError::new(format!(
            "apt-cache policy exited with status {}",
            status.trim()
        )));
    }
    let show_lines: Vec<&str> = show.lines().filter(|l| !l.starts_with(STATUS)).collect();
    let tables = parse_policy(1, policy_lines)?;
    let records = parse_show(policy_lines.len() + 3, &show_lines)?;
    let mut out = BTreeMap::new();
    for (name, versions) in tables {
        let mut available = Vec::new();
        for (version, sources) in versions {
            let record = records
                .iter()
                .find(|r| r.name == name && r.version == version);
            available.push(AvailableVersion {
                releases: sources
                    .iter()
                    .filter_map(|s| releases.get(s).cloned())
                    .collect(),
                priority: record.map(|r| r.priority.clone()).unwrap_or_default(),
                section: record.map(|r| r.section.clone()).unwrap_or_default(),
                depends: record.map(|r| r.depends.clone()).unwrap_or_default(),
                version,
            });
        }
        out.insert(name, available);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(case: &str, file: &str) -> String {
        let path = format!(
            "{}/testdata/scan/apt/{case}/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Compares with a golden JSON file, or rewrites it under UPDATE_EXPECT=1.
    fn check_json<T: Serialize>(case: &str, file: &str, value: &T) {
        let actual = serde_json::to_string_pretty(value).unwrap() + "\n";
        let path = format!(
            "{}/testdata/scan/apt/{case}/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(&path, &actual).unwrap();
        }
        assert_eq!(
            actual,
            testdata(case, file),
            "{path} (UPDATE_EXPECT=1 to accept)"
        );
    }

    #[test]
    fn facts_of_a_fleet_host_parse_to_their_snapshot() {
        let scan = testdata("fleet-bookworm", "scan.stdout");
        let (facts, _) = split_scan_output(&scan).unwrap();
        check_json("fleet-bookworm", "facts.json", &parse_facts(facts).unwrap());
        // Recorded before the details joined the facts script; its facts part is unchanged.
        let facts = testdata("fleet-broken-held", "facts.stdout");
        check_json(
            "fleet-broken-held",
            "facts.json",
            &parse_facts(&facts).unwrap(),
        );
    }

    #[test]
    fn details_of_a_fleet_host_parse_to_their_snapshot() {
        let scan = testdata("fleet-bookworm", "scan.stdout");
        let (facts, details) = split_scan_output(&scan).unwrap();
        let facts = parse_facts(facts).unwrap();
        let details = parse_details(details, &facts.releases).unwrap();
        check_json("fleet-bookworm", "details.json", &details);
        let outranked = &details[&PackageName::parse("pf-outranked").unwrap()];
        let security: Vec<&str> = outranked
            .iter()
            .filter(|v| v.is_security())
            .map(|v| v.version.as_str())
            .collect();
        assert_eq!(security, ["1.0-1+deb12u1"]);
    }

    #[test]
    fn output_without_details_is_an_error() {
        assert!(split_scan_output("\n@@pf os-release\nID=debian\n@@pf-status 0\n").is_err());
    }

    #[test]
    fn details_errors_count_lines_from_the_start_of_the_output() {
        let scan = testdata("fleet-bookworm", "scan.stdout");
        let line = scan.lines().position(|l| l == "pf-libssl:").unwrap() + 1;
        let broken = scan.replacen("\npf-libssl:\n", "\npf-libssl;x:\n", 1);
        let error = parse_scan_output(&broken).unwrap_err();
        assert_eq!(error.line, Some(line), "{error}");
    }

    #[test]
    fn failing_commands_are_errors_not_empty_output() {
        let stdout = "\n@@pf os-release\nID=debian\n@@pf-status 0\n\n@@pf dpkg\ndpkg-query: error\n@@pf-status 2\n";
        let error = parse_facts(stdout).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("dpkg command exited with status 2"),
            "{error}"
        );
    }

    #[test]
    fn hostile_names_and_versions_are_refused() {
        let lines = ["pkg;rm -rf /\t1.0\tall\tii "];
        assert!(parse_dpkg(1, &lines).is_err());
        let lines = ["ok\t1.0$(reboot)\tall\tii "];
        assert!(parse_dpkg(1, &lines).is_err());
        let lines = ["Inst evil`id` [1.0] (2.0 Debian:12/stable [all])"];
        assert!(parse_simulation(1, &lines).is_err());
        assert!(parse_facts("\n@@pf os-release\n@@pf os-release\n").is_err());
    }

    #[test]
    fn simulation_lines() {
        let lines = [
            "Inst libssl3 [3.0.11-1~deb12u1] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])",
            "Inst pf-newlib (2.0-1 Debian:12/stable-updates [all])",
            "Conf libssl3 (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])",
        ];
        let installs = parse_simulation(1, &lines).unwrap();
        assert_eq!(installs.len(), 2);
        assert_eq!(
            installs[0].from.as_ref().unwrap().as_str(),
            "3.0.11-1~deb12u1"
        );
        assert_eq!(installs[1].from, None);
        assert_eq!(installs[1].to.as_str(), "2.0-1");
    }

    #[test]
    fn dependency_fields() {
        let names: Vec<String> = dependency_names(
            "libc6 (>= 2.34), libssl3 | libssl1.1:any, debconf (>= 0.5) | debconf-2.0",
        )
        .into_iter()
        .map(|n| n.as_str().to_owned())
        .collect();
        assert_eq!(
            names,
            ["libc6", "libssl3", "libssl1.1", "debconf", "debconf-2.0"]
        );
    }
}

/// Simulates installing `pkg=version...` (`"$@"`); prints `Inst` lines like `apt-get -s`.
pub(crate) const SIMULATE_INSTALL_SCRIPT: &str = r#"exec apt-get -s -q -o Debug::NoLocking=1 -o APT::Install-Recommends=false --allow-downgrades install -- "$@""#;

/// Installs `pkg=version...` detached from the SSH session, so a lost connection never
/// interrupts dpkg: the install runs in its own session and writes its log and exit status
/// under /var/lib/patchform; this script waits for the status. `$1` is a run id. Logs of
/// earlier runs are kept about a month (`-mtime +30`: 31 whole days), for whoever
/// investigates a host afterwards.
pub(crate) const INSTALL_SCRIPT: &str = r#"run="/var/lib/patchform/run-$1"; shift
mkdir -p /var/lib/patchform
find /var/lib/patchform -maxdepth 1 -type f -name 'run-*' -mtime +30 -delete
rm -f "$run.rc" "$run.log"
export DEBIAN_FRONTEND=noninteractive
setsid sh -c 'apt-get -y -q -o DPkg::Lock::Timeout="$PF_LOCK_TIMEOUT" -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o APT::Install-Recommends=false --allow-downgrades install -- "$@" > "$0.log" 2>&1; echo $? > "$0.rc.tmp"; mv "$0.rc.tmp" "$0.rc"' "$run" "$@" < /dev/null > /dev/null 2>&1 &
# setsid normally runs in the background job itself, so `wait` returns when apt does; the
# loop covers a setsid that forked.
wait "$!"
while [ ! -e "$run.rc" ]; do sleep 0.2; done
cat "$run.log"
exit "$(cat "$run.rc")"
"#;

/// Prints the package database and apt lists digests, as the facts script does.
pub(crate) const FINGERPRINT_SCRIPT: &str = r#"sha256sum /var/lib/dpkg/status | cut -d' ' -f1
find /var/lib/apt/lists -maxdepth 1 -type f -printf '%f %s %T@\n' | LC_ALL=C sort | sha256sum | cut -d' ' -f1
"#;

/// Prints `yes` when the host asks for a reboot.
pub(crate) const REBOOT_REQUIRED_SCRIPT: &str =
    "if [ -e /var/run/reboot-required ]; then echo yes; else echo no; fi";

pub(crate) const BOOT_ID_SCRIPT: &str = "cat /proc/sys/kernel/random/boot_id";

/// Asks the host to reboot a moment after this command returns, so the answer usually gets
/// back (apply does not depend on it: it waits for a new boot_id either way).
pub(crate) const REBOOT_SCRIPT: &str = "(sleep 0.3; reboot) > /dev/null 2>&1 < /dev/null &";

/// Versions and dpkg states of `"$@"`, in one dpkg-query. A package dpkg does not know is
/// left out (dpkg-query then exits 1), which the caller reads as not installed.
pub(crate) const VERIFY_SCRIPT: &str =
    r#"dpkg-query -W -f='${Package}\t${Version}\t${db:Status-Abbrev}\n' -- "$@" 2>/dev/null; true"#;

/// Why an install failed, read from apt's and dpkg's own messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallFailure {
    DpkgLock,
    Download,
    DependencyConflict,
    MaintainerScript,
    Other,
}

impl InstallFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            InstallFailure::DpkgLock => "dpkg lock not acquired in time",
            InstallFailure::Download => "download failure",
            InstallFailure::DependencyConflict => "dependency conflict",
            InstallFailure::MaintainerScript => "maintainer-script failure",
            InstallFailure::Other => "install failed",
        }
    }
}

/// Classifies a failed `apt-get install` from its output. Lock problems are checked first:
/// apt reports them before it does anything else.
pub fn classify_install_failure(log: &str) -> InstallFailure {
    let has = |needle: &str| log.contains(needle);
    if has("Could not get lock")
        || has("Unable to acquire the dpkg frontend lock")
        || has("Unable to lock the administration directory")
    {
        InstallFailure::DpkgLock
    } else if has("Failed to fetch") || has("Unable to fetch some archives") {
        InstallFailure::Download
    } else if has("Unmet dependencies")
        || has("held broken packages")
        || (has("Version '") && has("was not found"))
        || has("Unable to correct problems")
    {
        InstallFailure::DependencyConflict
    } else if has("subprocess returned error exit status")
        || has("installed post-installation script")
        || has("pre-installation script")
        || has("post-removal script")
    {
        InstallFailure::MaintainerScript
    } else {
        InstallFailure::Other
    }
}

/// One line of the verify script: name, version (`-` if absent), dpkg status abbreviation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPackage {
    pub version: Option<Version>,
    pub state: Option<DpkgState>,
}

pub fn parse_verify(stdout: &str) -> Result<BTreeMap<PackageName, VerifiedPackage>, ParseError> {
    let mut out = BTreeMap::new();
    for (index, line) in stdout.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let at = index + 1;
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, version, status] = fields[..] else {
            return Err(ParseError::at(at, "expected 3 tab-separated fields"));
        };
        let name = PackageName::parse(name).map_err(|e| ParseError::at(at, e))?;
        let state = status.chars().nth(1).and_then(DpkgState::from_abbrev);
        let version = match (version, state) {
            ("-", _) | (_, None) => None,
            (v, Some(_)) => Some(Version::parse(v).map_err(|e| ParseError::at(at, e))?),
        };
        out.insert(name, VerifiedPackage { version, state });
    }
    Ok(out)
}

/// Parses the fingerprint script's two digests.
pub fn parse_fingerprint(stdout: &str) -> Result<(String, String), ParseError> {
    let lines: Vec<&str> = stdout.lines().map(str::trim).collect();
    let valid = |s: &&str| s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit());
    match lines[..] {
        [a, b] if valid(&a) && valid(&b) => Ok((a.to_owned(), b.to_owned())),
        _ => Err(ParseError::new("expected two SHA-256 digests")),
    }
}

#[cfg(test)]
mod install_tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/testdata/scan/apt/install/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn install_failures_are_classified_from_recorded_output() {
        assert_eq!(
            classify_install_failure(&fixture("lock-held.log")),
            InstallFailure::DpkgLock
        );
        assert_eq!(
            classify_install_failure(&fixture("postinst-fails.log")),
            InstallFailure::MaintainerScript
        );
        assert_eq!(
            classify_install_failure(&fixture("version-missing.log")),
            InstallFailure::DependencyConflict
        );
        assert_eq!(
            classify_install_failure("E: Failed to fetch file:/srv/x.deb  File not found"),
            InstallFailure::Download
        );
        assert_eq!(
            classify_install_failure("something else"),
            InstallFailure::Other
        );
    }

    #[test]
    fn verify_output_parses() {
        let parsed = parse_verify(&fixture("verify.stdout")).unwrap();
        let get = |n: &str| &parsed[&PackageName::parse(n).unwrap()];
        assert_eq!(
            get("pf-libssl").version.as_ref().unwrap().as_str(),
            "1.0-1+deb12u1"
        );
        assert_eq!(get("pf-failing").state, Some(DpkgState::HalfConfigured));
        // Asked about, unknown to dpkg: not in the output, so not installed.
        assert!(!parsed.contains_key(&PackageName::parse("pf-absent").unwrap()));
        // The form the per-package loop of earlier versions printed still parses.
        let old = parse_verify("pf-absent\t-\tn\n").unwrap();
        assert_eq!(old[&PackageName::parse("pf-absent").unwrap()].version, None);
        assert!(parse_verify("a;b\t1\tii\n").is_err());
    }
}
