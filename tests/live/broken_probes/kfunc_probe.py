# expect: fentry-unsupported
from bcc import BPF

PROGRAM = r"""
KFUNC_PROBE(do_sys_openat2, int dfd) // HERE
{
    return 0;
}
"""

BPF(text=PROGRAM)
