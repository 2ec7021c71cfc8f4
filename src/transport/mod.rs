//! How patchform reaches a host: one multiplexed OpenSSH connection per host, and remote
//! commands built from fixed scripts whose every argument is quoted.
//!
//! Deadlines are enforced twice: remotely with `timeout` (a dropped local future does not stop
//! a remote process) and locally, so a frozen host can never hang a run.

mod ssh;

pub use ssh::{Connection, Ssh, SshOptions};
use std::time::Duration;

/// What to do with a host key that is not in the known-hosts file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Refuse unknown and changed keys (the default).
    Strict,
    /// Accept and record keys of hosts never seen before; changed keys are still refused.
    AcceptNew,
}

impl HostKeyPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            HostKeyPolicy::Strict => "strict",
            HostKeyPolicy::AcceptNew => "accept-new",
        }
    }
}

/// A remote command: a fixed `sh` script plus arguments it reads as `"$@"`.
#[derive(Debug, Clone)]
pub struct RemoteCommand {
    /// Short name for messages, e.g. `apt-get update`.
    pub name: &'static str,
    pub script: &'static str,
    pub args: Vec<String>,
    pub timeout: Duration,
    pub env: Vec<(&'static str, String)>,
    /// Sent on the command's standard input, then closed. For text that must not appear in
    /// process arguments, which every user of the host can read.
    pub stdin: Option<String>,
}

impl RemoteCommand {
    pub fn new(name: &'static str, script: &'static str, timeout: Duration) -> RemoteCommand {
        RemoteCommand {
            name,
            script,
            args: Vec::new(),
            timeout,
            env: Vec::new(),
            stdin: None,
        }
    }

    pub fn args(mut self, args: impl IntoIterator<Item = String>) -> RemoteCommand {
        self.args.extend(args);
        self
    }

    pub fn stdin(mut self, input: String) -> RemoteCommand {
        self.stdin = Some(input);
        self
    }

    pub fn env(mut self, name: &'static str, value: String) -> RemoteCommand {
        self.env.push((name, value));
        self
    }
}

/// A finished remote command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Exit status `timeout` reports when it had to stop the command.
pub const REMOTE_TIMEOUT_STATUS: i32 = 124;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(
        "host key of {host} is not known: {detail}. Verify the key out of band, then add it with `ssh-keyscan -p {port} {address} >> KNOWN_HOSTS_FILE`, or pass -accept-new-host-keys to record new keys"
    )]
    UnknownHostKey {
        host: String,
        address: String,
        port: u16,
        detail: String,
    },
    #[error(
        "host key of {host} has CHANGED: {detail}. This can mean an attack; if the host was rebuilt, remove its old key with `ssh-keygen -R {address}` and add the new one"
    )]
    ChangedHostKey {
        host: String,
        address: String,
        detail: String,
    },
    #[error("could not connect to {host}: {detail}")]
    Connect { host: String, detail: String },
    #[error("could not connect to {host} within {after:?}")]
    ConnectTimeout { host: String, after: Duration },
    #[error("`{command}` on {host} timed out after {after:?}")]
    TimedOut {
        host: String,
        command: String,
        after: Duration,
    },
    #[error("connection to {host} was lost during `{command}`")]
    ConnectionLost { host: String, command: String },
    #[error("`{command}` on {host} printed more than {limit} bytes; refusing the rest")]
    OutputTooLarge {
        host: String,
        command: String,
        limit: usize,
    },
    #[error("`{command}` on {host} could not run: {detail}")]
    Remote {
        host: String,
        command: String,
        detail: String,
    },
    #[error(
        "control directory {path} is {length} bytes long; ssh needs at most {limit}. Set TMPDIR to a shorter directory"
    )]
    ControlPath {
        path: String,
        length: usize,
        limit: usize,
    },
}

impl TransportError {
    /// Whether the host could not be reached at all (as opposed to a command failing on it).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            TransportError::UnknownHostKey { .. }
                | TransportError::ChangedHostKey { .. }
                | TransportError::Connect { .. }
                | TransportError::ConnectTimeout { .. }
        )
    }
}
