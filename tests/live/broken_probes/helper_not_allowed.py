# expect: helper-not-allowed
from bcc import BPF

PROGRAM = r"""
int probe(struct __sk_buff *skb) {
    u32 word = 0;
    bpf_skb_load_bytes(skb, 0, &word, sizeof(word)); // HERE
    return word;
}
"""

BPF(text=PROGRAM).load_func("probe", BPF.TRACEPOINT)
