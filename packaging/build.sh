#!/usr/bin/env bash
# Build the self-contained bundles with PyInstaller, into dist/ at the repository root.
#
#   bash packaging/build.sh            # both: the desktop app and the server
#   bash packaging/build.sh desktop    # only dist/chat-desktop/
#   bash packaging/build.sh server     # only dist/chat-server/
#
# Needs the project installed with its packaging extra in the Python that runs
# it (default: python3 on PATH, or set PYTHON=/path/to/venv/bin/python):
#   pip install -e '.[packaging]'
# PyInstaller builds for the system it runs on: run this on Linux for the
# Linux bundles, on Windows (Git Bash) for the Windows ones.
#
# On Linux it also packs, beside each folder, a tarball ready to hand out:
#   dist/chat-desktop-VERSION-linux-ARCH.tar.gz  (the app, .desktop file, icons, install.sh)
#   dist/chat-server-VERSION-linux-ARCH.tar.gz   (the server, systemd unit and env file)
# It runs each built program with --version, then both for real
# (packaging/smoke.py: the app signs in to the server), so a broken bundle
# fails here, with a non-zero exit.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
DIST="$ROOT/dist"
WORK="$ROOT/build/pyinstaller"
what="${1:-all}"

case "$what" in
    all) targets=(desktop server) ;;
    desktop | server) targets=("$what") ;;
    *) echo "usage: $0 [all|desktop|server]" >&2; exit 2 ;;
esac

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "PyInstaller is missing: $PYTHON -m pip install -e '$ROOT[packaging]'" >&2
    exit 1
fi
version="$("$PYTHON" -c 'import chat_desktop; print(chat_desktop.__version__)')"
arch="$(uname -m)"
cd "$ROOT"

for target in "${targets[@]}"; do
    name="chat-$target"
    echo "== building $name $version"
    "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
        --distpath "$DIST" --workpath "$WORK" "packaging/$name.spec"
    # The app must answer --version without a display (the CI machine has none).
    QT_QPA_PLATFORM=offscreen "$DIST/$name/$name" --version
done

# More than --version: the server serves and signs users in, the desktop app
# (offscreen) signs in to it, both exit 0 on SIGTERM. The desktop check needs
# the server bundle, so a desktop-only build stops at --version.
if [ -x "$DIST/chat-server/chat-server" ] && [[ " ${targets[*]} " == *" server "* ]]; then
    smoke=(--server "$DIST/chat-server/chat-server")
    if [[ " ${targets[*]} " == *" desktop "* ]]; then
        smoke+=(--desktop "$DIST/chat-desktop/chat-desktop")
    fi
    "$PYTHON" packaging/smoke.py "${smoke[@]}"
fi

[ "$(uname -s)" = Linux ] || exit 0

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

for target in "${targets[@]}"; do
    name="chat-$target"
    top="$stage/$name-$version"
    mkdir -p "$top"
    cp -a "$DIST/$name" "$top/$name"
    if [ "$target" = desktop ]; then
        cp packaging/linux/chat-desktop.desktop packaging/linux/install.sh "$top/"
        mkdir -p "$top/icons"
        "$PYTHON" packaging/render_icons.py "$top/icons" >/dev/null
        cp resources/icons/app.svg "$top/icons/chat-desktop.svg"
        rm -f "$top/icons/chat-desktop.ico"
    else
        cp packaging/systemd/chat-server.service packaging/systemd/chat-server.env "$top/"
        cp docs/operators.md "$top/README.md"
    fi
    tarball="$DIST/$name-$version-linux-$arch.tar.gz"
    tar -C "$stage" -czf "$tarball" "$name-$version"
    echo "== $tarball"
done
