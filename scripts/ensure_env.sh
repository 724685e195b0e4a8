#!/usr/bin/env bash
# Create (when missing or stale) the virtual environment for one stack and print its path.
#   scripts/ensure_env.sh tfx      -> .venv-tfx     (Python 3.10, TF 2.16, TFX 1.16)
#   scripts/ensure_env.sh latest   -> .venv-latest  (Python 3.11, newest TF / Keras, no TFX)
# The pinned set lives in requirements/<stack>.txt (compiled from requirements/<stack>.in with uv).
set -euo pipefail
stack=${1:?usage: ensure_env.sh tfx|latest}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$stack" in
  tfx) pyver=3.10 ;;
  latest) pyver=3.11 ;;
  *) echo "ensure_env.sh: unknown stack '$stack' (expected tfx or latest)" >&2; exit 2 ;;
esac
venv="$root/.venv-$stack"
req="$root/requirements/$stack.txt"
stamp="$venv/.installed-$(cat "$req" "$root/setup.py" | sha1sum | cut -c1-12)"
if [ -f "$stamp" ]; then echo "$venv"; exit 0; fi

find_python() {
  local p
  for p in "python$pyver" "$HOME/.pyenv/versions/$pyver"*/bin/python; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$pyver'.split('.')))" 2>/dev/null; then
      "$p" -c "import sys; print(sys.executable)"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    p=$(pyenv root)/versions/$(pyenv versions --bare | grep -E "^$pyver\." | sort -V | tail -n1)/bin/python
    [ -x "$p" ] && { echo "$p"; return 0; }
  fi
  return 1
}
python=$(find_python) || { echo "ensure_env.sh: Python $pyver not found (install it, e.g. with pyenv)" >&2; exit 1; }
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet uv >&2
fi
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$pyver'.split('.')))" 2>/dev/null; then
  # A changed lock file or setup.py: install the new pins into the existing environment (others may be using it,
  # so it is not deleted; a package dropped from the lock stays installed until the venv is recreated).
  echo "ensure_env.sh: updating $venv to $(basename "$req") (lock or setup.py changed)" >&2
else
  echo "ensure_env.sh: creating $venv with $python" >&2
  rm -rf "$venv"
  uv venv --quiet --python "$python" "$venv" >&2
fi
VIRTUAL_ENV="$venv" uv pip install --quiet --python "$venv/bin/python" -r "$req" >&2
VIRTUAL_ENV="$venv" uv pip install --quiet --python "$venv/bin/python" --no-deps -e "$root" >&2
rm -f "$venv"/.installed-*
touch "$stamp"
echo "$venv"
