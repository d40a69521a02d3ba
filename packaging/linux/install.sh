#!/usr/bin/env bash
# Install the Chat Desktop bundle from this unpacked tarball.
#
#   ./install.sh           # for you only: ~/.local/opt, ~/.local/bin, ~/.local/share
#   sudo ./install.sh      # for everyone:  /opt, /usr/local/bin, /usr/local/share
#   ./install.sh --remove  # undo (same user as the install)
#
# It copies the chat-desktop/ folder, links the command into bin/, and installs
# the menu entry (.desktop) and the icons in the freedesktop hicolor theme.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
if [ "$(id -u)" = 0 ]; then
    opt=/opt/chat-desktop bin=/usr/local/bin share=/usr/local/share
else
    opt="$HOME/.local/opt/chat-desktop" bin="$HOME/.local/bin" share="$HOME/.local/share"
fi
sizes=(16 24 32 48 64 128 256 512)

if [ "${1:-}" = --remove ]; then
    rm -rf "$opt"
    rm -f "$bin/chat-desktop" "$share/applications/chat-desktop.desktop" \
        "$share/icons/hicolor/scalable/apps/chat-desktop.svg"
    for size in "${sizes[@]}"; do
        rm -f "$share/icons/hicolor/${size}x${size}/apps/chat-desktop.png"
    done
    echo "removed Chat Desktop from $opt"
    exit 0
fi

rm -rf "$opt"
mkdir -p "$(dirname "$opt")" "$bin" "$share/applications"
cp -a "$here/chat-desktop" "$opt"
ln -sf "$opt/chat-desktop" "$bin/chat-desktop"
# The menu entry runs the command by its full path: ~/.local/bin is not on
# every desktop session's PATH.
sed "s|^Exec=chat-desktop|Exec=$opt/chat-desktop|" "$here/chat-desktop.desktop" \
    > "$share/applications/chat-desktop.desktop"
for size in "${sizes[@]}"; do
    install -D -m 644 "$here/icons/chat-desktop-$size.png" \
        "$share/icons/hicolor/${size}x${size}/apps/chat-desktop.png"
done
install -D -m 644 "$here/icons/chat-desktop.svg" "$share/icons/hicolor/scalable/apps/chat-desktop.svg"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$share/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$share/icons/hicolor" || true
echo "installed Chat Desktop in $opt; start it from the menu or with: chat-desktop"
