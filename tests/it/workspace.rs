//! A patchform working directory wired to a test fleet: the fleet's host inventory plus a
//! configuration, and a way to run the real `patchform` binary in it.

use crate::fleet::Fleet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Baselines and groups for the fleet's `Patch Group` tags (canary, web, db): canary takes
/// every update, web only security updates, db security updates with `pf-newlib` blocked.
pub(crate) const FLEET_CONFIG: &str = r#"
patch_baseline "everything" {
  operating_system = "DEBIAN"
  approval_rule {
    enable_non_security = true
    compliance_level    = "MEDIUM"
    patch_filter {
      key    = "PRIORITY"
      values = ["*"]
    }
  }
}

patch_baseline "security" {
  operating_system = "DEBIAN"
  approval_rule {
    compliance_level = "CRITICAL"
    patch_filter {
      key    = "PRIORITY"
      values = ["*"]
    }
  }
}

patch_baseline "security-blocking" {
  operating_system        = "DEBIAN"
  rejected_patches        = ["pf-newlib"]
  rejected_patches_action = "BLOCK"
  approval_rule {
    enable_non_security = true
    patch_filter {
      key    = "PRIORITY"
      values = ["*"]
    }
  }
}

patch_group "canary" {
  baseline = patch_baseline.everything
}

patch_group "web" {
  baseline   = patch_baseline.security
  depends_on = [patch_group.canary]
}

patch_group "db" {
  baseline   = patch_baseline.security-blocking
  depends_on = [patch_group.canary]
}
"#;

pub(crate) struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// A directory holding the fleet's hosts, SSH settings and `config`.
    pub(crate) fn new(fleet: &Fleet, config: &str) -> Workspace {
        let dir = tempfile::Builder::new().prefix("pf-ws-").tempdir().unwrap();
        std::fs::copy(fleet.inventory_hcl(), dir.path().join("hosts.hcl")).unwrap();
        std::fs::write(
            dir.path().join("ssh.hcl"),
            format!(
                "ssh {{\n  known_hosts_file = \"{}\"\n  connect_timeout  = 3\n}}\n",
                fleet.known_hosts().display()
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("main.hcl"), config).unwrap();
        Workspace { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_patchform"))
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("run patchform")
    }
}

/// stdout and stderr of a command, for assertion messages.
pub(crate) fn text(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
