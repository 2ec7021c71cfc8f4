//! The CI templates in examples/ci parse as YAML and call only commands and flags that exist.

use clap::CommandFactory;
use patchform::cli::Args;

/// Every `patchform ...` command line in a YAML document's strings.
fn command_lines(value: &serde_yaml_ng::Value, out: &mut Vec<String>) {
    match value {
        serde_yaml_ng::Value::String(text) => {
            for line in text.lines() {
                let line = line.trim().trim_start_matches("- ");
                if let Some(rest) = line.strip_prefix("patchform ") {
                    out.push(rest.to_owned());
                }
            }
        }
        serde_yaml_ng::Value::Sequence(items) => items.iter().for_each(|v| command_lines(v, out)),
        serde_yaml_ng::Value::Mapping(map) => map.values().for_each(|v| command_lines(v, out)),
        _ => {}
    }
}

#[test]
fn templates_call_existing_commands_and_flags() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci");
    let root = Args::command();
    let mut checked = 0;
    for name in ["github-actions.yml", "gitlab-ci.yml"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut lines = Vec::new();
        command_lines(&yaml, &mut lines);
        assert!(
            lines.len() >= 3,
            "{name}: only {} patchform commands",
            lines.len()
        );
        for line in lines {
            let words: Vec<&str> = line
                .split_whitespace()
                .take_while(|w| !matches!(*w, "||" | ">" | "|" | "&&"))
                .collect();
            let subcommand = root.find_subcommand(words[0]).unwrap_or_else(|| {
                panic!("{name}: `patchform {line}`: no subcommand {}", words[0])
            });
            for word in &words[1..] {
                let Some(flag) = word.strip_prefix('-') else {
                    continue;
                };
                let flag = flag.trim_start_matches('-').split('=').next().unwrap();
                let known = subcommand
                    .get_arguments()
                    .chain(root.get_arguments())
                    .any(|a| a.get_long() == Some(flag));
                assert!(
                    known,
                    "{name}: `patchform {line}`: {} has no flag -{flag}",
                    words[0]
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 8);
}
