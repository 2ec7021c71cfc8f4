//! The single list of block types and arguments the language accepts.
//!
//! The loader checks every file against these tables before evaluating anything, so an
//! unknown block or argument is reported with a suggestion instead of being ignored.

/// How an argument's evaluated value must look; primitives convert as Terraform converts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    String,
    Number,
    Bool,
    StringList,
    StringMap,
    /// A reference to a declared block (`patch_group.web`) or its name as a string.
    Ref,
    RefList,
    Any,
    /// Not evaluated by the loader: a type constraint or a deferred condition.
    Unevaluated,
}

#[derive(Debug)]
pub(crate) struct AttrSchema {
    pub(crate) name: &'static str,
    pub(crate) ty: Ty,
    pub(crate) required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    Once,
    Many,
}

#[derive(Debug)]
pub(crate) struct BlockSchema {
    pub(crate) name: &'static str,
    /// What each label names, used in "missing label" diagnostics.
    pub(crate) labels: &'static [&'static str],
    pub(crate) attrs: &'static [AttrSchema],
    pub(crate) blocks: &'static [BlockSchema],
    pub(crate) repeat: Repeat,
    /// `locals` and module calls take arguments whose names the user chooses.
    pub(crate) open: bool,
    /// Where to send a user who got this block wrong.
    pub(crate) help: &'static str,
}

impl BlockSchema {
    pub(crate) fn attr(&self, name: &str) -> Option<&AttrSchema> {
        self.attrs.iter().find(|a| a.name == name)
    }

    pub(crate) fn block(&self, name: &str) -> Option<&BlockSchema> {
        self.blocks.iter().find(|b| b.name == name)
    }
}

const fn req(name: &'static str, ty: Ty) -> AttrSchema {
    AttrSchema {
        name,
        ty,
        required: true,
    }
}

const fn opt(name: &'static str, ty: Ty) -> AttrSchema {
    AttrSchema {
        name,
        ty,
        required: false,
    }
}

const fn block(
    name: &'static str,
    labels: &'static [&'static str],
    attrs: &'static [AttrSchema],
    blocks: &'static [BlockSchema],
    repeat: Repeat,
) -> BlockSchema {
    BlockSchema {
        name,
        labels,
        attrs,
        blocks,
        repeat,
        open: false,
        help: "",
    }
}

const PATCH_FILTER: BlockSchema = block(
    "patch_filter",
    &[],
    &[req("key", Ty::String), req("values", Ty::StringList)],
    &[],
    Repeat::Many,
);

const GLOBAL_FILTER: BlockSchema = BlockSchema {
    name: "global_filter",
    ..PATCH_FILTER
};

const APPROVAL_RULE: BlockSchema = block(
    "approval_rule",
    &[],
    &[
        opt("approve_after_days", Ty::Number),
        opt("approve_until_date", Ty::String),
        opt("compliance_level", Ty::String),
        opt("enable_non_security", Ty::Bool),
    ],
    &[PATCH_FILTER],
    Repeat::Many,
);

const SOURCE: BlockSchema = block(
    "source",
    &[],
    &[
        req("name", Ty::String),
        req("products", Ty::StringList),
        req("configuration", Ty::String),
    ],
    &[],
    Repeat::Many,
);

const VALIDATION: BlockSchema = block(
    "validation",
    &[],
    &[
        req("condition", Ty::Unevaluated),
        req("error_message", Ty::String),
    ],
    &[],
    Repeat::Many,
);

const SELECTOR: BlockSchema = block(
    "selector",
    &[],
    &[opt("tags", Ty::StringMap), opt("names", Ty::StringList)],
    &[],
    Repeat::Once,
);

const TASK: BlockSchema = block(
    "task",
    &["task name"],
    &[
        opt("operation", Ty::String),
        opt("reboot", Ty::String),
        opt("priority", Ty::Number),
        opt("max_concurrency", Ty::String),
        opt("max_errors", Ty::String),
        opt("cutoff_behavior", Ty::String),
        opt("pre_hook", Ty::String),
        opt("post_hook", Ty::String),
        opt("health_check", Ty::String),
        opt("waves", Ty::StringList),
        opt("description", Ty::String),
    ],
    &[],
    Repeat::Many,
);

const BACKEND: BlockSchema = BlockSchema {
    open: true,
    ..block("backend", &["backend type"], &[], &[], Repeat::Once)
};

/// Every top-level block type, in the order the README documents them.
pub(crate) const TOP_LEVEL: &[BlockSchema] = &[
    BlockSchema {
        help: "Declare settings as `patchform { backend \"local\" { path = \"patchform.pfstate\" } }`.",
        ..block("patchform", &[], &[], &[BACKEND], Repeat::Once)
    },
    BlockSchema {
        help: "Declare a variable as `variable \"name\" { type = string }`.",
        ..block(
            "variable",
            &["variable name"],
            &[
                opt("type", Ty::Unevaluated),
                opt("default", Ty::Any),
                opt("description", Ty::String),
                opt("sensitive", Ty::Bool),
                opt("nullable", Ty::Bool),
            ],
            &[VALIDATION],
            Repeat::Many,
        )
    },
    BlockSchema {
        open: true,
        help: "Declare local values as `locals { name = value }`.",
        ..block("locals", &[], &[], &[], Repeat::Many)
    },
    BlockSchema {
        help: "Declare an output as `output \"name\" { value = ... }`.",
        ..block(
            "output",
            &["output name"],
            &[
                req("value", Ty::Any),
                opt("description", Ty::String),
                opt("sensitive", Ty::Bool),
            ],
            &[],
            Repeat::Many,
        )
    },
    BlockSchema {
        open: true,
        help: "Call a module as `module \"name\" { source = \"./modules/x\" }`.",
        ..block(
            "module",
            &["module name"],
            &[req("source", Ty::Unevaluated)],
            &[],
            Repeat::Many,
        )
    },
    BlockSchema {
        help: "Set SSH defaults as `ssh { user = \"root\" }`.",
        ..block(
            "ssh",
            &[],
            &[
                opt("user", Ty::String),
                opt("port", Ty::Number),
                opt("identity_file", Ty::String),
                opt("config_file", Ty::String),
                opt("known_hosts_file", Ty::String),
                opt("jump_host", Ty::String),
                opt("connect_timeout", Ty::Number),
            ],
            &[],
            Repeat::Once,
        )
    },
    BlockSchema {
        help: "Declare a host as `host \"web-1\" { address = \"10.0.0.1\" }`.",
        ..block(
            "host",
            &["host name"],
            &[
                req("address", Ty::String),
                opt("port", Ty::Number),
                opt("user", Ty::String),
                opt("identity_file", Ty::String),
                opt("jump_host", Ty::String),
                opt("tags", Ty::StringMap),
            ],
            &[],
            Repeat::Many,
        )
    },
    BlockSchema {
        help: "Read an Ansible inventory as `inventory \"fleet\" { path = \"hosts.ini\" }`.",
        ..block(
            "inventory",
            &["inventory name"],
            &[
                req("path", Ty::String),
                opt("format", Ty::String),
                opt("tags", Ty::StringMap),
            ],
            &[],
            Repeat::Many,
        )
    },
    BlockSchema {
        help: "Declare a baseline as `patch_baseline \"name\" { operating_system = \"DEBIAN\" ... }`.",
        ..block(
            "patch_baseline",
            &["baseline name"],
            &[
                opt("name", Ty::String),
                req("operating_system", Ty::String),
                opt("description", Ty::String),
                opt("approved_patches", Ty::StringList),
                opt("approved_patches_compliance_level", Ty::String),
                opt("approved_patches_enable_non_security", Ty::Bool),
                opt("rejected_patches", Ty::StringList),
                opt("rejected_patches_action", Ty::String),
            ],
            &[GLOBAL_FILTER, APPROVAL_RULE, SOURCE],
            Repeat::Many,
        )
    },
    BlockSchema {
        help: "Declare the default baseline as `default_patch_baseline { baseline = patch_baseline.x }`.",
        ..block(
            "default_patch_baseline",
            &[],
            &[req("baseline", Ty::Ref)],
            &[],
            Repeat::Many,
        )
    },
    BlockSchema {
        help: "Declare a group as `patch_group \"web\" { baseline = patch_baseline.x }`.",
        ..block(
            "patch_group",
            &["group name"],
            &[
                opt("name", Ty::String),
                req("baseline", Ty::Ref),
                opt("depends_on", Ty::RefList),
                opt("description", Ty::String),
            ],
            &[SELECTOR],
            Repeat::Many,
        )
    },
    BlockSchema {
        help: "Declare a window as `maintenance_window \"sunday\" { schedule = \"cron(0 2 ? * SUN *)\" ... }`.",
        ..block(
            "maintenance_window",
            &["window name"],
            &[
                opt("name", Ty::String),
                req("schedule", Ty::String),
                opt("schedule_timezone", Ty::String),
                opt("schedule_offset", Ty::Number),
                req("duration", Ty::Number),
                req("cutoff", Ty::Number),
                opt("start_date", Ty::String),
                opt("end_date", Ty::String),
                opt("enabled", Ty::Bool),
                req("targets", Ty::RefList),
                opt("description", Ty::String),
            ],
            &[TASK],
            Repeat::Many,
        )
    },
];

/// Block kinds whose instances can be referenced as `kind.name`.
pub(crate) const REFERENCEABLE: &[&str] = &[
    "patch_baseline",
    "patch_group",
    "maintenance_window",
    "host",
];

pub(crate) fn top_level(name: &str) -> Option<&'static BlockSchema> {
    TOP_LEVEL.iter().find(|b| b.name == name)
}
