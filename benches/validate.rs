//! `cargo bench --bench validate`: loads and lowers a generated 200-file configuration (one
//! baseline, group and window plus five hosts per file), the work `patchform validate` does.

use patchform::config::{self, LoadOptions};
use patchform::model;
use std::time::{Duration, Instant};

const FILES: usize = 200;
const RUNS: usize = 20;

fn write_configuration(dir: &std::path::Path) {
    for i in 0..FILES {
        let mut text = format!(
            "# File {i}: one team's baseline, group and window.\n\
             variable \"delay_{i}\" {{\n  type    = number\n  default = {}\n}}\n\n\
             locals {{\n  tier_{i} = \"tier-{i}\"\n}}\n\n\
             patch_baseline \"b{i}\" {{\n  operating_system = \"DEBIAN\"\n  rejected_patches = [\"telnetd\"]\n\n  approval_rule {{\n    approve_after_days = var.delay_{i}\n    compliance_level   = \"HIGH\"\n\n    patch_filter {{\n      key    = \"PRIORITY\"\n      values = [\"Required\", \"Important\"]\n    }}\n  }}\n}}\n\n\
             patch_group \"g{i}\" {{\n  baseline = patch_baseline.b{i}\n}}\n\n\
             maintenance_window \"w{i}\" {{\n  schedule          = \"cron(0 {} ? * SUN *)\"\n  schedule_timezone = \"Europe/Berlin\"\n  duration          = 3\n  cutoff            = 1\n  targets           = [patch_group.g{i}]\n\n  task \"install\" {{\n    operation       = \"Install\"\n    max_concurrency = \"25%\"\n    max_errors      = \"1\"\n  }}\n}}\n",
            i % 30,
            i % 24
        );
        for h in 0..5 {
            text += &format!(
                "\nhost \"h{i}-{h}\" {{\n  address = \"10.{}.{}.{h}\"\n  tags    = {{ \"Patch Group\" = \"g{i}\", tier = local.tier_{i} }}\n}}\n",
                i / 250,
                i % 250
            );
        }
        std::fs::write(dir.join(format!("team{i:03}.hcl")), text).unwrap();
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    write_configuration(dir.path());
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let (config, diags) = config::load(dir.path(), &LoadOptions::default());
        let loaded = started.elapsed();
        let (state, lower_diags) = model::lower(&config);
        times.push(started.elapsed());
        if std::env::var_os("PF_BENCH_SPLIT").is_some() {
            eprintln!(
                "load {:.1} ms, lower {:.1} ms",
                loaded.as_secs_f64() * 1e3,
                (started.elapsed() - loaded).as_secs_f64() * 1e3
            );
        }
        assert!(
            !diags.has_errors() && state.is_some(),
            "{diags:?} {lower_diags:?}"
        );
        assert_eq!(state.unwrap().hosts.len(), FILES * 5);
    }
    times.sort();
    println!(
        "validate of {FILES} files ({} hosts): median {:.1} ms, min {:.1} ms, max {:.1} ms over {RUNS} runs",
        FILES * 5,
        times[RUNS / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[RUNS - 1].as_secs_f64() * 1e3
    );
}
