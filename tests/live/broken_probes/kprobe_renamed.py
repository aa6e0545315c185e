# expect: kprobes-missing
# expect-with-kprobes: kprobe-not-traceable
from bcc import BPF

PROGRAM = r"""
int on_open(struct pt_regs *ctx) {
    return 0;
}
"""

b = BPF(text=PROGRAM)
b.attach_kprobe(event="sys_clone", fn_name="on_open")  # HERE: __x64_sys_clone since 4.17
