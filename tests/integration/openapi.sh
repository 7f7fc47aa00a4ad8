# tests/integration/openapi.sh — every API answer a test receives, checked against hub/openapi.json.
# Source it after scripts/lib.sh and assert.sh, then:
#   openapi_record DIR   from now on, every GET that curl sends to /v1/…, /lens/v1/… or /api/v1/… is
#                        recorded in DIR (request, status, headers, body) as well as answered as usual
#   openapi_validate     one python run validates every recorded answer (tests/tools/openapi_check.py:
#                        path to template, status to response, content type, body to schema); one check
#                        line per answer that disagrees, and one summing them up
# The recording wraps curl in a shell function that sends the request once (so counters the test reads
# from /metrics see the same requests) and gives the caller what it asked for: the body on stdout or in
# -o FILE, the headers of -D FILE (or -D -), and the -w text (%{http_code} and %{content_type}).

FL_OAS_DIR=""
FL_OAS_DOC="$FL_ROOT/hub/openapi.json"
FL_OAS_CHECK="$FL_ROOT/tests/tools/openapi_check.py"

openapi_record() {
	FL_OAS_DIR=$1
	mkdir -p "$FL_OAS_DIR"
}

# curl ARGS…: the real curl, recording API GETs while openapi_record is on (see above).
curl() {
	if [ -z "$FL_OAS_DIR" ]; then
		command curl "$@"
		return
	fi
	local orig=("$@") args=() out="" wfmt="" dump="" method=GET url=""
	while [ $# -gt 0 ]; do
		case "$1" in
		-o | --output) out=$2 && shift 2 ;;
		-w | --write-out) wfmt=$2 && shift 2 ;;
		-D | --dump-header) dump=$2 && shift 2 ;;
		-X | --request) method=$2 && args+=("$1" "$2") && shift 2 ;;
		-H | --header | -d | --data | --data-raw | -m | --max-time | --connect-timeout | -u | -A)
			args+=("$1" "$2") && shift 2 ;;
		-I | --head) method=HEAD && args+=("$1") && shift ;;
		http://* | https://*) url=$1 && args+=("$1") && shift ;;
		*) args+=("$1") && shift ;;
		esac
	done
	if [ "$method" != GET ] || ! [[ "$url" =~ ^https?://[^/]+/(v1|lens/v1|api/v1)/ ]]; then
		command curl "${orig[@]}"
		return
	fi
	local base rc
	base=$(mktemp "$FL_OAS_DIR/a.XXXXXXXX")
	command curl "${args[@]}" -D "$base.h" -o "$base.b" -w '%{http_code}\n%{content_type}\n' >"$base.s"
	rc=$?
	printf '%s\n%s\n' "$method" "$url" >"$base.r"
	local status ctype
	status=$(sed -n 1p "$base.s")
	ctype=$(sed -n 2p "$base.s")
	if [ -n "$dump" ]; then
		if [ "$dump" = - ]; then cat "$base.h"; else cp "$base.h" "$dump"; fi
	fi
	if [ -z "$out" ] || [ "$out" = - ]; then
		cat "$base.b"
	elif [ "$out" != /dev/null ]; then
		cp "$base.b" "$out"
	fi
	if [ -n "$wfmt" ]; then
		wfmt=${wfmt//'%{http_code}'/$status}
		wfmt=${wfmt//'%{response_code}'/$status}
		printf '%b' "${wfmt//'%{content_type}'/$ctype}"
	fi
	return $rc
}

# openapi_validate: validates every answer openapi_record kept: one check line that they all match (with the
# problems listed when not), one that there were some. FL_OAS_KEEP=DIR keeps a copy of them.
openapi_validate() {
	local report rc n
	report=$(python3 "$FL_OAS_CHECK" "$FL_OAS_DOC" --dir "$FL_OAS_DIR" 2>&1)
	rc=$?
	[ -n "${FL_OAS_KEEP:-}" ] && mkdir -p "$FL_OAS_KEEP" && cp "$FL_OAS_DIR"/a.* "$FL_OAS_KEEP"/
	[ $rc -ne 0 ] && head -40 <<<"$report"
	n=$(sed -n 's/^validated \([0-9]*\) answers.*/\1/p' <<<"$report")
	check_eq "every API answer this test received matches hub/openapi.json" "0" "$rc"
	check_eq "the test recorded API answers to validate" true "$([ "${n:-0}" -gt 0 ] && echo true || echo false)"
}
