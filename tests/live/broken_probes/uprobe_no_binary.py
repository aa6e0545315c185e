# expect: uprobe-not-found
from bcc import BPF

b = BPF(text="int on_call(void *ctx) { return 0; }")
b.attach_uprobe(name="/opt/no/such/app", sym="main", fn_name="on_call")  # HERE
