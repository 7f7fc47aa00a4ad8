#!/usr/bin/env bash
# The console's browser test over frames from real spokes: console_test.sh with FL_FIXTURE=spokes (one
# fleetlens-spoke --once per cluster, sim source, instead of rows written with psql). Screenshots in
# $FL_ARTIFACTS/browser-spokes.
FL_FIXTURE=spokes exec bash "$(dirname "$0")/console_test.sh" "$@"
