#!/usr/bin/env bash
# Install Reprise as a system tool that PostgreSQL's archiver (the postgres user) can run.
#
#   sudo scripts/install.sh                 # install or upgrade; a second run changes nothing
#   sudo scripts/install.sh --uninstall     # remove the program; keep /etc/reprise, /var/lib/reprise
#   scripts/install.sh --help
#
# What goes where, with its owner and mode and why: docs/install.md.
set -euo pipefail
umask 022

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
CHECKOUT="$(dirname -- "$SCRIPT_DIR")"
readonly SCRIPT_DIR CHECKOUT
readonly DISTRIBUTION="reprise-dr"
readonly UNIT="reprise.service"
readonly RECORD_NAME="reprise-install.record"
readonly DEBIAN_PYTHON="/usr/bin/python3"
readonly MIN_PYTHON="3.11.2"

PREFIX="${REPRISE_PREFIX:-/opt/reprise}"
BINDIR="${REPRISE_BINDIR:-/usr/local/bin}"
DATADIR="${REPRISE_DATADIR:-/usr/local/share}"
MANDIR="${REPRISE_MANDIR:-}" # default: $DATADIR/man, once the options are read
FISHDIR="${REPRISE_FISHDIR:-/etc/fish/completions}"
ETCDIR="${REPRISE_ETCDIR:-/etc/reprise}"
STATEDIR="${REPRISE_STATEDIR:-/var/lib/reprise}"
UNITDIR="${REPRISE_UNITDIR:-/etc/systemd/system}"
GROUP="${REPRISE_GROUP:-reprise}"
PG_USER="${REPRISE_PG_USER:-}"
EXAMPLE="${REPRISE_EXAMPLE:-akig-app}"
PYTHON="$DEBIAN_PYTHON"
PYTHON_GIVEN=0
WHEEL=""
ACTION="install"
PURGE=0
SYSTEMD=1
REINSTALL=0
CHANGES=0

usage() {
	cat <<EOF
Usage: install.sh [OPTIONS]

Install Reprise for the whole host, so that PostgreSQL's archive_command (run by the
postgres user) can run it: a virtual environment from Debian's Python, a link on PATH, the
man page and the bash, zsh and fish completions, a system group, the plan and keys readable
by that group, the state and the local repository, and the systemd unit. Idempotent: run it
again to upgrade or to repair modes; a run that finds everything in place changes nothing
and says so. Run as root.

Options (each also read from the environment variable shown):
  --prefix DIR      the virtual environment               [REPRISE_PREFIX, /opt/reprise]
  --bindir DIR      where the 'reprise' link goes          [REPRISE_BINDIR, /usr/local/bin]
  --datadir DIR     bash and zsh completions (bash-completion/completions/reprise,
                    zsh/site-functions/_reprise inside)    [REPRISE_DATADIR, /usr/local/share]
  --mandir DIR      man pages (man1/reprise.1 inside)      [REPRISE_MANDIR, DATADIR/man]
  --fishdir DIR     fish completions (reprise.fish inside) [REPRISE_FISHDIR, /etc/fish/completions]
  --etcdir DIR      plan, .env and keys/                   [REPRISE_ETCDIR, /etc/reprise]
  --statedir DIR    state and the local repository        [REPRISE_STATEDIR, /var/lib/reprise]
  --unitdir DIR     systemd units                          [REPRISE_UNITDIR, /etc/systemd/system]
  --group NAME      the group whose members may read what wal push needs
                                                           [REPRISE_GROUP, reprise]
  --pg-user NAME    the PostgreSQL server's user, added to the group
                                                           [REPRISE_PG_USER, postgres if it exists]
  --example NAME    the starting plan when ETCDIR has none: minimal, akig-app or pcra-infra
                    (akig-app has the PostgreSQL source with WAL archiving)
                                                           [REPRISE_EXAMPLE, akig-app]
  --wheel FILE      install this wheel (default: the checkout this script is in)
  --python FILE     build the environment from this interpreter instead of $DEBIAN_PYTHON
  --reinstall       reinstall Reprise even when the same build is installed
  --no-systemd      do not write the systemd unit
  --uninstall       remove the environment, the link, the man page, the completions,
                    the unit and the group (when this script created it); keep ETCDIR
                    and STATEDIR
  --purge           with --uninstall: also delete ETCDIR and STATEDIR (the plan, the keys,
                    the state AND the backups of the local repository)
  -h, --help        show this help

Exit status: 0 done, 1 a step failed, 2 refused before any change (not root, unsafe
folder, bad option).
EOF
}

say() { printf '%s\n' "$*"; }
changed() {
	CHANGES=$((CHANGES + 1))
	say "  + $*"
}
kept() { say "  = $*"; }
note() { say "  ! $*"; }
die() {
	# die MESSAGE [FIX] [STATUS]
	printf 'install.sh: error: %s\n' "$1" >&2
	if [[ -n "${2:-}" ]]; then printf 'Fix: %s\n' "$2" >&2; fi
	exit "${3:-1}"
}
refuse() { die "$1" "${2:-}" 2; }

need_value() {
	[[ $# -ge 2 && -n "$2" ]] || refuse "$1 needs a value" "see install.sh --help"
}

parse_arguments() {
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--prefix) need_value "$@"; PREFIX="$2"; shift 2 ;;
		--bindir) need_value "$@"; BINDIR="$2"; shift 2 ;;
		--datadir) need_value "$@"; DATADIR="$2"; shift 2 ;;
		--mandir) need_value "$@"; MANDIR="$2"; shift 2 ;;
		--fishdir) need_value "$@"; FISHDIR="$2"; shift 2 ;;
		--etcdir) need_value "$@"; ETCDIR="$2"; shift 2 ;;
		--statedir) need_value "$@"; STATEDIR="$2"; shift 2 ;;
		--unitdir) need_value "$@"; UNITDIR="$2"; shift 2 ;;
		--group) need_value "$@"; GROUP="$2"; shift 2 ;;
		--pg-user) need_value "$@"; PG_USER="$2"; shift 2 ;;
		--example) need_value "$@"; EXAMPLE="$2"; shift 2 ;;
		--wheel) need_value "$@"; WHEEL="$2"; shift 2 ;;
		--python) need_value "$@"; PYTHON="$2"; PYTHON_GIVEN=1; shift 2 ;;
		--reinstall) REINSTALL=1; shift ;;
		--no-systemd) SYSTEMD=0; shift ;;
		--uninstall) ACTION="uninstall"; shift ;;
		--purge) PURGE=1; shift ;;
		-h | --help) usage; exit 0 ;;
		*) refuse "unknown argument: $1" "see install.sh --help" ;;
		esac
	done
	MANDIR="${MANDIR:-$DATADIR/man}"
	if [[ $PURGE -eq 1 && $ACTION != "uninstall" ]]; then
		refuse "--purge goes with --uninstall" "install.sh --uninstall --purge"
	fi
}

# ---------------------------------------------------------------------------------------
# Checks made before any change

check_name() {
	# A user or group name: plain, so that it is safe in a unit file and in the plan.
	[[ "$2" =~ ^[a-z_][a-z0-9_-]*$ ]] || refuse "$1 '$2' is not a plain user or group name" \
		"use lowercase letters, digits, '-' and '_'"
}

check_path_text() {
	# Every path lands in postgresql.conf, a unit file and the plan: absolute and plain.
	local flag=$1 path=$2
	[[ "$path" =~ ^/[A-Za-z0-9._/+-]*$ && "$path" != *..* ]] || refuse \
		"$flag '$path' must be an absolute path of letters, digits and . _ - + / only" \
		"choose another $flag"
	[[ "$path" != "/" ]] || refuse "$flag cannot be /" "choose another $flag"
}

safe_dir() {
	# safe_dir FLAG PATH: PATH (if it exists) and every folder above it are root's and
	# writable by root alone (a world-writable folder with the sticky bit, such as /tmp, is
	# accepted above PATH): whoever can change them decides what root runs.
	local flag=$1 path=$2 current owner mode kind
	current="$path"
	while :; do
		if [[ -e "$current" || -L "$current" ]]; then
			read -r owner mode kind < <(stat -c '%u %a %F' -- "$current")
			if [[ "$kind" == "symbolic link" ]]; then
				[[ "$owner" == 0 ]] || refuse "$current (on the way to $flag $path) is a symbolic link owned by uid $owner, not root" \
					"chown -h root $current, or use the real path with $flag"
				current="$(dirname -- "$current")"
				continue
			fi
			if [[ "$current" == "$path" && "$kind" != "directory" ]]; then
				refuse "$flag $path exists and is not a folder" "move it aside, or choose another $flag"
			fi
			[[ "$owner" == 0 ]] || refuse "$current ($flag $path) is owned by uid $owner, not root; that user could change what root runs" \
				"chown root $current, or choose another $flag"
			if ((8#$mode & 8#022)); then
				if ! [[ "$current" != "$path" && $((8#$mode & 8#1002)) == $((8#1002)) ]]; then
					refuse "$current ($flag $path) is writable by group or others (mode $mode); they could change what root runs" \
						"chmod go-w $current, or choose another $flag"
				fi
			fi
		fi
		[[ "$current" == "/" ]] && break
		current="$(dirname -- "$current")"
	done
	# A symbolic link on the way: where it leads must be as safe.
	local real
	real="$(readlink -m -- "$path")"
	if [[ "$real" != "$path" ]]; then safe_dir "$flag" "$real"; fi
}

root_only_file() {
	# root_only_file FLAG FILE: FILE is root's and writable by root alone (whoever can
	# change it decides what root runs or installs).
	local owner mode
	read -r owner mode < <(stat -c '%u %a' -- "$2")
	if [[ "$owner" != 0 ]] || ((8#$mode & 8#022)); then
		refuse "$1 $2 is owned by uid $owner or writable by others (mode $mode): they could change what root runs" \
			"chown root $2 && chmod go-w $2, or use another file"
	fi
}

python_version_ok() {
	"$1" -c "import sys; v = tuple(int(x) for x in '$MIN_PYTHON'.split('.')); sys.exit(sys.version_info[:3] < v)" 2>/dev/null
}

check_python() {
	[[ -x "$PYTHON" ]] || refuse "no Python at $PYTHON" "apt-get install python3 python3-venv"
	local real
	real="$(readlink -f -- "$PYTHON")"
	if [[ $PYTHON_GIVEN -eq 0 ]] && command -v dpkg >/dev/null 2>&1; then
		dpkg -S "$real" >/dev/null 2>&1 || refuse \
			"$PYTHON ($real) is not Debian's: no package owns it" \
			"apt-get install --reinstall python3, or name the interpreter on purpose with --python"
	fi
	safe_dir --python "$(dirname -- "$real")"
	root_only_file --python "$real"
	# The postgres user runs the environment's interpreter: every folder on its way must
	# be open to others (the bootstrap's venv under /root, mode 0700, was not).
	local folder
	folder="$(dirname -- "$real")"
	while [[ "$folder" != "/" ]]; do
		(($(stat -c '0%a' -- "$folder") & 8#001)) || refuse \
			"$folder is closed to other users (mode $(stat -c '%a' -- "$folder")): the postgres user could not run $real" \
			"use an interpreter outside home folders, such as $DEBIAN_PYTHON"
		folder="$(dirname -- "$folder")"
	done
	python_version_ok "$PYTHON" || refuse "$PYTHON is older than Python $MIN_PYTHON" \
		"use Debian 12's python3 or newer"
	"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || refuse \
		"$PYTHON cannot create virtual environments (no venv/ensurepip module)" \
		"apt-get install python3-venv"
	if [[ -f "$PREFIX/pyvenv.cfg" && $PYTHON_GIVEN -eq 0 ]]; then
		local built
		built="$(sed -n 's/^executable *= *//p' "$PREFIX/pyvenv.cfg")"
		if [[ -n "$built" && "$(readlink -f -- "$built")" != "$real" ]]; then
			refuse "$PREFIX was built from $built, not $PYTHON" \
				"rebuild it from Debian's Python with --python $PYTHON, or keep $built with --python $built"
		fi
	fi
}

check_source() {
	if [[ -n "$WHEEL" ]]; then
		[[ -f "$WHEEL" && "$WHEEL" == *.whl ]] || refuse "--wheel $WHEEL is not a wheel file" \
			"build one with: python3 -m build --wheel"
		WHEEL="$(readlink -f -- "$WHEEL")"
		safe_dir --wheel "$(dirname -- "$WHEEL")"
		root_only_file --wheel "$WHEEL"
		return
	fi
	grep -q "^name = \"$DISTRIBUTION\"" "$CHECKOUT/pyproject.toml" 2>/dev/null || refuse \
		"$CHECKOUT is not a Reprise checkout, and no --wheel was given" \
		"run the script from a checkout, or give --wheel FILE"
}

check_group_members() {
	# An existing group must let in no one but the server's user: its members read the
	# plan, .env and the signing key.
	local gid others
	gid="$(numeric_group "$GROUP" || true)"
	[[ -n "$gid" ]] || return 0
	others="$( {
		getent group "$GROUP" | cut -d: -f4 | tr ',' '\n'
		getent passwd | awk -F: -v gid="$gid" '$4 == gid { print $1 }'
	} | { grep -vx -e "" -e "${PG_USER:-postgres}" || true; } | sort -u | paste -sd, -)"
	[[ -z "$others" ]] || refuse "the group $GROUP already has other members ($others): they would read the plan, .env and the signing key" \
		"choose another --group, or take them out of it (gpasswd -d USER $GROUP)"
}

checks() {
	[[ $EUID -eq 0 ]] || refuse "install.sh must run as root: it creates a group and root-owned folders" \
		"sudo $0 $*"
	local flag
	for flag in prefix bindir datadir mandir fishdir etcdir statedir unitdir; do
		local variable="${flag^^}"
		check_path_text "--$flag" "${!variable}"
		safe_dir "--$flag" "${!variable}"
	done
	check_name --group "$GROUP"
	if [[ -n "$PG_USER" ]]; then check_name --pg-user "$PG_USER"; fi
	if [[ $ACTION == "install" ]]; then
		case "$EXAMPLE" in minimal | akig-app | pcra-infra) ;; *) refuse \
			"--example $EXAMPLE: not one of minimal, akig-app, pcra-infra" ;; esac
		if [[ -n "$PG_USER" ]]; then
			getent passwd "$PG_USER" >/dev/null || refuse "there is no user $PG_USER" \
				"install PostgreSQL first (apt-get install postgresql), or give --pg-user"
		elif getent passwd postgres >/dev/null; then
			PG_USER=postgres
		fi
		# Folders below the checked prefixes that install.sh writes into: root's alone (root's
		# shell sources the completions).
		local sub
		for sub in "$MANDIR/man1" "$DATADIR/bash-completion/completions" "$DATADIR/zsh/site-functions"; do
			safe_dir "--datadir/--mandir" "$sub"
		done
		# What decides who decrypts the backups and what runs: never adopted from another user.
		local file
		for file in reprise.yaml .env keys keys/recipients.txt keys/signing.key keys/signing.pub keys/identity.txt; do
			if [[ -e "$ETCDIR/$file" && ! -L "$ETCDIR/$file" && "$(stat -c %u -- "$ETCDIR/$file")" != 0 ]]; then
				refuse "$ETCDIR/$file is owned by uid $(stat -c %u -- "$ETCDIR/$file"), not root: that user chose its content" \
					"examine it, then chown root $ETCDIR/$file (or move it aside)"
			fi
		done
		check_group_members
		check_python
		check_source
		if [[ -e "$PREFIX" && ! -f "$PREFIX/pyvenv.cfg" && -n "$(ls -A -- "$PREFIX")" ]]; then
			refuse "$PREFIX exists, is not empty and is not a virtual environment" \
				"move it aside, or choose another --prefix"
		fi
	fi
}

# ---------------------------------------------------------------------------------------
# Idempotent steps: each says "+" when it changed something, "=" when it was in place.

numeric_user() { id -u -- "$1"; }
numeric_group() { getent group "$1" | cut -d: -f3; }

ensure_attrs() {
	# ensure_attrs PATH MODE USER GROUP
	local path=$1 mode=$2 user=$3 group=$4 current want
	current="$(stat -c '%a %u %g' -- "$path")"
	want="$(printf '%o' $((8#$mode))) $(numeric_user "$user") $(numeric_group "$group")"
	if [[ "$current" == "$want" ]]; then
		kept "$path ($mode $user:$group)"
		return
	fi
	chown -- "$user:$group" "$path"
	chmod -- "$mode" "$path"
	changed "$path set to $mode $user:$group (was $(awk '{printf "%s uid %s gid %s", $1, $2, $3}' <<<"$current"))"
}

ensure_dir() {
	# ensure_dir PATH MODE USER GROUP
	local path=$1
	if [[ -L "$path" ]]; then
		die "$path is a symbolic link" "replace it with a folder"
	elif [[ ! -e "$path" ]]; then
		mkdir -p -- "$(dirname -- "$path")"
		install -d -m "$2" -o "$3" -g "$4" -- "$path"
		changed "created $path ($2 $3:$4)"
	elif [[ ! -d "$path" ]]; then
		die "$path exists and is not a folder" "move it aside"
	else
		ensure_attrs "$@"
	fi
}

ensure_file_attrs() {
	# ensure_file_attrs PATH MODE USER GROUP: only when PATH exists (never its content).
	if [[ -L "$1" ]]; then
		die "$1 is a symbolic link" "replace it with the file it points to"
	elif [[ -f "$1" ]]; then
		ensure_attrs "$@"
	fi
}

source_marker() {
	# What identifies the build to install: the wheel's checksum, or the checkout's files.
	if [[ -n "$WHEEL" ]]; then
		printf 'wheel %s\n' "$(sha256sum -- "$WHEEL" | cut -d' ' -f1)"
	else
		local digest
		digest="$(cd -- "$CHECKOUT" && find pyproject.toml README.md src -type f \
			! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z |
			xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
		printf 'checkout %s %s\n' "$CHECKOUT" "$digest"
	fi
}

target_version() {
	if [[ -n "$WHEEL" ]]; then
		basename -- "$WHEEL" | cut -d- -f2
	else
		sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$CHECKOUT/src/reprise/__init__.py"
	fi
}

record_get() {
	# record_get KEY: a value this script recorded in $PREFIX at an earlier run.
	local file="$PREFIX/$RECORD_NAME"
	[[ -f "$file" ]] || return 0
	sed -n "s/^$1=//p" "$file" | tail -n 1
}

record_set() {
	local file="$PREFIX/$RECORD_NAME" temporary
	temporary="$(mktemp "$PREFIX/.record.XXXXXX")"
	{
		if [[ -f "$file" ]]; then grep -v "^$1=" "$file" || true; fi
		printf '%s=%s\n' "$1" "$2"
	} >"$temporary"
	chmod 0644 "$temporary"
	mv -f -- "$temporary" "$file"
}

install_environment() {
	say "Program: $PREFIX"
	local real built=""
	real="$(readlink -f -- "$PYTHON")"
	if [[ -f "$PREFIX/pyvenv.cfg" ]]; then
		built="$(readlink -f -- "$(sed -n 's/^executable *= *//p' "$PREFIX/pyvenv.cfg")")"
	fi
	if [[ -x "$PREFIX/bin/python" && "$built" == "$real" ]]; then
		kept "$PREFIX: virtual environment from $real"
	else
		local record=""
		if [[ -f "$PREFIX/$RECORD_NAME" ]]; then record="$(cat -- "$PREFIX/$RECORD_NAME")"; fi
		if [[ -n "$built" ]]; then
			rm -rf -- "$PREFIX"
			changed "removed $PREFIX (built from $built)"
		fi
		mkdir -p -- "$PREFIX"
		chmod 0755 -- "$PREFIX"
		"$PYTHON" -m venv -- "$PREFIX"
		if [[ -n "$record" ]]; then printf '%s\n' "$record" >"$PREFIX/$RECORD_NAME"; fi
		changed "created $PREFIX: virtual environment from $real ($("$PYTHON" -V 2>&1))"
	fi
	local marker version installed
	marker="$(source_marker)"
	version="$(target_version)"
	installed="$("$PREFIX/bin/python" -c "import importlib.metadata as m; print(m.version('$DISTRIBUTION'))" 2>/dev/null || true)"
	if [[ $REINSTALL -eq 0 && -n "$installed" && "$(record_get source)" == "$marker" ]]; then
		kept "$DISTRIBUTION $installed ($(cut -d' ' -f1 <<<"$marker") already installed)"
	else
		local target="${WHEEL:-$CHECKOUT}" pip=("$PREFIX/bin/python" -m pip --disable-pip-version-check)
		if [[ -n "$installed" && "$installed" == "$version" ]]; then
			# Same version number, another build: pip would keep the installed one.
			"${pip[@]}" install --quiet --no-cache-dir --force-reinstall --no-deps -- "$target"
		fi
		"${pip[@]}" install --quiet --no-cache-dir --upgrade -- "$target"
		installed="$("$PREFIX/bin/python" -c "import importlib.metadata as m; print(m.version('$DISTRIBUTION'))")"
		record_set source "$marker"
		changed "installed $DISTRIBUTION $installed from $target"
	fi
	# The postgres user runs this environment: readable by all, writable by root alone.
	if [[ -n "$(find "$PREFIX" \( ! -uid 0 -o \( ! -type l \( -perm /022 -o ! -perm -004 -o \( -type d ! -perm -001 \) \) \) \) -print -quit)" ]]; then
		chown -R -h root:root -- "$PREFIX"
		chmod -R u+rwX,go+rX,go-w -- "$PREFIX"
		changed "$PREFIX made root's, readable by all and writable by root alone"
	else
		kept "$PREFIX: root's, readable by all, writable by root alone"
	fi
}

ensure_link() {
	say "Command: $BINDIR/reprise"
	local link="$BINDIR/reprise" target="$PREFIX/bin/reprise"
	mkdir -p -- "$BINDIR"
	if [[ -L "$link" && "$(readlink -- "$link")" == "$target" ]]; then
		kept "$link -> $target"
	elif [[ -e "$link" && ! -L "$link" ]]; then
		die "$link exists and is not a link" "move it aside (it is not this script's), then run again"
	else
		local previous=""
		if [[ -L "$link" ]]; then previous=" (was -> $(readlink -- "$link"))"; fi
		ln -sfn -- "$target" "$link"
		changed "$link -> $target$previous"
	fi
}

generated() {
	# generated FILE WHAT COMMAND...: FILE holds what COMMAND (the installed program, doing
	# WHAT) prints, 0644 root's. Compared before writing: a run that finds it in place
	# changes nothing.
	local file=$1 what=$2 text errors
	shift 2
	local status=0 why=""
	text="$(mktemp -p "$WORK")"
	errors="$(mktemp -p "$WORK")"
	"$@" </dev/null >"$text" 2>"$errors" || status=$?
	if [[ $status -ne 0 ]]; then
		why="failed (exit $status): $(head -c 2000 -- "$errors")"
	elif [[ ! -s "$text" ]]; then
		why="printed nothing"
	fi
	rm -f -- "$errors"
	if [[ -n "$why" ]]; then
		rm -f -- "$text"
		die "'$what' $why: the installed Reprise ($PREFIX) is broken" \
			"install.sh --reinstall; if it fails again, report a bug in Reprise"
	fi
	mkdir -p -- "$(dirname -- "$file")"
	if [[ -L "$file" ]]; then
		rm -f -- "$text"
		die "$file is a symbolic link" "remove it, then run install.sh again"
	elif [[ -f "$file" ]] && cmp -s -- "$text" "$file"; then
		rm -f -- "$text"
		ensure_attrs "$file" 0644 root root
	else
		install -m 0644 -o root -g root -- "$text" "$file"
		rm -f -- "$text"
		changed "wrote $file"
	fi
}

installed_epoch() {
	# When this build was installed (its metadata file's time): the man page's date, so
	# that running install.sh again another day does not rewrite the page.
	"$PREFIX/bin/python" -c "import importlib.metadata as m, os; d = m.distribution('$DISTRIBUTION'); print(int(os.stat([f for f in d.files if f.name == 'METADATA'][0].locate()).st_mtime))"
}

ensure_man_page() {
	say "Man page: $MANDIR/man1/reprise.1"
	local epoch
	epoch="${SOURCE_DATE_EPOCH:-$(installed_epoch)}" || die \
		"cannot read when $DISTRIBUTION was installed in $PREFIX" "install.sh --reinstall"
	generated "$MANDIR/man1/reprise.1" "reprise man" env SOURCE_DATE_EPOCH="$epoch" "$PREFIX/bin/reprise" man
}

completion_files() {
	# Where each shell looks for a command's completion, for every user (docs/install.md).
	printf '%s\n' "bash $DATADIR/bash-completion/completions/reprise" \
		"zsh $DATADIR/zsh/site-functions/_reprise" "fish $FISHDIR/reprise.fish"
}

ensure_completions() {
	say "Shell completion: bash, zsh, fish"
	local shell file
	while read -r shell file; do
		generated "$file" "reprise completion $shell" "$PREFIX/bin/reprise" completion "$shell"
	done < <(completion_files)
}

ensure_group() {
	say "Group: $GROUP"
	if getent group "$GROUP" >/dev/null; then
		kept "group $GROUP exists"
	else
		groupadd --system -- "$GROUP"
		record_set group_created "$GROUP"
		changed "created the system group $GROUP"
	fi
	if [[ -z "$PG_USER" ]]; then
		note "no postgres user on this host: install PostgreSQL, then run install.sh again (or give --pg-user)"
		return
	fi
	if id -nG -- "$PG_USER" | tr ' ' '\n' | grep -qx -- "$GROUP"; then
		kept "$PG_USER is a member of $GROUP"
	else
		gpasswd -a "$PG_USER" "$GROUP" >/dev/null
		record_set member_added "$PG_USER"
		changed "added $PG_USER to $GROUP: restart PostgreSQL so that its processes get the group"
	fi
}

new_plan() {
	# A starting plan from the example, readable by the group, with fresh keys.
	env -u REPRISE_PLAN -u REPRISE_STATE_DIR "$PREFIX/bin/reprise" init "$ETCDIR" --example "$EXAMPLE" |
		sed -e '/^Next: /d' -e 's/^/    /'
	local plan="$ETCDIR/reprise.yaml" temporary
	temporary="$(mktemp "$ETCDIR/.reprise.yaml.XXXXXX")"
	awk -v group="$GROUP" '{ print } !done && /^keys:[[:space:]]*$/ { print "  readers_group: " group "   # may read the plan, .env and the public and signing keys (wal push)"; done = 1 }' \
		"$plan" >"$temporary"
	grep -q "readers_group: $GROUP" "$temporary" || die "cannot find the keys: section of $plan" \
		"add 'readers_group: $GROUP' under keys: by hand"
	chmod 0600 -- "$temporary"
	mv -f -- "$temporary" "$plan"
	changed "wrote $plan from the $EXAMPLE example, keys.readers_group: $GROUP, and fresh keys in $ETCDIR/keys"
	if [[ ! -e "$ETCDIR/.env" ]]; then
		temporary="$(mktemp "$ETCDIR/.env.XXXXXX")"
		{
			printf '# Written by install.sh from .env.example: fill in the secrets. Readable by root and\n'
			printf '# the %s group (the postgres user reads it to run wal push).\n' "$GROUP"
			grep -v -e '^REPRISE_REPOSITORY=' -e '^REPRISE_STATE_DIR=' "$ETCDIR/.env.example" || true
			printf '\n# Where install.sh put the state and the local repository\n'
			printf 'REPRISE_STATE_DIR=%s\n' "$STATEDIR/state"
			printf 'REPRISE_REPOSITORY=%s\n' "$STATEDIR/repository"
		} >"$temporary"
		chmod 0600 -- "$temporary"
		mv -f -- "$temporary" "$ETCDIR/.env"
		changed "wrote $ETCDIR/.env (state in $STATEDIR/state, repository in $STATEDIR/repository)"
	fi
}

ensure_configuration() {
	say "Plan and keys: $ETCDIR"
	ensure_dir "$ETCDIR" 0750 root "$GROUP"
	local plan="$ETCDIR/reprise.yaml"
	if [[ -e "$plan" ]]; then
		kept "$plan exists: left as it is"
		grep -Eq "^[[:space:]]+readers_group:[[:space:]]*['\"]?${GROUP}['\"]?([[:space:]]|\$)" "$plan" || note \
			"$plan does not say keys.readers_group: $GROUP; add it under keys:, or Reprise refuses the 0640 files for $PG_USER"
	else
		new_plan
	fi
	ensure_dir "$ETCDIR/keys" 0750 root "$GROUP"
	# What wal push reads: readable by the group. Nothing else is.
	local file
	for file in reprise.yaml .env keys/recipients.txt keys/signing.key keys/signing.pub; do
		ensure_file_attrs "$ETCDIR/$file" 0640 root "$GROUP"
	done
	# Decrypts every backup: root's alone (and best kept offline).
	ensure_file_attrs "$ETCDIR/keys/identity.txt" 0600 root root
}

ensure_state() {
	say "State and repository: $STATEDIR"
	local pg_group
	ensure_dir "$STATEDIR" 0750 root "$GROUP"
	ensure_dir "$STATEDIR/state" 0700 root root
	ensure_dir "$STATEDIR/repository" 0750 root "$GROUP"
	if [[ -n "$PG_USER" ]]; then
		pg_group="$(id -gn -- "$PG_USER")"
		# wal push writes here as the postgres user; nothing else of the repository.
		ensure_dir "$STATEDIR/repository/wal" 0700 "$PG_USER" "$pg_group"
		# wal fetch (restore_command) keeps the segments it fetches ahead here.
		ensure_dir "$STATEDIR/wal-spool" 0700 "$PG_USER" "$pg_group"
	fi
}

ensure_units() {
	if [[ $SYSTEMD -eq 0 ]]; then
		say "Service: skipped (--no-systemd)"
		return
	fi
	say "Service: $UNITDIR/$UNIT"
	mkdir -p -- "$UNITDIR"
	local run=(env -u REPRISE_PLAN -u REPRISE_STATE_DIR "$PREFIX/bin/reprise" --plan "$ETCDIR/reprise.yaml")
	local text
	text="$(mktemp -p "$WORK")"
	"${run[@]}" install systemd --command "$BINDIR/reprise" --unit-dir "$UNITDIR" --print >"$text"
	if [[ -f "$UNITDIR/$UNIT" ]] && cmp -s -- "$text" "$UNITDIR/$UNIT"; then
		kept "$UNITDIR/$UNIT"
	else
		"${run[@]}" install systemd --command "$BINDIR/reprise" --unit-dir "$UNITDIR" --no-enable >/dev/null
		changed "wrote $UNITDIR/$UNIT (reprise serve for $ETCDIR/reprise.yaml)"
	fi
	rm -f -- "$text"
	if [[ ! -d /run/systemd/system ]] || ! command -v systemctl >/dev/null 2>&1; then
		note "systemd is not running on this host: the unit is written, not enabled"
	elif [[ "$UNITDIR" != "/etc/systemd/system" ]]; then
		note "systemd does not read $UNITDIR: the unit is written, not enabled"
	elif systemctl is-enabled --quiet "$UNIT" 2>/dev/null; then
		systemctl daemon-reload
		kept "$UNIT is enabled"
	else
		systemctl daemon-reload
		systemctl enable --quiet "$UNIT"
		changed "enabled $UNIT (starts at boot; start it now with systemctl start reprise once the plan is filled in)"
	fi
}

check_as_pg_user() {
	[[ -n "$PG_USER" ]] || return 0
	say "Check: $BINDIR/reprise as $PG_USER"
	local output
	if output="$(runuser -u "$PG_USER" -- "$BINDIR/reprise" --version 2>&1)"; then
		kept "$PG_USER runs $BINDIR/reprise ($output)"
	else
		die "$PG_USER cannot run $BINDIR/reprise: $output" "see docs/install.md"
	fi
}

print_next_steps() {
	local plan="$ETCDIR/reprise.yaml" reprise="$BINDIR/reprise"
	say ""
	if [[ $CHANGES -eq 0 ]]; then
		say "Nothing changed: everything was already in place."
	else
		say "Done: $CHANGES change(s)."
	fi
	cat <<EOF

Paste into postgresql.conf (then restart PostgreSQL, so that it runs as a member of $GROUP):

archive_mode = on
archive_command = '$reprise --plan $plan wal push %p'

For a recovery you start by hand, on the host that holds the identity (reprise restore
--pitr writes its own and needs none of this):

restore_command = '$reprise --plan $plan wal fetch %f %p --spool $STATEDIR/wal-spool'

Next:
  1. Fill in $plan (the services, the PostgreSQL source's dsn) and $ETCDIR/.env.
  2. $reprise --plan $plan plan validate
  3. runuser -u ${PG_USER:-postgres} -- $reprise --plan $plan plan validate
  4. $reprise --plan $plan repo init local
  5. $reprise --plan $plan doctor
  6. Copy $ETCDIR/keys/identity.txt somewhere safe and offline: it decrypts every backup.
EOF
}

install_all() {
	say "Installing Reprise for $([[ -n "$PG_USER" ]] && printf '%s' "$PG_USER" || printf 'this host')"
	install_environment
	ensure_link
	ensure_man_page
	ensure_completions
	ensure_group
	ensure_configuration
	ensure_state
	ensure_units
	check_as_pg_user
	print_next_steps
}

# ---------------------------------------------------------------------------------------
# Uninstall

remove_path() {
	if [[ -e "$1" || -L "$1" ]]; then
		rm -rf -- "$1"
		changed "removed $1${2:+ ($2)}"
	fi
}

uninstall_all() {
	say "Removing Reprise"
	local created member
	created="$(record_get group_created)"
	member="$(record_get member_added)"
	if [[ -f "$UNITDIR/$UNIT" ]]; then
		if [[ -d /run/systemd/system && "$UNITDIR" == "/etc/systemd/system" ]] && command -v systemctl >/dev/null 2>&1; then
			systemctl disable --now --quiet "$UNIT" || true
		fi
		remove_path "$UNITDIR/$UNIT"
		if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload; fi
	fi
	if [[ -L "$BINDIR/reprise" && "$(readlink -- "$BINDIR/reprise")" == "$PREFIX/bin/reprise" ]]; then
		remove_path "$BINDIR/reprise"
	elif [[ -e "$BINDIR/reprise" ]]; then
		note "$BINDIR/reprise is not this installation's link: left as it is"
	fi
	remove_path "$MANDIR/man1/reprise.1"
	local shell file
	while read -r shell file; do
		remove_path "$file" "$shell completion"
	done < <(completion_files)
	if [[ -f "$PREFIX/pyvenv.cfg" && -f "$PREFIX/$RECORD_NAME" ]]; then
		remove_path "$PREFIX" "the virtual environment"
	elif [[ -e "$PREFIX" ]]; then
		note "$PREFIX is not a virtual environment install.sh made: left as it is"
	fi
	if [[ -n "$created" && "$created" == "$GROUP" ]] && getent group "$GROUP" >/dev/null; then
		local gid
		gid="$(numeric_group "$GROUP")"
		groupdel -- "$GROUP"
		changed "deleted the group $GROUP (created by install.sh)"
		if [[ $PURGE -eq 0 ]]; then
			# No file may keep a group number that a future group could get.
			local folder
			for folder in "$ETCDIR" "$STATEDIR"; do
				if [[ -d "$folder" && -n "$(find "$folder" -gid "$gid" -print -quit)" ]]; then
					# The server user's own folders hold none of the group's files; leaving
					# them out also leaves no path it could swap under chgrp.
					find "$folder" \( -path "$STATEDIR/repository/wal" -o -path "$STATEDIR/wal-spool" \) -prune \
						-o -gid "$gid" -exec chgrp -h root {} +
					changed "$folder: files of the group $GROUP given to the group root"
				fi
			done
		fi
	elif [[ -n "$member" ]] && getent group "$GROUP" >/dev/null; then
		gpasswd -d "$member" "$GROUP" >/dev/null 2>&1 || true
		changed "removed $member from $GROUP (the group was there before install.sh)"
		note "kept the group $GROUP: install.sh did not create it"
	elif getent group "$GROUP" >/dev/null; then
		note "kept the group $GROUP: install.sh did not create it (or its record is gone)"
	fi
	if [[ $PURGE -eq 1 ]]; then
		remove_path "$ETCDIR" "the plan, .env and keys"
		remove_path "$STATEDIR" "the state and the local repository's backups"
	else
		say ""
		say "Kept $ETCDIR (plan, .env, keys) and $STATEDIR (state, local repository):"
		say "install.sh --uninstall --purge deletes them too."
	fi
	say ""
	if [[ $CHANGES -eq 0 ]]; then say "Nothing changed: nothing was installed."; else say "Done: $CHANGES change(s)."; fi
}

main() {
	parse_arguments "$@"
	checks "$@"
	# Our own scratch files live in a private folder, never directly in $TMPDIR (which
	# might be open to others without the sticky bit).
	WORK="$(mktemp -d)"
	trap 'rm -rf -- "$WORK"' EXIT
	if [[ $ACTION == "uninstall" ]]; then uninstall_all; else install_all; fi
}

main "$@"
