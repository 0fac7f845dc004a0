# Sourced by build steps and by the editor entrypoint. It points pip, requests,
# OpenSSL, curl and Node.js at the CA bundle given to "localai images build
# --ca-bundle", which hosts behind a TLS-inspecting proxy need. The bundle
# file is empty when no bundle was given, and then nothing is exported.
localai_ca_bundle=/usr/local/share/localai/ca-bundle.crt
if [ -s "$localai_ca_bundle" ]; then
    export PIP_CERT="$localai_ca_bundle"
    export SSL_CERT_FILE="$localai_ca_bundle"
    export REQUESTS_CA_BUNDLE="$localai_ca_bundle"
    export CURL_CA_BUNDLE="$localai_ca_bundle"
    export NODE_EXTRA_CA_CERTS="$localai_ca_bundle"
fi
unset localai_ca_bundle
