#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
#   summarize.sh LOG
#
# Print the "N passed, N failed, N skipped" line that the selftest payload
# of run-selftests.sh writes to the rig's serial log (the last one if there
# are several).  Exit 1 if LOG has none.
set -euo pipefail

log=${1:?usage: summarize.sh LOG}
line=$(grep -a -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n1 || true)
if [[ -z $line ]]; then
	echo "summarize: no summary line in $log" >&2
	exit 1
fi
echo "$line"
