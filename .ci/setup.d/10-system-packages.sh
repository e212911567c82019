#!/usr/bin/env bash
# Classic TLS 1.3 peers for the fallback and robustness tests: OpenSSL and GnuTLS
# command-line tools, and iproute2 (`ip`) to bring up loopback in the private
# network namespace that gnutls-serv and selfserv run in (they cannot bind to
# 127.0.0.1 only). The classic TLS matrix (tests/tls/test_classic_matrix.py) adds
# BoringSSL through headless Chromium, NSS tstclnt/selfserv/certutil, Go crypto/tls,
# Java JSSE (a JDK: `java File.java` needs the compiler) and curl.
set -euo pipefail

missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v gnutls-serv >/dev/null 2>&1 || missing+=(gnutls-bin)
command -v gnutls-cli >/dev/null 2>&1 || missing+=(gnutls-bin)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v tstclnt >/dev/null 2>&1 || missing+=(libnss3-tools)
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
command -v go >/dev/null 2>&1 || missing+=(golang-go)
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v tshark >/dev/null 2>&1 || missing+=(tshark)   # the dissector in interop/wireshark

if [ "${#missing[@]}" -eq 0 ]; then
    echo "system packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2046
$SUDO apt-get install -y -q --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u)
