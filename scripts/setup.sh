#!/usr/bin/env bash
# Makes the project's two virtualenvs from the lock files; idempotent and quick when nothing changed.
#   .venv       Python 3.11: gateway with the answer engine, knowledge, tests (requirements/app.lock)
#   .venv-rasa  Python 3.10: the Rasa server (requirements/rasa.lock); Rasa 3.6 does not run on 3.11
# Packages are installed with uv (requirements/tools.lock, in .venv-tools) when it installs, else
# with pip: a fresh machine's setup takes ~25 s instead of ~90 s. PyTorch alone always comes through
# pip, which finds the machine's local CPU wheel (pip install torch==…); uv would download a CUDA build.
# Options: --browser  also install Debian's chromium for the console's browser tests.
#          --haproxy  also install Debian's haproxy for the multi-replica test (tests/test_replicas_e2e.py).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WITH_BROWSER=0
WITH_HAPROXY=0
for arg in "$@"; do
  case "$arg" in
    --browser) WITH_BROWSER=1 ;;
    --haproxy) WITH_HAPROXY=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[setup] %s\n' "$*"; }

# find_python MAJOR.MINOR: prints an interpreter path for that version, or nothing.
find_python() {
  local want=$1 var candidate prefix v
  var="PUSTAKABOT_PYTHON${want/./}"
  if [ -n "${!var:-}" ]; then echo "${!var}"; return; fi
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}\.[0-9]+$" | sort -t. -k3 -n -r); do
      prefix=$(pyenv prefix "$v" 2>/dev/null || true)
      if [ -x "$prefix/bin/python$want" ]; then echo "$prefix/bin/python$want"; return; fi
    done
  fi
  for candidate in "python$want" "/usr/bin/python$want" "/usr/local/bin/python$want"; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" 2>/dev/null; then
      command -v "$candidate"; return
    fi
  done
}

digest() { cat "$@" | sha256sum | cut -c1-16; }

# make_venv DIR PYTHON STAMP INSTALL-COMMAND...
make_venv() {
  local dir=$1 python=$2 stamp=$3; shift 3
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ] && [ -x "$dir/bin/python" ]; then
    log "$dir up to date"
    return
  fi
  log "building $dir with $python"
  if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c 'import sys' 2>/dev/null; then
    rm -rf "$dir"
    "$python" -m venv "$dir"
  fi
  "$@"
  echo "$stamp" > "$dir/.stamp"
}

PY311=$(find_python 3.11)
PY310=$(find_python 3.10)
if [ -z "$PY311" ]; then
  echo "setup: Python 3.11 not found (install it, or set PUSTAKABOT_PYTHON311=/path/to/python3.11)" >&2; exit 1
fi
if [ -z "$PY310" ]; then
  echo "setup: Python 3.10 not found; Rasa 3.6 needs it (pyenv install 3.10, or set PUSTAKABOT_PYTHON310)" >&2; exit 1
fi

# uv_tool: prints the path of a uv binary of requirements/tools.lock (in .venv-tools), or nothing
# when it cannot be installed (then pip does everything, as before).
uv_tool() {
  local stamp
  stamp=$(digest requirements/tools.lock)
  if [ ! -f .venv-tools/.stamp ] || [ "$(cat .venv-tools/.stamp)" != "$stamp" ] || [ ! -x .venv-tools/bin/uv ]; then
    rm -rf .venv-tools
    if ! { "$PY311" -m venv .venv-tools \
           && .venv-tools/bin/python -m pip install -q --disable-pip-version-check -r requirements/tools.lock; } >&2; then
      log "uv did not install; installing with pip" >&2
      rm -rf .venv-tools
      return
    fi
    echo "$stamp" > .venv-tools/.stamp
  fi
  echo "$ROOT/.venv-tools/bin/uv"
}

install_app() {
  if [ -n "$UV" ]; then
    # PyTorch first, through pip (the local CPU wheel); uv then finds it installed.
    .venv/bin/python -m pip install -q --disable-pip-version-check "$(grep -E '^torch==' requirements/app.lock)"
    "$UV" pip install -q --python .venv/bin/python -r requirements/app.lock
  else
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements/app.lock
  fi
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
}
install_rasa() {
  if [ -n "$UV" ]; then
    "$UV" pip install -q --python .venv-rasa/bin/python -r requirements/rasa.lock "setuptools>=70.3,<70.4"
  else
    .venv-rasa/bin/python -m pip install -q --disable-pip-version-check -U pip
    .venv-rasa/bin/python -m pip install -q --disable-pip-version-check -r requirements/rasa.lock "setuptools>=70.3,<70.4"
  fi
}

# The two venvs and the Debian packages are independent: built side by side (pip unpacks on one
# core each; apt waits on the mirror), which takes a fresh machine's setup from ~3.5 to ~2 min.
APT_PACKAGES=()
if [ "$WITH_BROWSER" = 1 ] && [ ! -x /usr/bin/chromium ]; then APT_PACKAGES+=(chromium); fi
if [ "$WITH_HAPROXY" = 1 ] && ! command -v haproxy >/dev/null && [ ! -x /usr/sbin/haproxy ]; then APT_PACKAGES+=(haproxy); fi
install_debian() {
  log "installing Debian's ${APT_PACKAGES[*]} (browser tests, the multi-replica test)"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null
}

UV=$(uv_tool)
pids=()
make_venv .venv "$PY311" "$(digest requirements/app.lock pyproject.toml)" install_app & pids+=($!)
make_venv .venv-rasa "$PY310" "$(digest requirements/rasa.lock)" install_rasa & pids+=($!)
if [ ${#APT_PACKAGES[@]} -gt 0 ]; then install_debian & pids+=($!); fi
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if [ "$failed" = 1 ]; then echo "setup: a step failed; see its output above" >&2; exit 1; fi
log "ready"
