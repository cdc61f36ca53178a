#!/bin/sh
# Launcher of the civitas-postrender Helm 4 plugin (written by `civitas-postrender helm-plugin`, version 0.1.0).
# Helm writes the rendered manifests to stdin, reads the result from stdout and appends
# --post-renderer-args as arguments; exec hands all of that, and the exit code, to the tool.
# Helm 4 drops stderr: set CIVITAS_POSTRENDER_LOG=FILE to keep warnings and errors.
if command -v civitas-postrender >/dev/null 2>&1; then exec civitas-postrender "$@"; fi
message='civitas-postrender Helm plugin: cannot find civitas-postrender (looked for civitas-postrender on PATH); install it (pip install civitas-postrender) and run '"'"'civitas-postrender helm-plugin DIR'"'"' again'
printf '%s\n' "$message" >&2
if [ -n "${CIVITAS_POSTRENDER_LOG:-}" ]; then printf '%s %s\n' "$(date +%Y-%m-%dT%H:%M:%S%z)" "$message" >> "$CIVITAS_POSTRENDER_LOG"; fi
exit 1
