//! The desired state: the configuration lowered into validated, typed values.
//!
//! Everything here is pure. Names are resolved to addresses, enum spellings are checked,
//! defaults are applied once, and every invariant a later stage relies on is enforced, so the
//! scanner, planner and executor never see an unchecked value.

mod lower;
pub mod schedule;

pub use lower::lower;
use serde::Serialize;
use std::collections::BTreeMap;

/// Generates an enum whose variants are spelled as AWS spells them, with parsing and display.
macro_rules! spelled_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize, schemars::JsonSchema)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [&'static str] = &[$($text),+];

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

spelled_enum!(
    /// `operating_system`, as the AWS API spells it.
    OperatingSystem {
        Windows = "WINDOWS",
        AmazonLinux = "AMAZON_LINUX",
        AmazonLinux2 = "AMAZON_LINUX_2",
        AmazonLinux2022 = "AMAZON_LINUX_2022",
        AmazonLinux2023 = "AMAZON_LINUX_2023",
        Ubuntu = "UBUNTU",
        Debian = "DEBIAN",
        RedhatEnterpriseLinux = "REDHAT_ENTERPRISE_LINUX",
        Centos = "CENTOS",
        OracleLinux = "ORACLE_LINUX",
        Suse = "SUSE",
        RockyLinux = "ROCKY_LINUX",
        AlmaLinux = "ALMA_LINUX",
        Raspbian = "RASPBIAN",
        Macos = "MACOS",
    }
);

impl OperatingSystem {
    /// Filter keys a baseline for this OS may use (patch-manager.md §1.2).
    pub fn filter_keys(self) -> &'static [PatchFilterKey] {
        use PatchFilterKey::*;
        match self {
            OperatingSystem::Ubuntu | OperatingSystem::Debian | OperatingSystem::Raspbian => {
                &[Product, Priority, Section]
            }
            OperatingSystem::Windows => &[
                PatchSet,
                Product,
                ProductFamily,
                Classification,
                MsrcSeverity,
            ],
            OperatingSystem::Macos => &[Product, Classification],
            _ => &[Product, Classification, Severity],
        }
    }

    /// Whether patchform can scan and patch hosts of this OS today (apt and dpkg).
    pub fn is_apt_family(self) -> bool {
        matches!(
            self,
            OperatingSystem::Ubuntu | OperatingSystem::Debian | OperatingSystem::Raspbian
        )
    }
}

spelled_enum!(
    PatchFilterKey {
        PatchSet = "PATCH_SET",
        Product = "PRODUCT",
        ProductFamily = "PRODUCT_FAMILY",
        Classification = "CLASSIFICATION",
        MsrcSeverity = "MSRC_SEVERITY",
        Severity = "SEVERITY",
        Priority = "PRIORITY",
        Section = "SECTION",
        PatchId = "PATCH_ID",
    }
);

spelled_enum!(
    ComplianceLevel {
        Critical = "CRITICAL",
        High = "HIGH",
        Medium = "MEDIUM",
        Low = "LOW",
        Informational = "INFORMATIONAL",
        Unspecified = "UNSPECIFIED",
    }
);

spelled_enum!(
    RejectedPatchesAction {
        AllowAsDependency = "ALLOW_AS_DEPENDENCY",
        Block = "BLOCK",
    }
);

spelled_enum!(
    Operation {
        Scan = "Scan",
        Install = "Install",
    }
);

spelled_enum!(
    RebootOption {
        RebootIfNeeded = "RebootIfNeeded",
        NoReboot = "NoReboot",
        Always = "Always",
    }
);

spelled_enum!(
    CutoffBehavior {
        ContinueTask = "CONTINUE_TASK",
        CancelTask = "CANCEL_TASK",
    }
);

/// Debian priorities accepted by a `PRIORITY` filter.
pub const DEBIAN_PRIORITIES: &[&str] = &["Required", "Important", "Standard", "Optional", "Extra"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchFilter {
    pub key: PatchFilterKey,
    pub values: Vec<String>,
}

/// When an approval rule approves what it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Days after patchform first saw the version (apt publishes no release dates).
    AfterDays(u16),
    UntilDate(jiff::civil::Date),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRule {
    pub filters: Vec<PatchFilter>,
    pub approval: Approval,
    pub compliance_level: ComplianceLevel,
    pub enable_non_security: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchSource {
    pub name: String,
    pub products: Vec<String>,
    pub configuration: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchBaseline {
    pub address: String,
    pub name: String,
    pub operating_system: OperatingSystem,
    pub description: Option<String>,
    pub global_filters: Vec<PatchFilter>,
    pub approval_rules: Vec<ApprovalRule>,
    /// Package names or globs.
    pub approved_patches: Vec<String>,
    pub approved_patches_compliance_level: ComplianceLevel,
    pub approved_patches_enable_non_security: bool,
    pub rejected_patches: Vec<String>,
    pub rejected_patches_action: RejectedPatchesAction,
    pub sources: Vec<PatchSource>,
}

impl PatchBaseline {
    /// The predefined baseline for an OS when the configuration declares no default, as
    /// AWS-DebianDefaultPatchBaseline: every security update at any priority, immediately.
    pub fn predefined(os: OperatingSystem) -> Option<PatchBaseline> {
        let name = match os {
            OperatingSystem::Debian => "AWS-DebianDefaultPatchBaseline",
            OperatingSystem::Ubuntu => "AWS-UbuntuDefaultPatchBaseline",
            OperatingSystem::Raspbian => "AWS-DefaultRaspbianPatchBaseline",
            _ => return None,
        };
        Some(PatchBaseline {
            address: format!("predefined.{name}"),
            name: name.to_owned(),
            operating_system: os,
            description: Some(
                "Built in: security updates of every priority, approved immediately.".to_owned(),
            ),
            global_filters: Vec::new(),
            approval_rules: vec![ApprovalRule {
                filters: vec![PatchFilter {
                    key: PatchFilterKey::Priority,
                    values: DEBIAN_PRIORITIES.iter().map(|p| (*p).to_owned()).collect(),
                }],
                approval: Approval::AfterDays(0),
                compliance_level: ComplianceLevel::Unspecified,
                enable_non_security: false,
            }],
            approved_patches: Vec::new(),
            approved_patches_compliance_level: ComplianceLevel::Unspecified,
            approved_patches_enable_non_security: false,
            rejected_patches: Vec::new(),
            rejected_patches_action: RejectedPatchesAction::AllowAsDependency,
            sources: Vec::new(),
        })
    }
}

/// SSH settings every host inherits unless it sets its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshDefaults {
    pub user: String,
    pub port: u16,
    pub identity_file: Option<String>,
    pub config_file: Option<String>,
    pub known_hosts_file: Option<String>,
    pub jump_host: Option<String>,
    pub connect_timeout_seconds: u32,
}

impl Default for SshDefaults {
    fn default() -> SshDefaults {
        SshDefaults {
            user: "root".to_owned(),
            port: 22,
            identity_file: None,
            config_file: None,
            known_hosts_file: None,
            jump_host: None,
            // Long enough for a loaded bastion, short enough that a dead host fails fast.
            connect_timeout_seconds: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Host {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub identity_file: Option<String>,
    pub jump_host: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// The patch group that selected this host, if any.
    pub group: Option<String>,
}

/// Which hosts a group holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    /// Hosts whose `Patch Group` (or `PatchGroup`) tag equals the group's name.
    PatchGroupTag,
    /// Hosts whose tags include all of `tags` and whose name matches one of `names`.
    Selector {
        tags: BTreeMap<String, String>,
        names: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchGroup {
    pub address: String,
    pub name: String,
    pub baseline: String,
    pub membership: Membership,
    pub depends_on: Vec<String>,
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaintenanceTask {
    pub name: String,
    pub operation: Operation,
    pub reboot: RebootOption,
    pub priority: u32,
    pub max_concurrency: schedule::Limit,
    pub max_errors: schedule::Limit,
    pub cutoff_behavior: CutoffBehavior,
    pub pre_hook: Option<String>,
    pub post_hook: Option<String>,
    pub health_check: Option<String>,
    /// Rollout waves inside each group, e.g. `["1", "25%", "100%"]`, each gated on the last.
    pub waves: Vec<schedule::Limit>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MaintenanceWindow {
    pub address: String,
    pub name: String,
    pub window: schedule::Window,
    pub targets: Vec<String>,
    pub tasks: Vec<MaintenanceTask>,
}

/// Where state is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Local { path: String },
    Pg { settings: BTreeMap<String, String> },
}

/// The whole desired state of one configuration.
#[derive(Debug, Clone, Serialize)]
pub struct DesiredState {
    pub backend: Backend,
    pub ssh: SshDefaults,
    pub hosts: BTreeMap<String, Host>,
    pub baselines: BTreeMap<String, PatchBaseline>,
    /// Default baseline address per OS: declared, else the predefined one.
    pub default_baselines: BTreeMap<OperatingSystem, String>,
    pub groups: BTreeMap<String, PatchGroup>,
    pub windows: BTreeMap<String, MaintenanceWindow>,
    pub sensitive_variables: Vec<String>,
}

impl DesiredState {
    /// The baseline a host follows: its group's, else the default for its operating system.
    pub fn baseline_for(
        &self,
        host: &str,
        os_id: &str,
    ) -> Option<std::borrow::Cow<'_, PatchBaseline>> {
        let group = self.hosts.get(host).and_then(|h| h.group.as_ref());
        if let Some(baseline) = group
            .and_then(|g| self.groups.get(g))
            .and_then(|g| self.baselines.get(&g.baseline))
        {
            return Some(std::borrow::Cow::Borrowed(baseline));
        }
        let os = match os_id {
            "debian" => OperatingSystem::Debian,
            "ubuntu" => OperatingSystem::Ubuntu,
            "raspbian" => OperatingSystem::Raspbian,
            _ => return None,
        };
        let address = self.default_baselines.get(&os)?;
        match self.baselines.get(address) {
            Some(baseline) => Some(std::borrow::Cow::Borrowed(baseline)),
            None => PatchBaseline::predefined(os).map(std::borrow::Cow::Owned),
        }
    }
}
