//! The OpenSSH transport: a ControlMaster per host through the `openssh` crate (native mux).

use super::{HostKeyPolicy, Output, RemoteCommand, TransportError};
use crate::model;
use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder, Stdio};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Longest control directory ssh accepts: its socket path `DIR/.ssh-connectionXXXXXX/master`
/// plus the 17 characters ssh appends while binding must fit Linux's 108-byte `sun_path`.
const MAX_CONTROL_DIR: usize = 61;

/// Interval of ssh keep-alives; with ssh's default count of 3, a frozen host is detected
/// within about three times this.
const SERVER_ALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// Extra time a command gets locally beyond its remote `timeout`, so the remote deadline
/// normally fires first and reports status 124.
const LOCAL_GRACE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct SshOptions {
    pub host_keys: HostKeyPolicy,
    pub config_file: Option<PathBuf>,
    pub known_hosts_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// Bytes of stdout (and, separately, of stderr) kept per command.
    pub output_limit: usize,
    pub control_dir: PathBuf,
}

impl SshOptions {
    /// `$TMPDIR/pf-<uid>`: short enough for the socket path, private to this user.
    pub fn default_control_dir() -> PathBuf {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata("/proc/self")
            .map(|m| m.uid())
            .unwrap_or(0);
        std::env::temp_dir().join(format!("pf-{uid}"))
    }
}

/// Opens connections with one set of options.
#[derive(Debug, Clone)]
pub struct Ssh {
    options: SshOptions,
    warm: Warm,
}

/// Open connections set aside by `Ssh::keep`, by host name, with when they were set aside.
/// Dropping the last `Ssh` drops them, which shuts their masters down.
#[derive(Clone, Default)]
struct Warm(Arc<std::sync::Mutex<std::collections::HashMap<String, (Instant, Connection)>>>);

/// How long a kept connection is reused: well inside the master's idle persistence, so a
/// master never exits between the check in `connect` and the first command.
const KEPT_FOR: Duration = Duration::from_secs(40);

impl std::fmt::Debug for Warm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.0.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "Warm({count} connections)")
    }
}

/// An open connection to one host, shared by every command run on it.
pub struct Connection {
    host: String,
    session: Arc<Session>,
    output_limit: usize,
}

impl Ssh {
    pub fn new(options: SshOptions) -> Result<Ssh, TransportError> {
        let path = options.control_dir.to_string_lossy().into_owned();
        if path.len() > MAX_CONTROL_DIR {
            return Err(TransportError::ControlPath {
                length: path.len(),
                path,
                limit: MAX_CONTROL_DIR,
            });
        }
        create_private_dir(&options.control_dir).map_err(|e| TransportError::Connect {
            host: "(all hosts)".to_owned(),
            detail: format!("cannot create control directory {path}: {e}"),
        })?;
        Ok(Ssh {
            options,
            warm: Warm::default(),
        })
    }

    /// Sets an open connection aside, so that the next `connect` to its host reuses it
    /// instead of a new handshake (most of a short command's cost). Hands the connection
    /// back when `limit` connections are already set aside.
    pub fn keep(&self, connection: Connection, limit: usize) -> Option<Connection> {
        let Ok(mut warm) = self.warm.0.lock() else {
            return Some(connection);
        };
        if warm.len() >= limit {
            return Some(connection);
        }
        warm.insert(connection.host.clone(), (Instant::now(), connection));
        None
    }

    pub async fn connect(&self, host: &model::Host) -> Result<Connection, TransportError> {
        let kept = self
            .warm
            .0
            .lock()
            .ok()
            .and_then(|mut w| w.remove(&host.name));
        if let Some((since, connection)) = kept {
            // A kept master may have died meanwhile (host rebooted, network gone).
            if since.elapsed() < KEPT_FOR && connection.session.check().await.is_ok() {
                return Ok(connection);
            }
            connection.close().await;
        }
        let mut builder = SessionBuilder::default();
        builder
            .known_hosts_check(match self.options.host_keys {
                HostKeyPolicy::Strict => KnownHosts::Strict,
                HostKeyPolicy::AcceptNew => KnownHosts::Add,
            })
            .control_directory(&self.options.control_dir)
            .connect_timeout(self.options.connect_timeout)
            .server_alive_interval(SERVER_ALIVE_INTERVAL)
            // A killed controller must not leave masters behind for long.
            .control_persist(ControlPersist::IdleFor(
                NonZeroUsize::new(60).unwrap_or(NonZeroUsize::MIN),
            ))
            .user(host.user.clone())
            .port(host.port);
        if let Some(file) = &self.options.config_file {
            builder.config_file(file);
        }
        if let Some(file) = &self.options.known_hosts_file {
            builder.user_known_hosts_file(file);
        }
        if let Some(identity) = &host.identity_file {
            builder.keyfile(expand_home(identity));
        }
        if let Some(jump) = &host.jump_host {
            builder.jump_hosts([jump]);
        }
        // ConnectTimeout bounds the TCP connect; a host that accepts and then says nothing
        // is caught by this outer deadline.
        let deadline = self.options.connect_timeout * 2 + Duration::from_secs(5);
        let connecting = builder.connect_mux(&host.address);
        let session = match tokio::time::timeout(deadline, connecting).await {
            Err(_) => {
                return Err(TransportError::ConnectTimeout {
                    host: host.name.clone(),
                    after: deadline,
                });
            }
            Ok(Err(error)) => return Err(classify_connect_error(host, &error)),
            Ok(Ok(session)) => session,
        };
        Ok(Connection {
            host: host.name.clone(),
            session: Arc::new(session),
            output_limit: self.options.output_limit,
        })
    }
}

fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// Turns ssh's own words into a typed error that says what to do.
fn classify_connect_error(host: &model::Host, error: &openssh::Error) -> TransportError {
    let detail = crate::diag::error_chain(error)
        .replace("\r\n", " ")
        .trim()
        .to_owned();
    if detail.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || detail.contains("Host key for") && detail.contains("has changed")
    {
        return TransportError::ChangedHostKey {
            host: host.name.clone(),
            address: host.address.clone(),
            detail,
        };
    }
    if detail.contains("Host key verification failed")
        || detail.contains("No ED25519 host key is known")
        || detail.contains("host key is known")
    {
        return TransportError::UnknownHostKey {
            host: host.name.clone(),
            address: host.address.clone(),
            port: host.port,
            detail,
        };
    }
    TransportError::Connect {
        host: host.name.clone(),
        detail,
    }
}

/// Reads at most `limit` bytes; `Err(())` when there was more.
async fn read_capped<R: AsyncRead + Unpin>(reader: Option<R>, limit: usize) -> Result<Vec<u8>, ()> {
    let Some(reader) = reader else {
        return Ok(Vec::new());
    };
    let mut buffer = Vec::new();
    let mut limited = reader.take(limit as u64 + 1);
    // A read error means the channel went away; what arrived so far is all there is.
    let _ = limited.read_to_end(&mut buffer).await;
    if buffer.len() > limit {
        Err(())
    } else {
        Ok(buffer)
    }
}

impl Connection {
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Runs a command to completion within its deadline, keeping at most the output limit.
    pub async fn run(&self, command: &RemoteCommand) -> Result<Output, TransportError> {
        let seconds = command.timeout.as_secs().max(1).to_string();
        let mut remote = self.session.clone().arc_command("env");
        remote.arg("LC_ALL=C.UTF-8");
        for (name, value) in &command.env {
            remote.arg(format!("{name}={value}"));
        }
        remote
            .args([
                "timeout",
                "--kill-after=10",
                &seconds,
                "sh",
                "-c",
                command.script,
                "sh",
            ])
            .args(&command.args)
            .stdin(if command.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let name = command.name.to_owned();
        let running = async {
            let mut child = remote
                .spawn()
                .await
                .map_err(|e| self.command_error(&name, e))?;
            if let (Some(input), Some(mut writer)) = (&command.stdin, child.stdin().take()) {
                // Dropping the writer closes the pipe: the remote side reads to the end.
                writer
                    .write_all(input.as_bytes())
                    .await
                    .map_err(|e| TransportError::Remote {
                        host: self.host.clone(),
                        command: name.clone(),
                        detail: format!("cannot write its input: {e}"),
                    })?;
            }
            let stdout = child.stdout().take();
            let stderr = child.stderr().take();
            let (stdout, stderr) = tokio::join!(
                read_capped(stdout, self.output_limit),
                read_capped(stderr, self.output_limit)
            );
            let (Ok(stdout), Ok(stderr)) = (stdout, stderr) else {
                // The remote side keeps writing into a channel nobody reads; closing our end
                // lets `timeout` on the host reap it.
                let _ = child.disconnect().await;
                return Err(TransportError::OutputTooLarge {
                    host: self.host.clone(),
                    command: name.clone(),
                    limit: self.output_limit,
                });
            };
            let status = child
                .wait()
                .await
                .map_err(|e| self.command_error(&name, e))?;
            Ok(Output {
                status: status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
            })
        };
        let deadline = command.timeout + LOCAL_GRACE;
        match tokio::time::timeout(deadline, running).await {
            Ok(result) => {
                let output = result?;
                if output.status == super::REMOTE_TIMEOUT_STATUS {
                    return Err(TransportError::TimedOut {
                        host: self.host.clone(),
                        command: name,
                        after: command.timeout,
                    });
                }
                Ok(output)
            }
            Err(_) => Err(TransportError::TimedOut {
                host: self.host.clone(),
                command: name,
                after: deadline,
            }),
        }
    }

    fn command_error(&self, command: &str, error: openssh::Error) -> TransportError {
        match error {
            openssh::Error::RemoteProcessTerminated | openssh::Error::Disconnected => {
                TransportError::ConnectionLost {
                    host: self.host.clone(),
                    command: command.to_owned(),
                }
            }
            other => TransportError::Remote {
                host: self.host.clone(),
                command: command.to_owned(),
                detail: other.to_string(),
            },
        }
    }

    /// Whether the master connection is still alive.
    pub async fn check(&self) -> bool {
        self.session.check().await.is_ok()
    }

    /// Closes the master connection; errors only mean it was already gone.
    pub async fn close(self) {
        if let Ok(session) = Arc::try_unwrap(self.session) {
            let _ = session.close().await;
        }
    }
}
