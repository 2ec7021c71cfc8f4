//! The local backend: a JSON file, a backup of the previous version, and an OS file lock.
//!
//! Workspaces follow Terraform's layout: `default` is the configured file
//! (`patchform.pfstate`), any other workspace `NAME` is `patchform.pfstate.d/NAME/patchform.pfstate`.

use super::{Backend, DEFAULT_WORKSPACE, LockInfo, State, StateError, check_successor_of};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a waiting command retries the lock.
const LOCK_POLL: Duration = Duration::from_millis(200);

pub struct LocalBackend {
    /// The `default` workspace's file; other workspaces live below `<base>.d/`.
    base: PathBuf,
    workspace: String,
    path: PathBuf,
    lock: Option<File>,
}

impl LocalBackend {
    pub fn new(path: PathBuf) -> LocalBackend {
        LocalBackend::for_workspace(&path, DEFAULT_WORKSPACE)
    }

    pub fn for_workspace(base: &Path, workspace: &str) -> LocalBackend {
        let path = if workspace == DEFAULT_WORKSPACE {
            base.to_path_buf()
        } else {
            let file_name = base
                .file_name()
                .map(|n| n.to_os_string())
                .unwrap_or_default();
            workspaces_dir(base).join(workspace).join(file_name)
        };
        LocalBackend {
            base: base.to_path_buf(),
            workspace: workspace.to_owned(),
            path,
            lock: None,
        }
    }

    /// Creates the workspace's directory, which is what makes a non-default workspace exist.
    fn ensure_dir(&self) -> Result<(), StateError> {
        if self.workspace == DEFAULT_WORKSPACE {
            return Ok(());
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| StateError::Write {
            path: dir.display().to_string(),
            detail: e.to_string(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_path(&self) -> PathBuf {
        sibling(&self.path, ".lock.info")
    }

    pub fn backup_path(&self) -> PathBuf {
        sibling(&self.path, ".backup")
    }

    fn read_lock_info(&self) -> Result<LockInfo, StateError> {
        let text =
            std::fs::read_to_string(self.lock_path()).map_err(|e| StateError::LockedUnknown {
                detail: e.to_string(),
            })?;
        serde_json::from_str(&text).map_err(|e| StateError::LockedUnknown {
            detail: e.to_string(),
        })
    }
}

fn workspaces_dir(base: &Path) -> PathBuf {
    sibling(base, ".d")
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

fn open_private(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync,
/// rename over the target, fsync of the directory. On any error the old file is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".patchform-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(&dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    File::open(&dir)?.sync_all()
}

impl Backend for LocalBackend {
    fn lock(&mut self, info: &LockInfo, timeout: Duration) -> Result<(), StateError> {
        self.ensure_dir()?;
        let lock_path = self.lock_path();
        let file = open_private(&lock_path).map_err(|e| StateError::Write {
            path: lock_path.display().to_string(),
            detail: e.to_string(),
        })?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if started.elapsed() >= timeout {
                        return Err(match self.read_lock_info() {
                            Ok(holder) => StateError::Locked {
                                holder: Box::new(holder),
                            },
                            Err(error) => error,
                        });
                    }
                    std::thread::sleep(LOCK_POLL);
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(StateError::Backend(format!(
                        "cannot lock {}: {e}",
                        lock_path.display()
                    )));
                }
            }
        }
        // The lock is held on this file's inode; its contents say who holds it.
        let mut writer = &file;
        let text = serde_json::to_string(info).unwrap_or_default();
        let written = file
            .set_len(0)
            .and_then(|()| writer.write_all(text.as_bytes()))
            .and_then(|()| file.sync_all());
        if let Err(e) = written {
            return Err(StateError::Write {
                path: lock_path.display().to_string(),
                detail: e.to_string(),
            });
        }
        self.lock = Some(file);
        Ok(())
    }

    fn unlock(&mut self) -> Result<(), StateError> {
        let Some(file) = self.lock.take() else {
            return Ok(());
        };
        let _ = file.set_len(0);
        file.unlock()
            .map_err(|e| StateError::Backend(format!("cannot unlock: {e}")))
    }

    fn force_unlock(&mut self, id: &str) -> Result<(), StateError> {
        let info = match self.read_lock_info() {
            Ok(info) => info,
            Err(_) => return Err(StateError::NotLocked),
        };
        if info.id != id {
            return Err(StateError::WrongLockId {
                given: id.to_owned(),
                actual: info.id,
            });
        }
        // Removing the file detaches a hung holder's lock from the path the next command opens.
        std::fs::remove_file(self.lock_path())
            .map_err(|e| StateError::Backend(format!("cannot remove the lock: {e}")))
    }

    fn read(&mut self) -> Result<Option<State>, StateError> {
        let Some(text) = self.read_text()? else {
            return Ok(None);
        };
        State::from_json(&text)
            .map(Some)
            .map_err(|detail| self.unreadable(detail))
    }

    fn write(&mut self, state: &State) -> Result<(), StateError> {
        let stored = self.stored_serial()?;
        check_successor_of(stored.as_ref().map(|(l, s)| (l.as_str(), *s)), state)?;
        self.store(stored.is_some(), state)
    }

    fn replace(&mut self, state: &State, expected: Option<u64>) -> Result<(), StateError> {
        let stored = self.stored_serial()?;
        let stored_serial = stored.as_ref().map(|(_, s)| *s);
        if stored_serial != expected {
            return Err(StateError::StaleSerial {
                attempted: state.serial,
                stored: stored_serial.unwrap_or(0),
                lineage: stored.map(|(l, _)| l).unwrap_or_default(),
            });
        }
        self.store(stored.is_some(), state)
    }

    fn workspaces(&mut self) -> Result<Vec<String>, StateError> {
        let mut names = vec![DEFAULT_WORKSPACE.to_owned()];
        let dir = workspaces_dir(&self.base);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
            Err(e) => {
                return Err(StateError::Read {
                    path: dir.display().to_string(),
                    detail: e.to_string(),
                });
            }
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir())
                && let Some(name) = entry.file_name().to_str()
                && super::check_workspace_name(name).is_ok()
                && name != DEFAULT_WORKSPACE
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn delete_workspace(&mut self) -> Result<(), StateError> {
        if self.workspace == DEFAULT_WORKSPACE {
            return Err(StateError::Backend(
                "the default workspace cannot be deleted".to_owned(),
            ));
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::remove_dir_all(dir).map_err(|e| StateError::Write {
            path: dir.display().to_string(),
            detail: e.to_string(),
        })
    }

    fn describe(&self) -> String {
        format!("local state {}", self.path.display())
    }
}

impl LocalBackend {
    /// The state file's text, `None` if there is none.
    fn read_text(&self) -> Result<Option<String>, StateError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StateError::Read {
                path: self.path.display().to_string(),
                detail: e.to_string(),
            }),
        }
    }

    fn unreadable(&self, detail: String) -> StateError {
        StateError::Read {
            path: self.path.display().to_string(),
            detail: format!(
                "{detail}. The previous version is kept in {}",
                self.backup_path().display()
            ),
        }
    }

    /// The stored state's lineage and serial. A write needs nothing else, and building the
    /// whole state only to compare two fields cost more than the write itself.
    fn stored_serial(&self) -> Result<Option<(String, u64)>, StateError> {
        let Some(text) = self.read_text()? else {
            return Ok(None);
        };
        super::lineage_and_serial(&text)
            .map(Some)
            .map_err(|detail| self.unreadable(detail))
    }

    /// Keeps the stored file as the backup, then writes `state` atomically. The backup is the
    /// stored file itself (hard-linked, or copied where links are not supported), renamed
    /// over the previous backup: its bytes are never rewritten, and the state file is
    /// replaced by a rename, so it stays intact until then.
    fn store(&self, has_stored: bool, state: &State) -> Result<(), StateError> {
        self.ensure_dir()?;
        let write_error = |path: &Path, e: std::io::Error| StateError::Write {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        if has_stored {
            let backup = self.backup_path();
            let temp = sibling(&self.path, &format!(".backup-{}", uuid::Uuid::new_v4()));
            let kept = std::fs::hard_link(&self.path, &temp)
                .or_else(|_| std::fs::copy(&self.path, &temp).map(drop))
                .and_then(|()| std::fs::rename(&temp, &backup));
            if let Err(e) = kept {
                let _ = std::fs::remove_file(&temp);
                return Err(write_error(&backup, e));
            }
        }
        write_atomic(&self.path, state.to_compact_json().as_bytes())
            .map_err(|e| write_error(&self.path, e))
    }
}

impl Drop for LocalBackend {
    fn drop(&mut self) {
        let _ = self.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> jiff::Timestamp {
        "2026-12-04T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn writes_are_atomic_private_and_serial_checked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut backend = LocalBackend::new(dir.path().join("patchform.pfstate"));
        assert_eq!(backend.read().unwrap(), None);
        let mut state = State::new("lineage-a".into());
        state.serial = 1;
        backend.write(&state).unwrap();
        let mode = std::fs::metadata(backend.path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        state.serial = 2;
        backend.write(&state).unwrap();
        assert_eq!(
            State::from_json(&std::fs::read_to_string(backend.backup_path()).unwrap())
                .unwrap()
                .serial,
            1
        );
        // A writer that did not see serial 2 is refused.
        let mut stale = State::new("lineage-a".into());
        stale.serial = 2;
        assert!(matches!(
            backend.write(&stale),
            Err(StateError::StaleSerial { stored: 2, .. })
        ));
        let mut other = State::new("lineage-b".into());
        other.serial = 3;
        assert!(matches!(
            backend.write(&other),
            Err(StateError::LineageMismatch { .. })
        ));
        assert_eq!(backend.read().unwrap().unwrap().serial, 2);
    }

    #[test]
    fn a_truncated_state_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("patchform.pfstate");
        let mut state = State::new("l".into());
        state.serial = 1;
        let text = state.to_json();
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        let error = LocalBackend::new(path).read().unwrap_err().to_string();
        assert!(error.contains("truncated"), "{error}");
    }

    #[test]
    fn a_second_locker_waits_then_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("patchform.pfstate");
        let mut first = LocalBackend::new(path.clone());
        first
            .lock(&LockInfo::new("apply", now()), Duration::ZERO)
            .unwrap();
        let mut second = LocalBackend::new(path.clone());
        let started = Instant::now();
        let error = second
            .lock(&LockInfo::new("plan", now()), Duration::from_millis(600))
            .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(600));
        let message = error.to_string();
        assert!(message.contains("operation apply"), "{message}");
        first.unlock().unwrap();
        second
            .lock(&LockInfo::new("plan", now()), Duration::ZERO)
            .unwrap();
    }

    #[test]
    fn workspaces_use_terraforms_layout_and_isolate_state() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("patchform.pfstate");
        let mut default = LocalBackend::new(base.clone());
        let mut state = State::new("lineage-default".into());
        state.serial = 1;
        default.write(&state).unwrap();
        let mut staging = LocalBackend::for_workspace(&base, "staging");
        assert_eq!(staging.read().unwrap(), None);
        let mut other = State::new("lineage-staging".into());
        other.serial = 1;
        staging.write(&other).unwrap();
        assert!(
            dir.path()
                .join("patchform.pfstate.d/staging/patchform.pfstate")
                .is_file()
        );
        assert_eq!(default.read().unwrap().unwrap().lineage, "lineage-default");
        assert_eq!(default.workspaces().unwrap(), ["default", "staging"]);
        staging.delete_workspace().unwrap();
        assert_eq!(default.workspaces().unwrap(), ["default"]);
        assert!(default.delete_workspace().is_err());
    }

    #[test]
    fn replace_keeps_serial_but_checks_the_expected_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut backend = LocalBackend::new(dir.path().join("patchform.pfstate"));
        let mut state = State::new("l".into());
        state.serial = 7;
        backend.replace(&state, None).unwrap();
        assert!(matches!(
            backend.replace(&state, Some(3)),
            Err(StateError::StaleSerial { stored: 7, .. })
        ));
        state.serial = 9;
        backend.replace(&state, Some(7)).unwrap();
        assert_eq!(backend.read().unwrap().unwrap().serial, 9);
    }

    #[test]
    fn force_unlock_needs_the_right_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("patchform.pfstate");
        let info = LockInfo::new("apply", now());
        let mut holder = LocalBackend::new(path.clone());
        holder.lock(&info, Duration::ZERO).unwrap();
        let mut other = LocalBackend::new(path.clone());
        assert!(matches!(
            other.force_unlock("nope"),
            Err(StateError::WrongLockId { .. })
        ));
        other.force_unlock(&info.id).unwrap();
        other
            .lock(&LockInfo::new("plan", now()), Duration::ZERO)
            .unwrap();
    }
}
