#!/bin/sh
# Shared helpers for the stage-2 qube scripts (busybox sh). Sourced only by our own scripts;
# the seed's bulkhead.env is parsed here as data (IFS='=' read, a whitelist of keys, each value
# validated), never sourced or eval'd. Validated values are kept one per file under
# /run/bulkhead/env/<KEY> and /run/bulkhead/if/<i>.<field>.

BH_RUN=/run/bulkhead
BH_SEED=$BH_RUN/seed
BH_ENV=$BH_RUN/env
BH_IF=$BH_RUN/if
PATH=/sbin:/usr/sbin:/bin:/usr/bin
export PATH

say() { echo "bulkhead: $*"; }

# --- validators (return 0 when valid) ------------------------------------------------------
is_name() { # qube/host names: ^[a-z][a-z0-9-]{0,62}$
	case "$1" in [a-z]*) ;; *) return 1 ;; esac
	case "$1" in *[!a-z0-9-]*) return 1 ;; esac
	[ "${#1}" -le 63 ]
}
is_uint() { # decimal, no leading zeros, at most 5 digits
	case "$1" in '' | *[!0-9]* | 0?*) return 1 ;; esac
	[ "${#1}" -le 5 ]
}
is_ipv4() {
	case "$1" in '' | *[!0-9.]* | .* | *. | *..*) return 1 ;; esac
	_ifs=$IFS
	IFS=.
	# shellcheck disable=SC2086 # split on dots; only digits and dots here
	set -- $1
	IFS=$_ifs
	[ "$#" -eq 4 ] || return 1
	for _o in "$@"; do
		is_uint "$_o" || return 1
		[ "$_o" -le 255 ] || return 1
	done
	return 0
}
is_ipv6() { # loose: hex digits and colons, at least one colon; the kernel rejects the rest
	case "$1" in *:*) ;; *) return 1 ;; esac
	case "$1" in *[!0-9a-fA-F:]*) return 1 ;; esac
	[ "${#1}" -le 39 ]
}
is_ip() { is_ipv4 "$1" || is_ipv6 "$1"; }
is_cidr() {
	case "$1" in */*) ;; *) return 1 ;; esac
	_a=${1%/*}
	_p=${1##*/}
	is_uint "$_p" || [ "$_p" = 0 ] || return 1
	if is_ipv4 "$_a"; then
		[ "$_p" -le 32 ]
	elif is_ipv6 "$_a"; then
		[ "$_p" -le 128 ]
	else
		return 1
	fi
}
is_list() { # <validator> <space-separated values>; empty list is valid
	_v=$1
	case "$2" in *[!0-9a-fA-F.:/\ ]*) return 1 ;; esac
	set -f
	# shellcheck disable=SC2086 # split on spaces; charset checked above
	set -- $2
	set +f
	for _x in "$@"; do
		"$_v" "$_x" || return 1
	done
	return 0
}
is_mac() {
	case "$1" in
	[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]) return 0 ;;
	esac
	return 1
}
is_bool() { [ "$1" = 0 ] || [ "$1" = 1 ]; }
is_small_index() { { is_uint "$1" || [ "$1" = 0 ]; } && [ "$1" -lt 16 ]; }
is_class() {
	case "$1" in AppVM | NetVM | ProxyVM | UsbVM | DispVM | StandaloneVM | TemplateVM) return 0 ;; esac
	return 1
}

# --- env store ------------------------------------------------------------------------------
env_put() { printf '%s\n' "$2" >"$BH_ENV/$1"; }
env_get() { # <KEY> -> value or empty
	if [ -f "$BH_ENV/$1" ]; then
		read -r _val <"$BH_ENV/$1" || true
		printf '%s' "$_val"
	fi
}
if_put() { printf '%s\n' "$3" >"$BH_IF/$1.$2"; }
if_get() { # <index> <field>
	if [ -f "$BH_IF/$1.$2" ]; then
		read -r _val <"$BH_IF/$1.$2" || true
		printf '%s' "$_val"
	fi
}

bad_value() { say "error: invalid value for $1 in bulkhead.env (ignored)"; }

# parse_env <file>: validate and store every known key; unknown keys are reported and ignored.
parse_env() {
	mkdir -p "$BH_ENV" "$BH_IF"
	_cr=$(printf '\r')
	_n=0
	while IFS='=' read -r k v || [ -n "$k" ]; do
		_n=$((_n + 1))
		v=${v%"$_cr"}
		case "$k" in
		'' | '#'*) continue ;;
		esac
		case "$k" in
		QUBE | HOSTNAME)
			if is_name "$v"; then env_put "$k" "$v"; else bad_value "$k"; fi ;;
		CLASS)
			if is_class "$v"; then env_put "$k" "$v"; else bad_value "$k"; fi ;;
		IFACES | NAT_IF | CLIENT_IF | GATEWAY_IF)
			if is_small_index "$v"; then env_put "$k" "$v"; else bad_value "$k"; fi ;;
		PROBE_DEADLINE)
			if is_uint "$v" && [ "$v" -le 600 ]; then env_put "$k" "$v"; else bad_value "$k"; fi ;;
		FORWARD)
			if is_bool "$v"; then env_put "$k" "$v"; else bad_value "$k"; fi ;;
		GATEWAY)
			# Empty means "none" (a NetVM's default route comes from DHCP on its uplink).
			if [ -z "$v" ]; then continue; fi
			if is_ip "$v"; then env_put "$k" "$v"; else bad_value "$k"; fi ;;
		DNS)
			if is_list is_ip "$v"; then env_put "$k" "$v"; else bad_value "$k"; fi ;;
		DNS_UPSTREAM)
			if [ "$v" = dhcp ] || is_list is_ipv4 "$v"; then env_put "$k" "$v"; else bad_value "$k"; fi ;;
		IF[0-9]_* | IF[0-9][0-9]_*)
			_i=${k#IF}
			_i=${_i%%_*}
			_f=${k#IF"$_i"_}
			if ! is_small_index "$_i"; then
				bad_value "$k"
				continue
			fi
			case "$_f" in
			MAC)
				if is_mac "$v"; then
					if_put "$_i" mac "$(printf '%s' "$v" | tr 'A-F' 'a-f')"
				else bad_value "$k"; fi ;;
			ADDRS)
				if is_list is_cidr "$v"; then if_put "$_i" addrs "$v"; else bad_value "$k"; fi ;;
			DHCP)
				if is_bool "$v"; then if_put "$_i" dhcp "$v"; else bad_value "$k"; fi ;;
			*) say "warning: unknown key on line $_n of bulkhead.env (ignored)" ;;
			esac
			;;
		*) say "warning: unknown key on line $_n of bulkhead.env (ignored)" ;;
		esac
	done <"$1"
}

# uptime in whole seconds (monotonic enough for deadlines)
now() {
	read -r _up _rest </proc/uptime
	printf '%s' "${_up%%.*}"
}
