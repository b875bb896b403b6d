# Sourced by the scripts that need Python tools:
#   pinned_venv DIR NAME==VERSION...
# makes the venv DIR when missing and installs each package that is missing
# or at another version, touching nothing else.
pinned_venv() {
    local venv="$1" spec missing=()
    shift
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    for spec in "$@"; do
        "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('${spec%%==*}') != '${spec#*==}')" 2>/dev/null \
            || missing+=("$spec")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        "$venv/bin/pip" install --quiet "${missing[@]}"
    fi
}
