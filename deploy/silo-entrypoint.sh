#!/bin/sh
# Container entry point of a silo. Orleans needs an IP address to advertise to the other silos
# (Cluster:AdvertisedAddress is parsed as an IP), but in a container the natural thing to
# configure is a name. This resolves Cluster__AdvertisedAddress when it is a host name, and
# defaults it to this container's own host name, then starts the silo.
set -eu

is_ip() {
    case "$1" in
        '') return 1 ;;
        *:*) return 0 ;;           # IPv6
        *[!0-9.]*) return 1 ;;     # has a character an IPv4 address cannot have
        *) return 0 ;;
    esac
}

name="${Cluster__AdvertisedAddress:-${HOSTNAME:-$(cat /etc/hostname)}}"
if is_ip "$name"; then
    address="$name"
else
    # /etc/hosts maps the container's host name to its address; other names go to DNS.
    address="$(getent ahostsv4 "$name" | { read -r first _ || true; echo "${first:-}"; })"
    if [ -z "$address" ]; then
        echo "rootcause: cannot resolve '$name' to an IPv4 address for Cluster__AdvertisedAddress" >&2
        exit 1
    fi
fi
case "$address" in
    127.*) echo "rootcause: warning: '$name' resolves to loopback $address; other silos cannot reach this one there" >&2 ;;
esac
export Cluster__AdvertisedAddress="$address"
echo "rootcause: advertising $Cluster__AdvertisedAddress to the cluster (from '$name')" >&2

exec dotnet /app/RootCause.Silo.dll "$@"
