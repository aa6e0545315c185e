#!/usr/bin/env bash
# The whole check of the project, as CI runs it: set up (with the VM
# tooling and the kernel matrix's kernels, so kprobe lessons run in a
# stock-kernel VM and the learner's path is tried on 6.12 and 7.2), lint, then the
# whole pytest suite, live tests included. Extra arguments go to pytest.
# The exit status is pytest's, or 1 if pytest passed but lint did not.
set -uo pipefail

cd "$(dirname "$0")" || exit 2
./setup.sh --kernels || {
    echo "test.sh: setup failed (see above); nothing was tested." >&2
    exit 2
}

lint=0
.venv/bin/ruff check . || lint=1

.venv/bin/python -m pytest "$@"
status=$?
if [[ $status -eq 0 && $lint -ne 0 ]]; then
    echo "test.sh: the tests passed but ruff found problems (see above)." >&2
    exit 1
fi
exit $status
