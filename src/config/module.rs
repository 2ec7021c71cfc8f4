//! Module sources: local paths and `git::` URLs installed by `init`.

use std::path::{Path, PathBuf};

/// Where `init` installs remote modules, relative to the working directory.
pub const MODULES_DIR: &str = ".patchform/modules";

/// Why a module source cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceProblem {
    LocalMissing { path: PathBuf },
    NotInstalled { source: String },
    Unsupported { source: String },
}

impl SourceProblem {
    pub fn summary(&self) -> &'static str {
        match self {
            SourceProblem::LocalMissing { .. } => "Module source not found",
            SourceProblem::NotInstalled { .. } => "Module not installed",
            SourceProblem::Unsupported { .. } => "Unsupported module source",
        }
    }

    /// `show_path` turns a path into the form messages use (relative to the configuration).
    pub fn detail(&self, show_path: impl Fn(&Path) -> String) -> String {
        match self {
            SourceProblem::LocalMissing { path } => format!(
                "The directory {} does not exist. Local sources are relative to the calling module's directory and start with ./ or ../; fix the path.",
                show_path(path)
            ),
            SourceProblem::NotInstalled { source } => format!(
                "The module from {source} has not been downloaded. Run `patchform init` to install it."
            ),
            SourceProblem::Unsupported { source } => format!(
                "\"{source}\" is neither a local path (./ or ../) nor a git:: URL. Use one of those forms."
            ),
        }
    }
}

/// A `git::URL?ref=REV` source split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    pub url: String,
    pub reference: Option<String>,
    /// `//subdir` after the URL: the module lives in a subdirectory of the repository.
    pub subdir: Option<String>,
}

pub fn parse_git(source: &str) -> Option<GitSource> {
    let rest = source.strip_prefix("git::")?;
    let (location, query) = match rest.split_once('?') {
        Some((l, q)) => (l, Some(q)),
        None => (rest, None),
    };
    let reference = query.and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("ref=").map(str::to_owned))
    });
    // `//` after the scheme separates a subdirectory, as in Terraform.
    let scheme_end = location.find("://").map_or(0, |i| i + 3);
    let (url, subdir) = match location[scheme_end..].find("//") {
        Some(i) => (
            location[..scheme_end + i].to_owned(),
            Some(location[scheme_end + i + 2..].to_owned()),
        ),
        None => (location.to_owned(), None),
    };
    Some(GitSource {
        url,
        reference,
        subdir,
    })
}

/// The directory a remote module of `module` path is installed in.
pub fn install_dir(root: &Path, module: &[String]) -> PathBuf {
    root.join(MODULES_DIR).join(module.join("."))
}

/// Finds a module's directory: local paths resolve against the caller, `git::` sources
/// against the install directory `init` filled.
pub fn resolve(
    source: &str,
    caller_dir: &Path,
    root: &Path,
    module: &[String],
) -> Result<PathBuf, SourceProblem> {
    if source.starts_with("./") || source.starts_with("../") {
        let path = caller_dir.join(source);
        return if path.is_dir() {
            Ok(path)
        } else {
            Err(SourceProblem::LocalMissing { path })
        };
    }
    if let Some(git) = parse_git(source) {
        let mut path = install_dir(root, module);
        if let Some(subdir) = &git.subdir {
            path = path.join(subdir);
        }
        return if path.is_dir() {
            Ok(path)
        } else {
            Err(SourceProblem::NotInstalled {
                source: source.to_owned(),
            })
        };
    }
    Err(SourceProblem::Unsupported {
        source: source.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_sources_split_like_terraform() {
        assert_eq!(
            parse_git("git::https://example.com/mods.git//baseline?ref=v1.2.0"),
            Some(GitSource {
                url: "https://example.com/mods.git".into(),
                reference: Some("v1.2.0".into()),
                subdir: Some("baseline".into()),
            })
        );
        assert_eq!(
            parse_git("git::file:///srv/mods"),
            Some(GitSource {
                url: "file:///srv/mods".into(),
                reference: None,
                subdir: None,
            })
        );
        assert_eq!(parse_git("./local"), None);
    }
}
