#!/usr/bin/env bash
# Install the benchmark peers (benchmarks/requirements.txt) on a fresh machine.
#
# LightFM 1.17 ships only as an sdist whose setup.py runs `__builtins__.__LIGHTFM_SETUP__ = True`;
# current setuptools build backends execute setup.py with `__builtins__` as a dict, so the build
# fails with "AttributeError: 'dict' object has no attribute '__LIGHTFM_SETUP__'". This script
# downloads the sdist, replaces that line with `import builtins; builtins.__LIGHTFM_SETUP__ = True`
# and builds it without build isolation (Cython, setuptools and wheel come first). Needs a C
# compiler (gcc). Usage: bash benchmarks/install_peers.sh [python]
set -euo pipefail

PYTHON="${1:-python}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$PYTHON" -m pip install cython setuptools wheel
"$PYTHON" -m pip download --no-deps --no-binary :all: --no-build-isolation lightfm==1.17 -d "$WORK"
tar -xzf "$WORK"/lightfm-1.17.tar.gz -C "$WORK"
SETUP="$WORK/lightfm-1.17/setup.py"
grep -q '^__builtins__.__LIGHTFM_SETUP__ = True$' "$SETUP" || {
    echo "install_peers.sh: $SETUP no longer has the line to patch; check it by hand." >&2
    exit 1
}
sed -i 's/^__builtins__.__LIGHTFM_SETUP__ = True$/import builtins; builtins.__LIGHTFM_SETUP__ = True/' \
    "$SETUP"
"$PYTHON" -m pip install --no-build-isolation "$WORK/lightfm-1.17"
# Everything else in the requirements (implicit: a manylinux wheel); lightfm is now satisfied.
"$PYTHON" -m pip install -r "$HERE/requirements.txt"
"$PYTHON" -c "import lightfm, implicit; from lightfm._lightfm_fast import fit_warp; print('peers ok: lightfm', lightfm.__version__, '/ implicit', implicit.__version__)"
