#!/bin/bash
# floor.sh: the CPU a one-row request costs each server design, against
# modelfn serve itself (prediction log off): each server alone on core 0
# with GOMAXPROCS=1, wrk -t1 -c16 on core 1 (as make bench-compare loads
# them), user and kernel CPU per request read from /proc/PID/stat. The
# designs take turns for ROUNDS rounds (default 3), as this machine's speed
# drifts; compare within a round.
#
#   testing/compare/floor/floor.sh [ROUNDS]      (from the repository root; needs wrk)
set -euo pipefail
rounds=${1:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd testing/compare/floor && go build -o "$tmp/floor" .)
go build -o "$tmp/modelfn" ./cmd/modelfn
cp -r examples/breast-cancer/bundle "$tmp/bundle"
sed -i 's/^prediction_log:/prediction_log:\n  disabled: true/' "$tmp/bundle/modelfn.yaml"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["instances"]=d["instances"][:1]; json.dump(d,open(sys.argv[2],"w"))' \
	examples/breast-cancer/request.json "$tmp/one.json"
hz=$(getconf CLK_TCK)

# measure NAME URL CMD...: one wrk run against CMD once it answers.
measure() {
	local name=$1 url=$2
	shift 2
	GOMAXPROCS=1 taskset -c 0 "$@" >/dev/null 2>&1 &
	local pid=$!
	for _ in $(seq 50); do curl -s -o /dev/null -d @"$tmp/one.json" "$url" && break; sleep 0.1; done
	taskset -c 1 wrk -t1 -c16 -d2s -s testing/compare/wrk/post.lua "$url" -- "$tmp/one.json" >/dev/null # warm up
	read -r u0 s0 < <(awk '{print $14, $15}' /proc/$pid/stat)
	local out
	out=$(taskset -c 1 wrk -t1 -c16 -d8s -s testing/compare/wrk/post.lua "$url" -- "$tmp/one.json")
	read -r u1 s1 < <(awk '{print $14, $15}' /proc/$pid/stat)
	kill $pid
	wait $pid 2>/dev/null || true
	local n rps
	n=$(awk '/requests in/{print $1}' <<<"$out")
	rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
	awk -v name="$name" -v rps="$rps" -v n="$n" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$hz" \
		'BEGIN { printf "%-22s %10.0f req/s   user %5.2f µs   kernel %5.2f µs a request\n", name, rps, u / hz / n * 1e6, s / hz / n * 1e6 }'
}

for round in $(seq "$rounds"); do
	echo "round $round"
	measure "floor, goroutines" http://127.0.0.1:18090/predict "$tmp/floor" -design goroutines -addr 127.0.0.1:18090
	measure "floor, gnet" http://127.0.0.1:18090/predict "$tmp/floor" -design gnet -addr 127.0.0.1:18090
	measure "modelfn serve, log off" http://127.0.0.1:18090/predict "$tmp/modelfn" serve --bundle "$tmp/bundle" --addr 127.0.0.1:18090 --data "$tmp/data"
done
