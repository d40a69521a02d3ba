#!/usr/bin/env bash
# docs/operators.md, "Several servers", followed on one machine and checked with
# two real app windows: two chat-server processes behind Debian's nginx, alice
# and bob signed in on different servers, messages both ways, one server
# killed with -9, messages both ways again. Screenshots of both windows after
# the kill go to $OUT (default docs/screenshots/cluster-*.png).
#
# Needs root on a Debian machine with PostgreSQL on 127.0.0.1:5432 (trust or
# password authentication for a new role) and Redis on 127.0.0.1:6379, and:
#   apt-get install nginx xvfb xdotool x11-apps netpbm libxcb-cursor0 libxcb-icccm4 \
#       libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0
# It touches neither port 80 nor the system's nginx: nginx runs Debian's
# nginx.conf copied under $WORK, with the guide's chat.conf in its conf.d.
# Unlike the guide, it runs the servers as root from a virtualenv under $WORK
# (no chat-server user, no systemd), on ports of its own and with Redis
# database 14. Everything it started, and its database, is removed at the end.
#
#   bash scripts/cluster_by_hand.sh            # from the checkout
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The desktop app (an install with the desktop extra): chat-desktop on PATH, or APP=...
APP=${APP:-$(command -v chat-desktop || true)}
[ -n "$APP" ] || { echo "no chat-desktop on PATH: set APP=/path/to/chat-desktop" >&2; exit 1; }
WORK=${WORK:-/tmp/chat-cluster-by-hand}
OUT=${OUT:-$ROOT/docs/screenshots}
NAME=chat_by_hand                      # PostgreSQL role and database, made and dropped here
PORTS=(18801 18802)
NGINX_PORT=18880
REDIS=redis://127.0.0.1:6379/14        # a database number of its own (chat-server --help)
DISPLAY_NUMBER=:57
export DISPLAY=$DISPLAY_NUMBER

say() { printf '\n== %s\n' "$*"; }
pids=()
cleanup() {
    set +e
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    [ -f "$WORK/nginx/nginx.pid" ] && kill "$(cat "$WORK/nginx/nginx.pid")"
    sleep 2
    su postgres -c "dropdb --if-exists --force $NAME" && su postgres -c "dropuser --if-exists $NAME"
    redis-cli -n "${REDIS##*/}" flushdb >/dev/null
}
trap cleanup EXIT

rm -rf "$WORK" && mkdir -p "$WORK"

say "the servers' install: a virtualenv with the cluster extra (guide: 'The servers')"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "$ROOT[cluster]"
export PATH=$WORK/venv/bin:$PATH

say "PostgreSQL (guide: 'PostgreSQL')"
su postgres -c "createuser $NAME"
su postgres -c "createdb -O $NAME $NAME"
su postgres -c "psql -q -c \"ALTER USER $NAME PASSWORD 'by-hand-password'\""
DB=postgresql://$NAME:by-hand-password@127.0.0.1/$NAME

say "Redis (guide: 'Redis')"
redis-cli ping
redis-cli -n "${REDIS##*/}" flushdb

say "two servers (guide: 'The servers')"
for port in "${PORTS[@]}"; do
    chat-server --host 127.0.0.1 --port "$port" --name "Office chat $port" \
        --data-dir "$WORK/chat-server-$port" --db "$DB" --redis "$REDIS" \
        --files-dir "$WORK/chat-files" --trusted-proxy 127.0.0.1 --no-discovery \
        >"$WORK/server-$port.log" 2>&1 &
    pids+=($!)
    echo "server $port: pid $!"
done

say "nginx (guide: 'nginx'): Debian's nginx.conf under $WORK, the guide's site in its conf.d"
ETC=$WORK/etc-nginx
cp -a /etc/nginx "$ETC"
sed -i -e "s#/etc/nginx#$ETC#g" -e "s#/run/nginx.pid#$WORK/nginx/nginx.pid#" \
    -e "s#/var/log/nginx#$WORK/nginx/logs#g" "$ETC/nginx.conf"
mkdir -p "$WORK/nginx/logs"
sed -e "s/@LISTEN@/127.0.0.1:$NGINX_PORT/" \
    -e "s/@SERVERS@/server 127.0.0.1:${PORTS[0]};\n    server 127.0.0.1:${PORTS[1]};/" \
    "$ROOT/packaging/nginx/chat.conf" | tee "$ETC/conf.d/chat.conf" >/dev/null
rm -f "$ETC/sites-enabled/default"
NGINX=(nginx -p "$WORK/nginx" -e "$WORK/nginx/logs/error.log" -c "$ETC/nginx.conf")
"${NGINX[@]}" -t
"${NGINX[@]}"
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$NGINX_PORT/api/v1/health" && break; sleep 0.2; done
echo

say "accounts on the shared database (guide: section 2, with --db)"
echo "alice-password-1" | chat-server user add alice --db "$DB"
echo "bob-password-22" | chat-server user add bob --db "$DB"

say "two app windows under Xvfb, pointed at nginx"
Xvfb "$DISPLAY_NUMBER" -screen 0 1600x760x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.2; done
declare -A app_pid
launch() {  # launch USER: the app with its own data folder (the token is kept there)
    "$APP" --server "http://127.0.0.1:$NGINX_PORT" --data-dir "$WORK/app-$1" >"$WORK/app-$1.log" 2>&1 &
    app_pid[$1]=$!
    pids+=($!)
}
window() {  # window USER TITLE-PART: the app's window id, waiting for it
    local id=""
    for _ in $(seq 100); do
        id=$(xdotool search --all --onlyvisible --pid "${app_pid[$1]}" --name "$2" 2>/dev/null | head -n1) || true
        [ -n "$id" ] && break
        sleep 0.2
    done
    [ -n "$id" ] || { echo "no '$2' window for $1" >&2; exit 1; }
    echo "$id"
}
place() {  # place USER: the main window side by side with the other one (no window manager)
    local w x=0
    w=$(window "$1" general)
    [ "$1" = bob ] && x=810
    xdotool windowsize "$w" 790 740 windowmove "$w" "$x" 0
    sleep 0.5
}
type_into() {  # type_into WINDOW X Y TEXT: the pointer gives the focus without a window manager
    xdotool mousemove --window "$1" "$2" "$3" click 1
    sleep 0.3
    xdotool key ctrl+a
    xdotool type --delay 20 "$4"
}
sign_in() {  # sign_in USER PASSWORD
    local w
    local x=0
    w=$(window "$1" "Sign in")
    [ "$1" = bob ] && x=810
    xdotool windowmove "$w" "$x" 0
    sleep 0.3
    type_into "$w" 280 140 "$1"
    type_into "$w" 280 176 "$2"
    xdotool key Return
    place "$1"
}
send() {  # send USER TEXT: typed into the composer, sent with Enter
    local w
    w=$(window "$1" general)
    type_into "$w" 300 680 "$2"
    xdotool key Return
    sleep 1
}
server_of() {  # server_of USER: the port of the server whose log last said USER connected
    local port line last="" on=none
    for port in "${PORTS[@]}"; do
        line=$(grep -E " (dis)?connect $1 from" "$WORK/server-$port.log" | tail -n1) || true
        # Each log line starts with its time: the latest line of the two logs wins
        # (a killed server never logs the disconnect).
        if [ -n "$line" ] && [[ -z $last || $line > $last ]]; then last=$line on=$port; fi
    done
    [[ $last == *" connect $1 from"* ]] && echo "$on" || echo none
}
quit_app() {  # quit_app USER: Ctrl+Q in its window, as a user would
    local w
    w=$(window "$1" general)
    # A click first: without a window manager, Qt makes the window active on it.
    xdotool mousemove --window "$w" 100 400 click 1
    xdotool key ctrl+q
    for _ in $(seq 50); do kill -0 "${app_pid[$1]}" 2>/dev/null || return 0; sleep 0.2; done
    echo "$1's app did not quit on Ctrl+Q" >&2
    kill "${app_pid[$1]}"
}
wait_for_server() {  # wait_for_server USER: until one server's log has USER connected
    for _ in $(seq 50); do [ "$(server_of "$1")" != none ] && return; sleep 0.2; done
}
wait_for_no_server() {  # wait_for_no_server USER: until the server's log has USER gone
    for _ in $(seq 50); do [ "$(server_of "$1")" = none ] && return; sleep 0.2; done
}

launch alice
sign_in alice alice-password-1
wait_for_server alice
launch bob
sign_in bob bob-password-22
wait_for_server bob
# nginx's round robin decides where a socket lands; bob signs out of the app
# and comes back (the token is kept) until he is on the other server than alice.
for _ in $(seq 8); do
    [ "$(server_of bob)" != "$(server_of alice)" ] && break
    quit_app bob
    wait_for_no_server bob
    launch bob
    place bob
    wait_for_server bob
done
echo "alice is on server $(server_of alice), bob on server $(server_of bob)"
[ "$(server_of bob)" != "$(server_of alice)" ] || echo "(both on one server: round robin was unkind)"

say "messages both ways, across the two servers"
send alice "Hello Bob, alice here (server $(server_of alice))"
send bob "Hi Alice, bob here (server $(server_of bob))"

say "kill -9 bob's server"
victim=$(server_of bob)
for i in "${!PORTS[@]}"; do
    [ "${PORTS[$i]}" = "$victim" ] && kill -9 "${pids[$i]}" && echo "killed server $victim (pid ${pids[$i]})"
done
killed_at=$(date +%s.%N)
for _ in $(seq 100); do
    now=$(server_of bob)
    [ "$now" != "$victim" ] && [ "$now" != none ] && break
    sleep 0.1
done
echo "bob reconnected through nginx to server $(server_of bob)," \
    "$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $killed_at }") s after the kill (polled every 0.1 s)"

say "messages both ways after the kill"
send bob "Still here after server $victim was killed"
send alice "Got it, bob. Nothing lost on my side."
sleep 2

say "screenshots of both windows"
mkdir -p "$OUT"
for user in alice bob; do
    xwd -silent -id "$(window "$user" general)" | xwdtopnm 2>/dev/null | pnmtopng >"$OUT/cluster-$user.png"
    echo "$OUT/cluster-$user.png"
done

say "what the servers said"
tail -n 8 "$WORK"/server-*.log
say "the apps' consoles (empty when all is well)"
cat "$WORK"/app-*.log

say "stopping everything and dropping $NAME"
for user in alice bob; do quit_app "$user"; done
