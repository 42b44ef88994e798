#!/usr/bin/env bash
# postfix-peer.sh starts Debian's Postfix as the peer relay of the Outbox
# bench, in a private instance of its own: its own main.cf, master.cf,
# queue and data directories under one state directory, listening on
# 127.0.0.1 only, relaying everything to the bench's sink, delivering
# nothing locally. The system's Postfix configuration (/etc/postfix) and
# instance are never touched; if Postfix is missing, the package is
# installed without configuration and whatever system instance its
# installation started is stopped again.
#
#   bench/postfix-peer.sh start PORT SINKPORT [DIR]   # then:
#   go run ./bench --peer 127.0.0.1:PORT --sink-addr 127.0.0.1:SINKPORT
#   bench/postfix-peer.sh stop [DIR]                  # stops it, removes DIR
#
# DIR defaults to ${TMPDIR:-/tmp}/outbox-postfix-peer. Start the peer before
# the bench (it does not connect to the sink until mail arrives); its log
# is DIR/postfix.log, its configuration DIR/etc. Postfix reports setup
# errors only on a terminal or in that log. Needs root, as Postfix's master
# does.
set -euo pipefail

usage() {
	echo "usage: $0 start PORT SINKPORT [DIR] | stop [DIR]" >&2
	exit 2
}

default_dir="${TMPDIR:-/tmp}/outbox-postfix-peer"

# ensure_postfix installs the postfix package when it is missing, with no
# configuration, and stops any system instance the installation started.
ensure_postfix() {
	if command -v postfix >/dev/null 2>&1 || [ -x /usr/sbin/postfix ]; then
		return
	fi
	if ! apt-cache policy postfix 2>/dev/null | grep -q 'Candidate: [0-9]'; then
		apt-get update -qq
	fi
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix </dev/null
	# The package's scripts may have started the system instance (they do
	# when a main.cf exists); stop it, as it was not running before.
	if [ -f /etc/postfix/main.cf ] && /usr/sbin/postfix status >/dev/null 2>&1; then
		/usr/sbin/postfix stop || true
	fi
}

# write_config writes the private instance's main.cf and master.cf in
# DIR/etc (apart from the queue, which Postfix's own checks want).
write_config() {
	local dir=$1 port=$2 sinkport=$3
	mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
	chown postfix "$dir/data"
	cat >"$dir/etc/main.cf" <<CF
# Private Postfix instance for the Outbox bench (written by postfix-peer.sh).
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = peer.bench.invalid
mydomain = bench.invalid
myorigin = \$myhostname
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
local_recipient_maps =
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
relayhost = [127.0.0.1]:$sinkport
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtp_dns_support_level = disabled
biff = no
maillog_file_prefixes = $dir
maillog_file = $dir/postfix.log
CF
	cat >"$dir/etc/master.cf" <<CF
# service          type  private unpriv chroot wakeup maxproc command
127.0.0.1:$port    inet  n       -      n      -      -       smtpd
pickup             unix  n       -      n      60     1       pickup
cleanup            unix  n       -      n      -      0       cleanup
qmgr               unix  n       -      n      300    1       qmgr
tlsmgr             unix  -       -      n      1000?  1       tlsmgr
rewrite            unix  -       -      n      -      -       trivial-rewrite
bounce             unix  -       -      n      -      0       bounce
defer              unix  -       -      n      -      0       bounce
trace              unix  -       -      n      -      0       bounce
verify             unix  -       -      n      -      1       verify
flush              unix  n       -      n      1000?  0       flush
proxymap           unix  -       -      n      -      -       proxymap
proxywrite         unix  -       -      n      -      1       proxymap
smtp               unix  -       -      n      -      -       smtp
relay              unix  -       -      n      -      -       smtp
showq              unix  n       -      n      -      -       showq
error              unix  -       -      n      -      -       error
retry              unix  -       -      n      -      -       error
discard            unix  -       -      n      -      -       discard
anvil              unix  -       -      n      -      1       anvil
scache             unix  -       -      n      -      1       scache
postlog            unix-dgram n  -      n      -      1       postlogd
CF
}

# wait_port waits up to 30 s for a listener on 127.0.0.1:port.
wait_port() {
	local port=$1
	for _ in $(seq 1 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

cmd=${1:-}
case "$cmd" in
start)
	[ $# -ge 3 ] || usage
	port=$2 sinkport=$3 dir=${4:-$default_dir}
	[ "$(id -u)" = 0 ] || { echo "$0: Postfix's master runs as root: run this as root" >&2; exit 1; }
	case "$dir" in /etc/postfix*) echo "$0: refusing to use $dir" >&2; exit 1 ;; esac
	ensure_postfix
	if [ -f "$dir/etc/main.cf" ] && postfix -c "$dir/etc" status >/dev/null 2>&1; then
		echo "$0: a peer is already running in $dir; stop it first" >&2
		exit 1
	fi
	write_config "$dir" "$port" "$sinkport"
	postfix -c "$dir/etc" check
	postfix -c "$dir/etc" start
	if ! wait_port "$port"; then
		echo "$0: Postfix did not listen on 127.0.0.1:$port; see $dir/postfix.log" >&2
		exit 1
	fi
	echo "Postfix peer on 127.0.0.1:$port relaying to 127.0.0.1:$sinkport (state in $dir)"
	;;
stop)
	dir=${2:-$default_dir}
	case "$dir" in /etc/postfix*) echo "$0: refusing to use $dir" >&2; exit 1 ;; esac
	if [ -f "$dir/etc/main.cf" ]; then
		postfix -c "$dir/etc" stop 2>/dev/null || true
		for _ in $(seq 1 100); do
			postfix -c "$dir/etc" status >/dev/null 2>&1 || break
			sleep 0.1
		done
		rm -rf "$dir"
	fi
	echo "Postfix peer stopped"
	;;
*)
	usage
	;;
esac
