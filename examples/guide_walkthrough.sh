#!/usr/bin/env bash
# The walkthrough of the OVHcloud guide "CLI - Launch and share an AI Notebook
# with tokens" (May 2021), with `localai` in place of `ovhai`:
#
#   1. run a notebook and wait for RUNNING; anyone in the project can open it;
#   2. create a read token for the label subject=image-recognition, run a
#      notebook with that label, and open it with the token;
#   3. run a notebook with --unsecure-http and open it without credentials.
#
# Each command is printed with a leading "$", followed by its output. The
# notebooks and the token are deleted at the end, also when a step fails.
#
# The CLI finds the daemon through LOCALAI_DATA_DIR and LOCALAI_PORT, as
# always. Variables of this script:
#   LOCALAI          the CLI to run                     [default: localai]
#   FRAMEWORK        framework id                       [default: pytorch]
#   NOTEBOOK_EDITOR  editor id; the guide uses vscode   [default: jupyterlab]
#   GPUS             GPUs per notebook, as the guide's --gpu 1; 0 runs each
#                    notebook on one CPU. On a host without GPUs, start the
#                    daemon with --gpu-mode emulate     [default: 1]
set -euo pipefail

LOCALAI=${LOCALAI:-localai}
FRAMEWORK=${FRAMEWORK:-pytorch}
NOTEBOOK_EDITOR=${NOTEBOOK_EDITOR:-jupyterlab}
GPUS=${GPUS:-1}
PYTHON=${PYTHON:-python3}
STATE_DEADLINE_SECONDS=180

if [ "$GPUS" -gt 0 ]; then
    RESOURCES=(--gpu "$GPUS")
else
    RESOURCES=(--cpu 1)
fi

NOTEBOOKS=()
TOKEN_ID=""

# Print a localai command as the guide shows it, then run it.
show() {
    echo
    echo "\$ localai $*"
    "$LOCALAI" "$@"
}

# Run a localai command, print it and its output, and keep the output in OUTPUT.
capture() {
    echo
    echo "\$ localai $*"
    OUTPUT=$("$LOCALAI" "$@")
    echo "$OUTPUT"
}

json_field() {
    "$PYTHON" -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[key]
print(value)' "$1"
}

wait_running() {
    local id=$1 state deadline=$((SECONDS + STATE_DEADLINE_SECONDS))
    echo
    echo "Waiting for notebook $id to be RUNNING..."
    while true; do
        state=$("$LOCALAI" notebook get -o json "$id" | json_field status.state)
        if [ "$state" = RUNNING ]; then
            return
        fi
        if [ "$SECONDS" -gt "$deadline" ]; then
            echo "Notebook $id is $state, not RUNNING, after ${STATE_DEADLINE_SECONDS} s" >&2
            exit 1
        fi
        sleep 1
    done
}

# Print the HTTP status of GET URL, with an app token when one is given.
# --resolve maps the notebook's name to 127.0.0.1 because browsers resolve
# names under localhost themselves, but not every curl version does.
open_url() {
    local url=$1 token=${2:-} hostport host port
    hostport=${url#http://}
    hostport=${hostport%%/*}
    host=${hostport%:*}
    port=${hostport##*:}
    local args=(--silent --output /dev/null --write-out '%{http_code}'
                --resolve "$host:$port:127.0.0.1")
    if [ -n "$token" ]; then
        args+=(--header "Authorization: Bearer $token")
    fi
    echo
    echo "\$ curl ${token:+-H 'Authorization: Bearer <token>' }$url"
    echo "HTTP $(curl "${args[@]}" "$url")"
}

run_notebook() {
    capture notebook run "${RESOURCES[@]}" "$@" "$FRAMEWORK" "$NOTEBOOK_EDITOR"
    NOTEBOOK_ID=$(sed -n 's/^id: //p' <<<"$OUTPUT")
    NOTEBOOKS+=("$NOTEBOOK_ID")
}

notebook_url() {
    "$LOCALAI" notebook get -o json "$1" | json_field status.url
}

clean_up() {
    echo
    echo "Cleaning up"
    for id in "${NOTEBOOKS[@]}"; do
        show notebook delete --force "$id" || true
    done
    if [ -n "$TOKEN_ID" ]; then
        show token delete "$TOKEN_ID" || true
    fi
}
trap clean_up EXIT

echo "## Share a notebook with people in your project"
run_notebook
FIRST=$NOTEBOOK_ID
wait_running "$FIRST"
show notebook get "$FIRST"
open_url "$(notebook_url "$FIRST")"

echo
echo "## Share a notebook with people outside your project"
capture token create my-token --role read --label-selector subject=image-recognition
TOKEN=$(sed -n 's/^Token: *//p' <<<"$OUTPUT")
TOKEN_ID=$(sed -n 's/^ *ID: *//p' <<<"$OUTPUT")

run_notebook --label subject=image-recognition
LABELLED=$NOTEBOOK_ID
wait_running "$LABELLED"
show notebook get "$LABELLED"
open_url "$(notebook_url "$LABELLED")" "$TOKEN"
echo "The token does not open the first notebook, which lacks the label:"
open_url "$(notebook_url "$FIRST")" "$TOKEN"

echo
echo "## Share your notebook publicly"
run_notebook --unsecure-http
PUBLIC=$NOTEBOOK_ID
wait_running "$PUBLIC"
show notebook get "$PUBLIC"
open_url "$(notebook_url "$PUBLIC")"

echo
echo "## Stop the notebooks"
for id in "${NOTEBOOKS[@]}"; do
    show notebook stop "$id"
done
