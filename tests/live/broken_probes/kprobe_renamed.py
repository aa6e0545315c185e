# expect: kprobes-missing
# expect-with-kprobes: kprobe-not-traceable
from bcc import BPF

PROGRAM = r"""
int on_open(struct pt_regs *ctx) {
    return 0;
}
"""

b = BPF(text=PROGRAM)
b.attach_kprobe(event="do_sys_open", fn_name="on_open")  # HERE: renamed in 5.6
