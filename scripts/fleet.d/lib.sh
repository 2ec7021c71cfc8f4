# shellcheck shell=bash
# Shared helpers for scripts/fleet and scripts/bench.
#
# SAFETY: every path that the fleet writes, mounts, unmounts or deletes goes
# through check_state_path (state directory) or check_cache_path (image cache).
# Both resolve the path with realpath and refuse anything outside their root.
# The roots themselves are validated by validate_root: absolute, dedicated,
# never "/", never $HOME, never a well-known system directory.

set -o nounset -o pipefail

FLEET_D="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$FLEET_D/../.." && pwd)"

die() { printf 'fleet: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'fleet: %s\n' "$*" >&2; }

# validate_root NAME PATH -> prints the resolved path or dies.
validate_root() {
    local name="$1" p="$2" r
    [ -n "$p" ] || die "$name is empty"
    case "$p" in /*) ;; *) die "$name must be absolute: '$p'" ;; esac
    r="$(realpath -m -- "$p")" || die "cannot resolve $name '$p'"
    case "$r" in
        / | /bin | /boot | /dev | /etc | /home | /lib | /lib32 | /lib64 | /media | /mnt | /opt | /proc \
        | /root | /run | /sbin | /srv | /sys | /tmp | /usr | /usr/* | /var | /var/lib | /var/cache \
        | /var/tmp | /var/log | /var/run | /work | /etc/* | /proc/* | /sys/* | /dev/* | /boot/* )
            die "$name '$r' is not a dedicated directory; refusing" ;;
    esac
    if [ -n "${HOME:-}" ]; then
        local h
        h="$(realpath -m -- "$HOME")"
        [ "$r" != "$h" ] || die "$name must not be \$HOME ('$r'); refusing"
    fi
    # at least two path components, e.g. /var/lib/patchform-fleet or /tmp/x/y
    case "$r" in /*/*) ;; *) die "$name '$r' is too close to /; refusing" ;; esac
    printf '%s\n' "$r"
}

# _check_under ROOT PATH: resolved PATH must be strictly below ROOT.
_check_under() {
    local root="$1" p="$2" r
    [ -n "$root" ] || die "internal: empty root in path check"
    [ "$root" != "/" ] || die "internal: root '/' in path check"
    r="$(realpath -m -- "$p")" || die "cannot resolve '$p'"
    case "$r" in
        "$root"/?*) printf '%s\n' "$r" ;;
        *) die "refusing to touch '$p' (resolves to '$r'): outside '$root'" ;;
    esac
}
check_state_path() { _check_under "$STATE" "$1" >/dev/null; }
check_cache_path() { _check_under "$CACHE" "$1" >/dev/null; }

# safe_rm_state PATH...: rm -rf only for checked paths under the state dir, never across mounts.
safe_rm_state() {
    local p
    for p in "$@"; do
        check_state_path "$p"
        [ -e "$p" ] || [ -L "$p" ] || continue
        rm -rf --one-file-system -- "$p"
    done
}
safe_rm_cache() {
    local p
    for p in "$@"; do
        check_cache_path "$p"
        [ -e "$p" ] || [ -L "$p" ] || continue
        rm -rf --one-file-system -- "$p"
    done
}
mkdir_state() { local p; for p in "$@"; do check_state_path "$p"; mkdir -p -- "$p"; done; }
mkdir_cache() { local p; for p in "$@"; do check_cache_path "$p"; mkdir -p -- "$p"; done; }

# Lazy-unmount every mount at or below the state dir that this mount namespace
# sees, deepest first. Only paths that pass the state check are touched.
unmount_state_mounts() {
    local m
    # field 5 of mountinfo is the mount point (octal escapes for spaces; we never create such paths)
    while IFS= read -r m; do
        [ -n "$m" ] || continue
        case "$m" in "$STATE"/?*) ;; *) continue ;; esac
        check_state_path "$m"
        umount -l -- "$m" 2>/dev/null || true
    done < <(awk '{print $5}' /proc/self/mountinfo | sort -r)
}

# deadline helpers: wait_until SECONDS CMD... (polls every 0.1 s)
wait_until() {
    local secs="$1"; shift
    local end=$((SECONDS + secs))
    while ! "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# Read the machine's own Debian mirror(s) from its apt configuration.
# Prints lines "SUITE URI COMPONENTS..." for every suite found.
machine_apt_sources() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && uris != "" && suites != "") {
                    n = split(suites, s, " "); m = split(uris, u, " ")
                    for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print s[i], u[j], comps
                }
                types = ""; uris = ""; suites = ""; comps = ""; enabled = 1
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            { line = $0; key = line; sub(/:.*/, "", key); val = line; sub(/^[^:]*:[ \t]*/, "", val)
              key = tolower(key)
              if (key == "types") types = val
              else if (key == "uris") uris = val
              else if (key == "suites") suites = val
              else if (key == "components") comps = val
              else if (key == "enabled" && tolower(val) == "no") types = "" }
            END { flush() }
        ' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                           uri = $i; suite = $(i+1); comps = ""
                           for (k = i + 2; k <= NF; k++) comps = comps (comps == "" ? "" : " ") $k
                           print suite, uri, comps }' "$f"
    done
}

# mirror_for SUITE -> URI of the machine's source for that suite (first match)
mirror_for() {
    machine_apt_sources | awk -v s="$1" '$1 == s { print $2; exit }'
}

ensure_pkg() { # ensure_pkg COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    log "installing $2 (needed for $1)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null; } \
        || die "could not install $2"
}
