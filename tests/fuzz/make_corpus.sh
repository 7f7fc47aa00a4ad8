#!/usr/bin/env bash
# tests/fuzz/make_corpus.sh [DIR] — regenerates the seed corpus of fuzz_frame (default: the folder
# corpus/ beside this script). Valid frames come from fl-frame-tool (FL_BIN, default build/bin) signed
# with its built-in test key, the key fuzz_frame.c verifies with; the ack and the malformed seeds are
# written byte by byte here. Every seed is deterministic, so a rerun gives the same files.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here/corpus}
tool=${FL_BIN:-$root/build/bin}/fl-frame-tool
[ -x "$tool" ] || { echo "error: $tool not found: build the fl-frame-tool target first" >&2; exit 1; }
mkdir -p "$out"

common=(--cluster gpu-a --spoke spoke-1 --sent-ms 1764000000000)
"$tool" make "${common[@]}" --seq 1 --kind full --nodes 2 --gpus-per-node 1 -o "$out/full-2nodes"
"$tool" make "${common[@]}" --seq 2 --kind delta --nodes 1 --gpus-per-node 1 \
	--remove node-00005 --remove node-00006 -o "$out/delta-removed"
"$tool" make "${common[@]}" --seq 3 --kind heartbeat -o "$out/heartbeat"
"$tool" make "${common[@]}" --seq 4 --kind node --host gpu-node-1 --gpus-per-node 2 --jobs 2 -o "$out/node-jobs"
"$tool" make "${common[@]}" --seq 5 --kind node --host gpu-node-1 --gpus-per-node 2 --jobs 2 --job-monitor \
	-o "$out/node-job-monitor"

# A full frame whose one workload belongs to a SaFE workload (FORMAT.md 3.9 safe_workload_id), written by
# hand (fl-frame-tool makes no workloads) and signed here with the same test key.
env='\x86\xa1v\x01\xa7cluster\xa5gpu-a\xa5spoke\xa7spoke-1\xa3seq\x05\xa4sent\x00\xa4kind\xa4full'
wl='\x84\xa3uid\xa2u1\xa4kind\xaaPyTorchJob\xa4name\xa5llm-a\xb0safe_workload_id\xa5llm-a'
body="$env\\x81\\xa9workloads\\x91$wl"
{
	printf '\x93'
	printf "$body"
	printf '\xc4\x20'
	printf "$body" | openssl dgst -sha256 -mac HMAC -macopt key:fl-frame-tool-default-test-key-0123456789 -binary
} >"$out/full-safe-workload"

# {"seq":7,"status":"ok","full":true,"reason":""}
printf '\x84\xa3seq\x07\xa6status\xa2ok\xa4full\xc3\xa6reason\xa0' >"$out/ack-full"
# {"seq":8,"status":"retry","reason":"db down"} (no "full": a hub before issue 4)
printf '\x83\xa3seq\x08\xa6status\xa5retry\xa6reason\xa7db down' >"$out/ack-no-full"

# malformed
head -c 100 "$out/full-2nodes" >"$out/bad-truncated"
printf '\xdd\x01\x00\x00\x00' >"$out/bad-array32-header"
{ for _ in $(seq 40); do printf '\x91'; done; printf '\xc0'; } >"$out/bad-deep-nesting"
printf '\x93\xdb\x7f\xff\xff\xff' >"$out/bad-huge-str-header"
printf '\x93\x90\x80\xa3sig' >"$out/bad-wrong-types" # [[], {}, "sig"]
# the heartbeat of FORMAT.md section 6 without its signature (the pre-issue-4 format)
hb='\x86\xa1v\x01\xa7cluster\xa1a\xa5spoke\xa1b\xa3seq\x05\xa4sent\x00\xa4kind\xa9heartbeat\x80'
printf "\\x92$hb" >"$out/bad-unsigned"
{ printf "\\x93$hb\\xc4\\x1f"; head -c 31 /dev/zero; } >"$out/bad-sig-31-bytes"
printf '\x93\x86\xa1v\x01\xa7cluster\xa1a\xa5spoke\xa1b\xa3seq\xa15\xa4sent\x00\xa4kind\xa9heartbeat\x80\xc4\x20' \
	>"$out/bad-seq-string"
head -c 32 /dev/zero >>"$out/bad-seq-string"
echo "$(ls "$out" | wc -l) seeds in $out" >&2
