//! Test support for the patchform test fleet (`scripts/fleet`, see docs/fleet.md) and the fleet's
//! smoke tests.
//!
//! A [`Fleet`] starts N Debian 12 hosts in its own temporary state directory and tears them down on
//! drop. Several fleets can run at once (each test has its own): every fleet takes its own address
//! range `127.A.0.0/16`, A in 11..=250, reserved across processes (cargo test threads and nextest
//! processes alike) by an exclusive lock on `$TMPDIR/patchform-fleet-net-127.A.lock`. Range
//! `127.10` is left to the command-line default of `scripts/fleet`.
//!
//! The fleet needs root (namespaces, overlayfs, chroot). Tests call [`require_root`] first and
//! return early, printing why, when they are not root. CI runs as root, so there they always run.
//! The first fleet of a machine builds the cached image (`/var/cache/patchform-fleet`, about a
//! minute with the Debian mirror reachable); concurrent fleets wait for it on a lock.
#![allow(dead_code)]

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// True when running as root. Otherwise prints why the calling test is skipped and returns false.
pub(crate) fn require_root() -> bool {
    let uid = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_owned))
        })
        .unwrap_or_else(|| "unknown".to_owned());
    if uid == "0" {
        true
    } else {
        eprintln!(
            "SKIPPED: this test needs the patchform test fleet (scripts/fleet), which needs root \
             for namespaces, overlayfs mounts and chroot; running as effective uid {uid}. \
             Run the tests as root (CI does)."
        );
        false
    }
}

/// One host of a [`Fleet`].
#[derive(Clone, Debug)]
pub(crate) struct FleetHost {
    pub(crate) name: String,
    pub(crate) address: String,
    pub(crate) group: String,
    pub(crate) role: String,
}

/// A running fleet of hosts. Dropping it runs `scripts/fleet down` and removes its state directory.
pub(crate) struct Fleet {
    dir: Option<tempfile::TempDir>,
    state: PathBuf,
    net: String,
    hosts: Vec<FleetHost>,
    _net_lock: File,
    stopped: bool,
}

fn fleet_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fleet")
}

fn describe(out: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Fleet {
    /// Starts `n` hosts (builds the image first if the cache has none). Panics with the script's
    /// output when that fails.
    pub(crate) fn start(n: usize) -> Fleet {
        let (net, lock) = reserve_net();
        let dir = tempfile::Builder::new()
            .prefix("pf-fleet-")
            .tempdir()
            .expect("create fleet temp dir");
        let state = dir.path().join("state");
        let mut fleet = Fleet {
            dir: Some(dir),
            state,
            net,
            hosts: Vec::new(),
            _net_lock: lock,
            stopped: false,
        };
        let out = fleet.script(&["up", &n.to_string()]);
        assert!(
            out.status.success(),
            "scripts/fleet up {n} failed:\n{}",
            describe(&out)
        );
        let tsv = fs::read_to_string(fleet.state.join("hosts.tsv")).expect("read hosts.tsv");
        fleet.hosts = tsv
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                FleetHost {
                    name: f[0].to_owned(),
                    address: f[1].to_owned(),
                    group: f[2].to_owned(),
                    role: f[3].to_owned(),
                }
            })
            .collect();
        assert_eq!(
            fleet.hosts.len(),
            n,
            "hosts.tsv lists {} hosts, wanted {n}",
            fleet.hosts.len()
        );
        fleet
    }

    pub(crate) fn hosts(&self) -> &[FleetHost] {
        &self.hosts
    }
    pub(crate) fn host(&self, i: usize) -> &FleetHost {
        &self.hosts[i]
    }
    pub(crate) fn state_dir(&self) -> &Path {
        &self.state
    }
    /// `127.A`: the first two octets of this fleet's addresses.
    pub(crate) fn net(&self) -> &str {
        &self.net
    }
    pub(crate) fn ssh_config(&self) -> PathBuf {
        self.state.join("ssh_config")
    }
    pub(crate) fn known_hosts(&self) -> PathBuf {
        self.state.join("known_hosts")
    }
    pub(crate) fn identity_file(&self) -> PathBuf {
        self.state.join("client/id_ed25519")
    }
    /// patchform HCL inventory with one `host` block per host.
    pub(crate) fn inventory_hcl(&self) -> PathBuf {
        self.state.join("inventory.hcl")
    }
    pub(crate) fn inventory_ini(&self) -> PathBuf {
        self.state.join("inventory.ini")
    }
    pub(crate) fn hosts_json(&self) -> PathBuf {
        self.state.join("hosts.json")
    }

    /// Runs `scripts/fleet ARGS...` for this fleet.
    pub(crate) fn script(&self, args: &[&str]) -> Output {
        Command::new(fleet_script())
            .args(args)
            .env("PF_FLEET_STATE", &self.state)
            .env("PF_FLEET_NET", &self.net)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/fleet")
    }

    /// Injects a fault: `reboot`, `poweroff`, `poweron`, `freeze`, `thaw`, `kill-sshd`,
    /// `start-sshd`, `lock-dpkg` (args: host [seconds]), `unlock-dpkg`, `fail-postinst`,
    /// `pass-postinst`. Panics when the script fails.
    pub(crate) fn fault(&self, fault: &str, args: &[&str]) {
        let mut all = vec![fault];
        all.extend_from_slice(args);
        let out = self.script(&all);
        assert!(
            out.status.success(),
            "scripts/fleet {} failed:\n{}",
            all.join(" "),
            describe(&out)
        );
    }

    /// `ssh -F ssh_config -o BatchMode=yes HOST CMD` (strict host key checking comes from the config).
    pub(crate) fn ssh(&self, host: &str, cmd: &str) -> Output {
        self.ssh_with(host, cmd, &[])
    }
    pub(crate) fn ssh_with(&self, host: &str, cmd: &str, extra: &[&str]) -> Output {
        Command::new("ssh")
            .arg("-F")
            .arg(self.ssh_config())
            .args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=5"])
            .args(extra)
            .arg(host)
            .arg(cmd)
            .stdin(Stdio::null())
            .output()
            .expect("run ssh")
    }
    /// Like [`Fleet::ssh`] but panics unless the command succeeds; returns trimmed stdout.
    pub(crate) fn ssh_ok(&self, host: &str, cmd: &str) -> String {
        let out = self.ssh(host, cmd);
        assert!(
            out.status.success(),
            "ssh {host} {cmd:?} failed:\n{}",
            describe(&out)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub(crate) fn boot_id(&self, host: &str) -> String {
        self.ssh_ok(host, "cat /proc/sys/kernel/random/boot_id")
    }

    /// Polls until `ssh HOST true` succeeds; false after `timeout`.
    pub(crate) fn wait_ssh(&self, host: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if self
                .ssh_with(host, "true", &["-o", "ConnectTimeout=2"])
                .status
                .success()
            {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            sleep(Duration::from_millis(200));
        }
    }

    /// Polls until the host's boot_id differs from `old`; returns the new one or None at the deadline.
    pub(crate) fn wait_new_boot(&self, host: &str, old: &str, timeout: Duration) -> Option<String> {
        let end = Instant::now() + timeout;
        loop {
            let out = self.ssh_with(
                host,
                "cat /proc/sys/kernel/random/boot_id",
                &["-o", "ConnectTimeout=2"],
            );
            if out.status.success() {
                let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                if !id.is_empty() && id != old {
                    return Some(id);
                }
            }
            if Instant::now() >= end {
                return None;
            }
            sleep(Duration::from_millis(250));
        }
    }

    /// Runs `scripts/fleet down`. Idempotent; Drop calls it too.
    pub(crate) fn stop(&mut self) -> Result<(), String> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        let out = self.script(&["down"]);
        if out.status.success() {
            Ok(())
        } else {
            Err(describe(&out))
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!(
                "warning: scripts/fleet down failed for {}:\n{e}",
                self.state.display()
            );
            // keep the state directory for inspection rather than deleting under live mounts
            if let Some(d) = self.dir.take() {
                let _ = d.keep();
            }
        }
    }
}

/// Picks a free `127.A` range, A in 11..=250, whose first address has nothing listening on port 22,
/// and holds its lock file for the fleet's lifetime.
fn reserve_net() -> (String, File) {
    let start = 11 + (std::process::id() as usize % 240);
    for k in 0..240 {
        let a = 11 + (start - 11 + k) % 240;
        let path = std::env::temp_dir().join(format!("patchform-fleet-net-127.{a}.lock"));
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .expect("open net lock");
        // also skip ranges used by a fleet started outside the tests (no lock file)
        if f.try_lock().is_ok()
            && std::net::TcpListener::bind((format!("127.{a}.0.1").as_str(), 22)).is_ok()
        {
            return (format!("127.{a}"), f);
        }
    }
    panic!("no free 127.A address range for a test fleet (all 240 locks are held)");
}

/// Processes whose root directory is inside `dir` (fleet host processes) and mounts below it.
fn leftovers(dir: &Path) -> (Vec<String>, Vec<String>) {
    let prefix = dir.to_string_lossy().into_owned();
    let mut procs = Vec::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Ok(root) = fs::read_link(e.path().join("root"))
                && root.to_string_lossy().starts_with(&prefix)
            {
                procs.push(name);
            }
        }
    }
    let mounts = fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&prefix))
        .map(str::to_owned)
        .collect();
    (procs, mounts)
}

// ---------------------------------------------------------------------------------------------
// smoke tests

#[test]
fn fleet_ssh_strict_host_keys_and_inventories() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(3);
    let mut boot_ids = Vec::new();
    for h in fleet.hosts() {
        assert!(h.address.starts_with(&format!("{}.", fleet.net())), "{h:?}");
        // by name (ssh_config alias) and by address, with the generated known_hosts
        assert_eq!(fleet.ssh_ok(&h.name, "hostname"), h.name);
        assert_eq!(fleet.ssh_ok(&h.address, "hostname"), h.name);
        assert_eq!(
            fleet
                .ssh_ok(&h.name, "cat /etc/debian_version")
                .split('.')
                .next(),
            Some("12")
        );
        assert_eq!(
            fleet.ssh_ok(&h.name, "dpkg-query -W -f '${Version}' pf-linux-image"),
            "1.0-1"
        );
        boot_ids.push(fleet.boot_id(&h.name));
    }
    boot_ids.sort();
    boot_ids.dedup();
    assert_eq!(boot_ids.len(), 3, "each host has its own boot_id");

    // strict host key checking: an empty known_hosts file must make ssh refuse the host
    let empty = fleet.state_dir().join("empty_known_hosts");
    fs::write(&empty, "").unwrap();
    let out = fleet.ssh_with(
        &fleet.host(0).name,
        "true",
        &["-o", &format!("UserKnownHostsFile={}", empty.display())],
    );
    assert!(
        !out.status.success(),
        "ssh accepted an unknown host key:\n{}",
        describe(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ost key verification failed"),
        "{}",
        describe(&out)
    );
    // and a wrong key for the name must be refused too
    let kh = fs::read_to_string(fleet.known_hosts()).unwrap();
    let key1 = kh
        .lines()
        .nth(1)
        .unwrap()
        .split_once(' ')
        .unwrap()
        .1
        .to_owned();
    let wrong = fleet.state_dir().join("wrong_known_hosts");
    fs::write(&wrong, format!("{} {key1}\n", fleet.host(0).address)).unwrap();
    let out = fleet.ssh_with(
        &fleet.host(0).name,
        "true",
        &["-o", &format!("UserKnownHostsFile={}", wrong.display())],
    );
    assert!(
        !out.status.success(),
        "ssh accepted another host's key:\n{}",
        describe(&out)
    );

    let hcl = fs::read_to_string(fleet.inventory_hcl()).unwrap();
    let ini = fs::read_to_string(fleet.inventory_ini()).unwrap();
    let json = fs::read_to_string(fleet.hosts_json()).unwrap();
    for h in fleet.hosts() {
        assert!(hcl.contains(&format!("host \"{}\" {{", h.name)), "{hcl}");
        assert!(
            hcl.contains(&format!("address       = \"{}\"", h.address)),
            "{hcl}"
        );
        assert!(
            ini.contains(&format!("{} ansible_host={}", h.name, h.address)),
            "{ini}"
        );
        assert!(
            json.contains(&format!(
                "\"name\": \"{}\", \"address\": \"{}\"",
                h.name, h.address
            )),
            "{json}"
        );
    }
    assert!(hcl.contains("\"Patch Group\" = \"canary\""), "{hcl}");
    assert!(hcl.contains("identity_file = "), "{hcl}");
}

#[test]
fn fleet_install_on_one_host_leaves_others_unchanged() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(3);
    let (a, b, c) = (
        &fleet.host(0).name,
        &fleet.host(1).name,
        &fleet.host(2).name,
    );
    for h in [a, b, c] {
        let out = fleet.ssh(h, "dpkg-query -W pf-hello");
        assert!(!out.status.success(), "pf-hello already installed on {h}");
    }
    fleet.ssh_ok(
        a,
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q pf-hello",
    );
    assert_eq!(fleet.ssh_ok(a, "pf-hello"), "hello from pf-hello 1.0-1");
    assert_eq!(
        fleet.ssh_ok(a, "dpkg-query -W -f '${Status} ${Version}' pf-hello"),
        "install ok installed 1.0-1"
    );
    for h in [b, c] {
        let out = fleet.ssh(h, "dpkg-query -W pf-hello");
        assert!(
            !out.status.success(),
            "pf-hello leaked to {h}: {}",
            describe(&out)
        );
        let out = fleet.ssh(h, "test -e /usr/bin/pf-hello");
        assert!(!out.status.success(), "/usr/bin/pf-hello leaked to {h}");
    }
    // an upgrade with a new dependency on b only: pf-newdep 2.0-1 pulls in pf-newlib
    fleet.ssh_ok(
        b,
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q pf-newdep",
    );
    assert_eq!(
        fleet.ssh_ok(b, "dpkg-query -W -f '${Version}' pf-newlib"),
        "2.0-1"
    );
    assert!(!fleet.ssh(c, "dpkg-query -W pf-newlib").status.success());
    assert_eq!(
        fleet.ssh_ok(c, "dpkg-query -W -f '${Version}' pf-newdep"),
        "1.0-1"
    );
}

#[test]
fn fleet_reboot_changes_boot_id() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(3);
    let h = fleet.host(1).name.clone();
    let other = fleet.host(0).name.clone();
    let other_before = fleet.boot_id(&other);
    // kernel-like update requests a reboot
    fleet.ssh_ok(
        &h,
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q pf-linux-image",
    );
    fleet.ssh_ok(
        &h,
        "test -f /var/run/reboot-required && grep -qx pf-linux-image /var/run/reboot-required.pkgs",
    );
    let before = fleet.boot_id(&h);
    // the host's own reboot command
    let _ = fleet.ssh(&h, "reboot");
    let after = fleet
        .wait_new_boot(&h, &before, Duration::from_secs(30))
        .expect("host did not come back with a new boot_id within 30 s");
    assert_ne!(before, after);
    // /run is fresh after a reboot, the upgrade persisted
    assert!(
        !fleet
            .ssh(&h, "test -e /var/run/reboot-required")
            .status
            .success(),
        "reboot-required survived the reboot"
    );
    assert_eq!(
        fleet.ssh_ok(&h, "dpkg-query -W -f '${Version}' pf-linux-image"),
        "1.0-2"
    );
    // systemctl reboot and shutdown -r now work the same way
    let _ = fleet.ssh(&h, "systemctl reboot");
    let third = fleet
        .wait_new_boot(&h, &after, Duration::from_secs(30))
        .expect("no new boot after systemctl reboot");
    let _ = fleet.ssh(&h, "shutdown -r now");
    let fourth = fleet
        .wait_new_boot(&h, &third, Duration::from_secs(30))
        .expect("no new boot after shutdown -r now");
    assert_ne!(third, fourth);
    // the fault injector's reboot
    fleet.fault("reboot", &[&h]);
    fleet
        .wait_new_boot(&h, &fourth, Duration::from_secs(30))
        .expect("no new boot after scripts/fleet reboot");
    assert_eq!(
        fleet.boot_id(&other),
        other_before,
        "other host rebooted too"
    );
}

#[test]
fn fleet_failing_postinst_fails_on_demand() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(3);
    let (a, b) = (fleet.host(0).name.clone(), fleet.host(1).name.clone());
    fleet.fault("fail-postinst", &[&a]);
    let out = fleet.ssh(
        &a,
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q pf-failing",
    );
    assert!(
        !out.status.success(),
        "install with failing postinst succeeded:\n{}",
        describe(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("postinst fails because"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        fleet.ssh_ok(&a, "dpkg-query -W -f '${Status} ${Version}' pf-failing"),
        "install ok half-configured 1.0-2"
    );
    // same update elsewhere succeeds
    fleet.ssh_ok(
        &b,
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q pf-failing",
    );
    assert_eq!(
        fleet.ssh_ok(&b, "dpkg-query -W -f '${Status} ${Version}' pf-failing"),
        "install ok installed 1.0-2"
    );
    // switch off: configuring again succeeds
    fleet.fault("pass-postinst", &[&a]);
    fleet.ssh_ok(&a, "dpkg --configure -a");
    assert_eq!(
        fleet.ssh_ok(&a, "dpkg-query -W -f '${Status}' pf-failing"),
        "install ok installed"
    );
}

#[test]
fn fleet_dpkg_lock_holder_blocks_install() {
    if !require_root() {
        return;
    }
    let fleet = Fleet::start(3);
    let h = fleet.host(2).name.clone();
    fleet.fault("lock-dpkg", &[&h, "120"]);
    let t = Instant::now();
    let out = fleet.ssh(
        &h,
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=2 pf-hello",
    );
    assert!(
        !out.status.success(),
        "install succeeded despite the dpkg lock:\n{}",
        describe(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("lock"),
        "{}",
        describe(&out)
    );
    assert!(
        t.elapsed() >= Duration::from_secs(2),
        "apt-get did not wait for the lock timeout"
    );
    assert!(!fleet.ssh(&h, "dpkg-query -W pf-hello").status.success());
    fleet.fault("unlock-dpkg", &[&h]);
    fleet.ssh_ok(
        &h,
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=10 pf-hello",
    );
    assert_eq!(fleet.ssh_ok(&h, "pf-hello"), "hello from pf-hello 1.0-1");
}

#[test]
fn fleet_freeze_kill_sshd_power_and_clean_down() {
    if !require_root() {
        return;
    }
    let mut fleet = Fleet::start(3);
    let (a, b, c) = (
        fleet.host(0).name.clone(),
        fleet.host(1).name.clone(),
        fleet.host(2).name.clone(),
    );
    // freeze: the TCP connection is accepted by the kernel, but nobody answers
    fleet.fault("freeze", &[&a]);
    let out = fleet.ssh_with(&a, "true", &["-o", "ConnectTimeout=2"]);
    assert!(!out.status.success(), "frozen host answered");
    fleet.fault("thaw", &[&a]);
    assert!(
        fleet.wait_ssh(&a, Duration::from_secs(10)),
        "host did not answer after thaw"
    );
    // kill sshd: connection refused until started again, boot_id unchanged
    let bid = fleet.boot_id(&b);
    fleet.fault("kill-sshd", &[&b]);
    let out = fleet.ssh(&b, "true");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refused"),
        "{}",
        describe(&out)
    );
    fleet.fault("start-sshd", &[&b]);
    assert_eq!(fleet.boot_id(&b), bid);
    // power off / on
    let bid = fleet.boot_id(&c);
    fleet.fault("poweroff", &[&c]);
    assert!(
        !fleet.ssh(&c, "true").status.success(),
        "powered-off host answered"
    );
    fleet.fault("poweron", &[&c]);
    assert!(fleet.wait_ssh(&c, Duration::from_secs(20)));
    assert_ne!(fleet.boot_id(&c), bid);
    // the host's own poweroff keeps it off
    let _ = fleet.ssh(&c, "poweroff");
    let end = Instant::now() + Duration::from_secs(10);
    while fleet
        .ssh_with(&c, "true", &["-o", "ConnectTimeout=2"])
        .status
        .success()
    {
        assert!(Instant::now() < end, "host still up 10 s after poweroff");
        sleep(Duration::from_millis(200));
    }
    sleep(Duration::from_secs(3));
    assert!(
        !fleet.ssh(&c, "true").status.success(),
        "host came back after poweroff"
    );

    // down leaves nothing running or mounted (frozen hosts included)
    fleet.fault("freeze", &[&a]);
    let state = fleet.state_dir().to_path_buf();
    fleet.stop().expect("scripts/fleet down");
    let (procs, mounts) = leftovers(&state);
    assert!(procs.is_empty(), "processes left after down: {procs:?}");
    assert!(mounts.is_empty(), "mounts left after down: {mounts:?}");
    assert!(
        !fleet
            .ssh_with(&a, "true", &["-o", "ConnectTimeout=2"])
            .status
            .success()
    );
}
