# Installs what a fresh Debian machine lacks. Sourced by serve.sh and test.sh.

# ensure_apt PACKAGE...: installs the Debian packages that are not installed yet.
ensure_apt() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "Installing ${missing[*]} (apt)..."
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# ensure_pip MODULE=PACKAGE...: installs the PyPI packages whose module does not import.
ensure_pip() {
    local missing=()
    for pair in "$@"; do
        python3 -c "import ${pair%%=*}" 2>/dev/null || missing+=("${pair#*=}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "Installing ${missing[*]} (pip)..."
    python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}"
}

# The system libraries Telehub builds on.
ensure_build_deps() {
    ensure_apt libsqlite3-dev libssl-dev zlib1g-dev pkg-config
}
