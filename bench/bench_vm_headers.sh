#!/bin/bash
# Does reading the kernel headers over 9p make compiles slow in the lesson VM?
# Boots the default VM kernel once (software emulation unless KVM works) and,
# in the guest, times the same bcc compile N times with the headers read over
# 9p (the baseline), then copies the headers into the guest's RAM, bind-mounts
# them over the originals (what a "headers in RAM" step would do once per
# boot) and times the compile again. Prints the copy's cost and both medians.
#
#     bench/bench_vm_headers.sh          # 3 compiles each way, about 5 minutes
#     N=5 bench/bench_vm_headers.sh
set -euo pipefail
if [ "${1:-}" != "--guest" ]; then
    here=$(cd "$(dirname "$0")/.." && pwd)
    export PATH="$here/.venv/bin:$PATH"
    kernel=$(ls -1 /boot/vmlinuz-*-amd64 | sort -V | tail -1)
    # The course's own test: /dev/kvm can exist and still refuse (nested VMs).
    kvm=(--disable-kvm)
    (cd "$here" && .venv/bin/python -c 'import sys; from runner.live.vm import kvm_usable; sys.exit(not kvm_usable()[0])') && kvm=()
    exec vng --run "$kernel" --user root --memory 2G "${kvm[@]}" --cwd "$here" \
        --exec "N=${N:-3} bash $here/bench/bench_vm_headers.sh --guest"
fi
release=$(uname -r)
probe='from bcc import BPF; BPF(text="""#include <linux/sched.h>
#include <uapi/linux/ptrace.h>
int f(struct pt_regs *c){ struct task_struct *t = (void *)bpf_get_current_task(); return t->pid; }""")'
now() { date +%s.%N; }
compiles() {  # N compiles; prints the median in seconds
    local times=()
    for _ in $(seq "$N"); do
        local t0; t0=$(now); /usr/bin/python3 -c "$probe" >/dev/null 2>&1
        times+=("$(echo "$(now) - $t0" | bc)")
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (N + 1) / 2 ))p"
}
t0=$(now); /usr/bin/python3 -c 'import bcc'; echo "kernel $release; first import of bcc: $(echo "$(now) - $t0" | bc) s"
over_9p=$(compiles)
build=$(readlink -f "/lib/modules/$release/build"); source=$(readlink -f "/lib/modules/$release/source")
t0=$(now)
for dir in "$build" "$source"; do
    for sub in include arch/x86/include; do
        [ -d "$dir/$sub" ] || continue
        mkdir -p "/run/headers$dir/$sub"  # /run is the guest's tmpfs
        (cd "$dir/$sub" && tar cf - .) | (cd "/run/headers$dir/$sub" && tar xf -)
        mount --bind "/run/headers$dir/$sub" "$dir/$sub"
    done
done
copy=$(echo "$(now) - $t0" | bc)
in_ram=$(compiles)
echo "copy headers into RAM: $copy s ($(du -sh /run/headers | cut -f1))"
echo "compile median of $N, headers over 9p (baseline): $over_9p s"
echo "compile median of $N, headers in RAM: $in_ram s"
echo "ratio in RAM / over 9p: $(echo "scale=2; $in_ram / $over_9p" | bc)"
