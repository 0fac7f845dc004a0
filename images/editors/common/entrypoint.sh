#!/bin/sh
# Entrypoint of editor images: exports the CA variables when the image was
# built with a CA bundle, marks the workspace as initialised, then replaces
# itself with the editor command (exec), so that stop signals reach the editor.
set -eu

. /usr/local/share/localai/ca-env.sh

if [ ! -e /workspace/.workspace.initialized ]; then
    touch /workspace/.workspace.initialized
fi

exec "$@"
