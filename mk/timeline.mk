# drift/timeline (drift over time and its type) and testing/driftsim (streams
# with known drift). Their tests need only Debian's python3-sklearn (tools-apt).

.PHONY: driftsim-data timeline-controls

## driftsim-data: re-export scikit-learn's breast-cancer data for the drift simulator (output committed)
driftsim-data: tools-apt
	/usr/bin/python3 testing/driftsim/testdata/gen_dataset.py

## timeline-controls: false-episode rate of the drift-type detector on 100 control streams
timeline-controls:
	MODELFN_TIMELINE_CONTROLS=100 $(GO) test -count 1 -run TestControlFalseEpisodes -v ./drift/timeline/ | grep -E 'control streams|^(ok|FAIL|---)'

BENCH_TARGETS += timeline-controls
