//! The local backend: a JSON file, a backup of the previous version, and an OS file lock.

use super::{Backend, LockInfo, State, StateError, check_successor};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a waiting command retries the lock.
const LOCK_POLL: Duration = Duration::from_millis(200);

pub struct LocalBackend {
    path: PathBuf,
    lock: Option<File>,
}

impl LocalBackend {
    pub fn new(path: PathBuf) -> LocalBackend {
        LocalBackend { path, lock: None }
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
        let mut text = String::new();
        match File::open(&self.path) {
            Ok(mut file) => file
                .read_to_string(&mut text)
                .map_err(|e| StateError::Read {
                    path: self.path.display().to_string(),
                    detail: e.to_string(),
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(StateError::Read {
                    path: self.path.display().to_string(),
                    detail: e.to_string(),
                });
            }
        };
        State::from_json(&text)
            .map(Some)
            .map_err(|detail| StateError::Read {
                path: self.path.display().to_string(),
                detail: format!(
                    "{detail}. The previous version is kept in {}",
                    self.backup_path().display()
                ),
            })
    }

    fn write(&mut self, state: &State) -> Result<(), StateError> {
        let stored = self.read()?;
        check_successor(stored.as_ref(), state)?;
        let write_error = |path: &Path, e: std::io::Error| StateError::Write {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        if let Some(stored) = &stored {
            write_atomic(&self.backup_path(), stored.to_json().as_bytes())
                .map_err(|e| write_error(&self.backup_path(), e))?;
        }
        write_atomic(&self.path, state.to_json().as_bytes()).map_err(|e| write_error(&self.path, e))
    }

    fn describe(&self) -> String {
        format!("local state {}", self.path.display())
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
