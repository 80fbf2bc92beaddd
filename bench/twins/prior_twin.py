"""PyTorch twin of the thesis prior (nn.Transformer, 6+12 layers, d_model 100, 4 heads, FF 1024,
vocab 2052, shared embedding, 100->2052 head: 5,341,084 parameters) — benchmarks only.

usage: python3 prior_twin.py --batch 4 --src 900 --tgt 900 --steps 2 [--sample-tokens 32] [--device cpu|cuda]
prints one JSON object: {"step_s", "sample_tokens_per_s" (no KV cache), "params", ...}
"""
import argparse, json, math, statistics, time
import torch
from torch import nn


class Prior(nn.Module):
    def __init__(self, vocab=2052, d=100):
        super().__init__()
        self.d = d
        self.embed = nn.Embedding(vocab, d)
        self.tf = nn.Transformer(d_model=d, nhead=4, num_encoder_layers=6, num_decoder_layers=12, dim_feedforward=1024, dropout=0.1, batch_first=True)
        self.out = nn.Linear(d, vocab)
        pe = torch.zeros(4096, d)
        pos = torch.arange(4096).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)

    def emb(self, x):
        return self.embed(x) * math.sqrt(self.d) + self.pe[: x.shape[1]]

    def forward(self, src, tgt_in):
        mask = self.tf.generate_square_subsequent_mask(tgt_in.shape[1]).to(src.device)
        return self.out(self.tf(self.emb(src), self.emb(tgt_in), tgt_mask=mask))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--src", type=int, default=900)
    p.add_argument("--tgt", type=int, default=900)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--sample-tokens", type=int, default=32)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    m = Prior().to(dev)
    opt = torch.optim.Adam(m.parameters(), lr=3e-4)
    src = torch.randint(0, 2048, (a.batch, a.src), device=dev)
    tgt = torch.randint(0, 2048, (a.batch, a.tgt), device=dev)
    tgt_in = torch.cat([torch.full((a.batch, 1), 2048, device=dev), tgt[:, :-1]], 1)
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    times = []
    for i in range(a.steps + 1):
        sync(); t0 = time.perf_counter()
        opt.zero_grad()
        logits = m(src, tgt_in)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))
        loss.backward(); opt.step(); loss.item(); sync()
        if i > 0:
            times.append(time.perf_counter() - t0)
    # sampling without a KV cache (nn.Transformer has none): recompute the prefix for each token
    m.eval()
    with torch.no_grad():
        s1 = src[:1]
        seq = torch.full((1, 1), 2048, device=dev)
        sync(); t0 = time.perf_counter()
        for _ in range(a.sample_tokens):
            logits = m(s1, seq)[:, -1, :2048]
            v, i = logits.topk(6)
            nxt = i.gather(1, torch.multinomial(torch.softmax(v, -1), 1))
            seq = torch.cat([seq, nxt], 1)
        sync(); dt = time.perf_counter() - t0
    print(json.dumps({"step_s": statistics.median(times), "sample_tokens_per_s": a.sample_tokens / dt, "params": sum(p.numel() for p in m.parameters()), "device": str(dev), "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
