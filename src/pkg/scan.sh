# patchform's scan: every fact one scan needs, in one round trip (see FACTS_SCRIPT in apt.rs).
# scripts/bench runs this same file as the raw-ssh lower bound.
section() { echo; echo "@@pf $1"; }
done_() { echo "@@pf-status $?"; }
section os-release; cat /etc/os-release; done_
section boot-id; cat /proc/sys/kernel/random/boot_id; done_
section kernel; uname -r; done_
section reboot-required
if [ -e /var/run/reboot-required ]; then echo yes; cat /var/run/reboot-required.pkgs 2>/dev/null; else echo no; fi; done_
section dpkg; dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\n'; done_
holds=$(apt-mark showhold); rc=$?
section holds; printf '%s\n' "$holds"; (exit "$rc"); done_
section auto-upgrades
for unit in apt-daily-upgrade.timer unattended-upgrades.service; do
  printf '%s ' "$unit"; systemctl is-enabled "$unit" 2>/dev/null || echo unknown
done
apt-config dump APT::Periodic::Unattended-Upgrade; true; done_
section fingerprint
sha256sum /var/lib/dpkg/status | cut -d' ' -f1
find /var/lib/apt/lists -maxdepth 1 -type f -printf '%f %s %T@\n' | LC_ALL=C sort | sha256sum | cut -d' ' -f1
done_
sim=$(apt-get -s -o Debug::NoLocking=1 dist-upgrade); rc=$?
section simulate; printf '%s\n' "$sim"; (exit "$rc"); done_
section policy; apt-cache policy; done_
section details
# The version tables and records of every package the simulation upgrades or installs, and of
# held ones, in the same round trip. The names come from apt on this host and go to apt as
# arguments, one per line (`-d`: xargs interprets no quotes).
names=$({ printf '%s\n' "$sim" | sed -n 's/^Inst \([^ ]*\) .*/\1/p'; printf '%s\n' "$holds"; } | LC_ALL=C sort -u)
printf '%s\n' "$names" | grep . | xargs -r -d '\n' apt-cache policy --; echo "@@pf-status $?"
echo "@@pf show"
printf '%s\n' "$names" | grep . | xargs -r -d '\n' apt-cache show --; echo "@@pf-status $?"
