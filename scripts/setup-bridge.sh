#!/bin/sh
# Give a host without one a Linux bridge vmbr0 for guests (idempotent, needs root):
#  - an isolated bridge with 10.81.0.1/24, or the first free 10.8x.0.0/24 when that subnet
#    is in use on the host; no DHCP server: guests take static addresses;
#  - net.ipv4.ip_forward=1 and the nftables table `inet berth-nat` masquerading the subnet
#    out of every other interface.
# A vmbr0 this script did not make (no ifalias "berth-nat") is left as it is. One made here is
# only checked, and repaired where a piece is missing; re-running changes nothing.
# Prints one line saying what it did.
set -eu

BRIDGE=vmbr0
ALIAS=berth-nat
TABLE=berth-nat

say() {
	echo "berth: $*"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "berth: setup-bridge.sh must run as root" >&2
	exit 1
fi
for cmd in ip nft; do
	if ! command -v "$cmd" >/dev/null 2>&1; then
		echo "berth: setup-bridge.sh needs '$cmd' (packages iproute2 and nftables)" >&2
		exit 1
	fi
done

# one run at a time (make run and make test may start together)
if command -v flock >/dev/null 2>&1; then
	exec 9>/run/berth-setup-bridge.lock
	flock 9
fi

# ---- IPv4 prefix arithmetic (shell integers are 64 bits in dash and bash) ----

ip2int() {
	# shellcheck disable=SC2046 # split into the four octets
	set -- $(echo "$1" | tr '.' ' ')
	echo $(($1 * 16777216 + $2 * 65536 + $3 * 256 + $4))
}

# overlaps A/LEN B/LEN: do the two prefixes share an address?
overlaps() {
	a=$(ip2int "${1%/*}")
	alen=${1#*/}
	b=$(ip2int "${2%/*}")
	blen=${2#*/}
	len=$alen
	[ "$blen" -lt "$len" ] && len=$blen
	[ "$len" -eq 0 ] && return 0
	mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
	[ $((a & mask)) -eq $((b & mask)) ]
}

# every IPv4 prefix the host uses: its addresses and its routes in every table, except
# default routes (they overlap everything and are what NAT goes out through)
host_prefixes() {
	ip -4 -o addr show | awk '{ for (i = 1; i < NF; i++) if ($i == "inet") print $(i + 1) }'
	ip -4 route show table all | awk '
		{ d = $1 }
		d ~ /^(unicast|local|broadcast|multicast|blackhole|unreachable|prohibit|throw|nat|anycast)$/ { d = $2 }
		d == "default" || d !~ /^[0-9.]+(\/[0-9]+)?$/ { next }
		{ print (d ~ /\//) ? d : d "/32" }'
}

subnet_in_use() {
	for p in $(host_prefixes); do
		if overlaps "$1" "$p"; then
			return 0
		fi
	done
	return 1
}

# ---- an existing vmbr0 ----

if ip link show dev "$BRIDGE" >/dev/null 2>&1; then
	kind=$(ip -d -o link show dev "$BRIDGE" | grep -o ' bridge ' | tr -d ' ' || true)
	alias=$(cat "/sys/class/net/$BRIDGE/ifalias" 2>/dev/null || true)
	addrs=$(ip -4 -o addr show dev "$BRIDGE" |
		awk '{ for (i = 1; i < NF; i++) if ($i == "inet") printf "%s%s", s, $(i + 1); s = " " }')
	if [ "$alias" != "$ALIAS" ]; then
		say "found $BRIDGE (${kind:-not a bridge}, ${addrs:-no IPv4 address}): left untouched"
		exit 0
	fi
	cidr=${addrs%% *}
	if [ -z "$cidr" ]; then
		echo "berth: $BRIDGE carries our alias '$ALIAS' but has no address; delete it" \
			"(ip link del $BRIDGE) and run this again" >&2
		exit 1
	fi
	created=
else
	# ---- choose a free 10.8x.0.0/24 and make the bridge ----
	cidr=
	for x in 1 2 3 4 5 6 7 8 9 0; do
		if ! subnet_in_use "10.8$x.0.0/24"; then
			cidr="10.8$x.0.1/24"
			break
		fi
	done
	if [ -z "$cidr" ]; then
		echo "berth: every subnet 10.80.0.0/24 .. 10.89.0.0/24 is in use on this host;" \
			"create $BRIDGE yourself" >&2
		exit 1
	fi
	ip link add "$BRIDGE" type bridge stp_state 0 forward_delay 0
	ip link set dev "$BRIDGE" alias "$ALIAS"
	ip addr add "$cidr" dev "$BRIDGE"
	created=1
fi

gw=${cidr%/*}
subnet="${gw%.*}.0/${cidr#*/}"
done_what=

if ! ip -o link show dev "$BRIDGE" | grep -q '[<,]UP[,>]'; then
	ip link set dev "$BRIDGE" up
	done_what="$done_what, brought it up"
fi

if [ "$(cat /proc/sys/net/ipv4/ip_forward)" != 1 ]; then
	echo 1 >/proc/sys/net/ipv4/ip_forward
	done_what="$done_what, enabled net.ipv4.ip_forward"
fi

rule="ip saddr $subnet oifname != \"$BRIDGE\" masquerade"
if ! nft list table inet "$TABLE" 2>/dev/null | grep -qF "$rule"; then
	# declare, delete and recreate in one transaction: atomic, and it replaces a stale
	# table (another subnet) as well as creating a missing one
	nft -f - <<EOF
table inet $TABLE
delete table inet $TABLE
table inet $TABLE {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		$rule
	}
}
EOF
	done_what="$done_what, added NAT (nftables table inet $TABLE)"
fi

hint="guests: static ${gw%.*}.x/${cidr#*/} gw $gw"
if [ -n "$created" ]; then
	say "created bridge $BRIDGE $cidr$done_what; $hint"
elif [ -n "$done_what" ]; then
	say "bridge $BRIDGE $cidr (made by berth) repaired:${done_what#,}; $hint"
else
	say "bridge $BRIDGE $cidr with NAT already set up; $hint"
fi
