"""PyTorch twin of soundtrack-lab's raw-audio VQ-VAE-2 (thesis preset) — a reference for benchmarks only.

Same structure and widths as src/models/vqvae2.ts + presets.ts (580,685 parameters): conv1d k4 s2 p1
downsampling, residual stacks of 7 dilated k3 convs + 1x1, transposed convs k4 s2 p1, two 2048x32
codebooks with straight-through, loss = MSE + codebook + 0.25 commitment. Times one Adam training step.

usage: python3 vqvae2_twin.py --batch 8 --steps 3 [--device cpu|cuda] [--threads 2] [--channels 68 --res 39]
prints one JSON object: {"step_s": median seconds, "params": count, "device": ...}
"""
import argparse, json, statistics, time
import torch
from torch import nn
import torch.nn.functional as F


class ResStack(nn.Module):
    def __init__(self, ch, res, dilations):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList([nn.Conv1d(ch, res, 3, padding=d, dilation=d), nn.Conv1d(res, ch, 1)]) for d in dilations
        )

    def forward(self, x):
        for a, b in self.layers:
            x = x + b(F.relu(a(F.relu(x))))
        return x


def encoder(cin, ch, res, dil, n):
    half = ch // 2
    layers = []
    for i in range(n):
        frm = cin if i == 0 else (half if i == 1 else ch)
        to = half if (i == 0 and n > 1) else ch
        layers += [nn.Conv1d(frm, to, 4, stride=2, padding=1), nn.ReLU()]
    layers.pop()
    layers += [nn.Conv1d(ch, ch, 3, padding=1), ResStack(ch, res, dil), nn.ReLU()]
    return nn.Sequential(*layers)


def decoder(cin, cout, ch, res, dil, n):
    half = ch // 2
    widths = [ch, cout] if n == 1 else [ch] + [ch] * (n - 2) + [half, cout]
    layers = [nn.Conv1d(cin, ch, 3, padding=1), ResStack(ch, res, dil), nn.ReLU()]
    for i in range(n):
        layers.append(nn.ConvTranspose1d(widths[i], widths[i + 1], 4, stride=2, padding=1))
        if i < n - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Quantize(nn.Module):
    def __init__(self, k, d, beta=0.25):
        super().__init__()
        self.embed = nn.Embedding(k, d)
        self.embed.weight.data.uniform_(-1 / k, 1 / k)
        self.beta = beta

    def forward(self, z):  # z: [B, D, T]
        flat = z.permute(0, 2, 1).reshape(-1, z.shape[1])
        e = self.embed.weight
        ids = (e.pow(2).sum(1)[None, :] - 2 * flat @ e.t()).argmin(1)
        q = self.embed(ids)
        loss = F.mse_loss(q, flat.detach()) + self.beta * F.mse_loss(flat, q.detach())
        q = flat + (q - flat).detach()
        return q.view(z.shape[0], z.shape[2], -1).permute(0, 2, 1), loss


class VQVAE2(nn.Module):
    def __init__(self, ch=68, res=39, d=32, k=2048, dil=(1, 2, 3, 6, 9, 18, 27)):
        super().__init__()
        self.enc_b = encoder(1, ch, res, dil, 3)
        self.enc_t = encoder(ch, ch, res, dil, 2)
        self.qconv_t = nn.Conv1d(ch, d, 1)
        self.q_t = Quantize(k, d)
        self.dec_t = decoder(d, d, ch, res, dil, 2)
        self.qconv_b = nn.Conv1d(d + ch, d, 1)
        self.q_b = Quantize(k, d)
        self.up_t = nn.Sequential(nn.ConvTranspose1d(d, d, 4, 2, 1), nn.ReLU(), nn.ConvTranspose1d(d, d, 4, 2, 1))
        self.dec = decoder(2 * d, 1, ch, res, dil, 3)

    def forward(self, x):
        hb = self.enc_b(x)
        qt, lt = self.q_t(self.qconv_t(self.enc_t(hb)))
        qb, lb = self.q_b(self.qconv_b(torch.cat([self.dec_t(qt), hb], 1)))
        out = self.dec(torch.cat([self.up_t(qt), qb], 1))
        return F.mse_loss(out, x) + lt + lb


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--channels", type=int, default=68)
    p.add_argument("--res", type=int, default=39)
    p.add_argument("--length", type=int, default=28800)
    p.add_argument("--decode", action="store_true", help="time decoding one clip from codes (no gradient) instead of a training step")
    p.add_argument("--codes", type=int, default=2048)
    p.add_argument("--dim", type=int, default=32)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    model = VQVAE2(a.channels, a.res, a.dim, a.codes).to(dev)
    if a.decode:
        model.eval()
        times = []
        with torch.no_grad():
            for i in range(a.steps + 1):
                t0 = time.perf_counter()
                qt = model.q_t.embed(torch.randint(0, a.codes, (1, a.length // 32), device=dev)).permute(0, 2, 1)
                qb = model.q_b.embed(torch.randint(0, a.codes, (1, a.length // 8), device=dev)).permute(0, 2, 1)
                out = model.dec(torch.cat([model.up_t(qt), qb], 1))
                out.sum().item()
                if i > 0:
                    times.append(time.perf_counter() - t0)
        print(json.dumps({"step_s": statistics.median(times), "params": sum(p.numel() for p in model.parameters()), "device": str(dev), "torch": torch.__version__, "threads": torch.get_num_threads()}))
        return
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    x = torch.randn(a.batch, 1, a.length, device=dev)
    times = []
    for i in range(a.steps + 1):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = model(x)
        loss.backward()
        opt.step()
        loss.item()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        if i > 0:
            times.append(time.perf_counter() - t0)
    print(json.dumps({"step_s": statistics.median(times), "params": sum(p.numel() for p in model.parameters()), "device": str(dev), "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
