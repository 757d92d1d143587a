#!/usr/bin/python3
"""Trains xinfer's demo model: a small Llama on the King James Bible, from Debian packages only.

Stages, all seeded (see README.md for the commands and the figures of the shipped run):

1. corpus    `bible "Gen1:1-Rev22:21"` (Debian's bible-kjv), verse references stripped, one verse
             a line; the last HELD_OUT_FRACTION of the verses are held out.
2. tokenizer SentencePiece BPE with byte fallback on the training verses, <unk>=0, <s>=1, </s>=2
             as Llama's. BPE, not unigram: its scores are merge ranks, with which llama.cpp's
             score-greedy merging tokenizes exactly as SentencePiece does.
3. model     Llama: RMSNorm, grouped-query attention with rotate-half (Hugging Face) RoPE,
             SwiGLU, no biases, tied embeddings. Each chapter is one document, <s> … </s>, its
             verses joined by spaces; training reads random windows of the token stream.
4. dump      into --out: model.json (config, tensor index, run figures), model.bin (each tensor
             in Hugging Face layout as little-endian f32), vocab.json (piece, score, llama.cpp
             token type per id), tokenizer.model. `src/export.ts` writes the GGUF from these.

Run with Debian's interpreter (/usr/bin/python3: python3-torch, python3-sentencepiece,
libopenblas0-pthread). Not part of CI: about 40 minutes on two quiet cores.
"""

import argparse
import hashlib
import json
import math
import os
import random
import re
import subprocess
import sys
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F
from torch import nn

SEED = 1611
HELD_OUT_FRACTION = 0.03
PROMPTS = ["In the beginning", "And the LORD said"]
VERSE = re.compile(r"^\s+(\d+) (.*)$")
CHAPTER = re.compile(r"^\S.* \d+$")

# llama.cpp's token types (llama_token_type / gguf.TokenType).
NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6


def log(*args):
    print(*args, flush=True)


# --- 1. corpus --------------------------------------------------------------------------------


def read_kjv():
    """[(chapter, verse text)] in canonical order, references stripped, whitespace collapsed."""
    out = subprocess.run(
        ["bible", "Gen1:1-Rev22:21"], capture_output=True, text=True, check=True
    ).stdout
    verses = []
    chapter = None
    after_blank = True
    for line in out.splitlines():
        if not line.strip():
            after_blank = True
            continue
        verse = VERSE.match(line)
        if verse:
            verses.append([chapter, verse[2]])
        elif after_blank and CHAPTER.match(line):
            chapter = line.strip()
        elif verses:
            verses[-1][1] += " " + line  # a verse wrapped onto the next line
        else:
            raise ValueError(f"unexpected line before the first verse: {line!r}")
        after_blank = False
    return [(c, " ".join(v.split())) for c, v in verses]


def chapters(verses):
    """Consecutive verses of one chapter joined by spaces: one document each."""
    docs = []
    for chapter, text in verses:
        if docs and docs[-1][0] == chapter:
            docs[-1][1].append(text)
        else:
            docs.append((chapter, [text]))
    return [" ".join(texts) for _, texts in docs]


# --- 2. tokenizer -----------------------------------------------------------------------------


def train_tokenizer(train_verses, out_dir, vocab_size):
    text_path = os.path.join(out_dir, "train-verses.txt")
    with open(text_path, "w", encoding="utf-8") as f:
        for _, text in train_verses:
            f.write(text + "\n")
    prefix = os.path.join(out_dir, "tokenizer")
    spm.SentencePieceTrainer.train(
        input=text_path,
        model_prefix=prefix,
        model_type="bpe",
        vocab_size=vocab_size,
        byte_fallback=True,
        character_coverage=1.0,
        # As Llama's tokenizer: no normalization, a space prepended, spaces kept as they are.
        normalization_rule_name="identity",
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        num_threads=1,
        minloglevel=2,
    )
    return spm.SentencePieceProcessor(model_file=prefix + ".model")


def vocabulary(sp):
    """Each id's piece, score and llama.cpp token type, as llama.cpp's converter reads them."""
    out = []
    for i in range(sp.get_piece_size()):
        if sp.is_unknown(i):
            kind = UNKNOWN
        elif sp.is_control(i):
            kind = CONTROL
        elif sp.is_byte(i):
            kind = BYTE
        else:
            kind = NORMAL
        out.append({"piece": sp.id_to_piece(i), "score": sp.get_score(i), "type": kind})
    return out


def token_stream(sp, docs):
    ids = []
    for doc in docs:
        ids.append(sp.bos_id())
        ids.extend(sp.encode(doc))
        ids.append(sp.eos_id())
    return torch.tensor(ids, dtype=torch.long)


# --- 3. model ---------------------------------------------------------------------------------


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim, length, theta):
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(length, dtype=torch.float32), inv_freq)
    angles = torch.cat([angles, angles], dim=-1)  # rotate-half: pair i with i + head_dim/2
    return angles.cos(), angles.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.kv_heads = c["n_heads"], c["n_kv_heads"]
        self.head_dim = c["dim"] // c["n_heads"]
        self.q_proj = nn.Linear(c["dim"], self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(c["dim"], self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(c["dim"], self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, c["dim"], bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # Query head h reads KV head h // (heads / kv_heads), as Hugging Face and llama.cpp do.
        group = self.heads // self.kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        # One fused kernel for mask + scale · q·kᵀ: on two CPU cores attention's elementwise
        # passes over the (t × t) scores cost as much as all the matmuls.
        scores = torch.baddbmm(
            mask,
            q.reshape(b * self.heads, t, self.head_dim),
            k.reshape(b * self.heads, t, self.head_dim).transpose(1, 2),
            alpha=1 / math.sqrt(self.head_dim),
        )
        y = scores.softmax(-1) @ v.reshape(b * self.heads, t, self.head_dim)
        return self.o_proj(y.view(b, self.heads, t, self.head_dim).transpose(1, 2).reshape(b, t, -1))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c["dim"], c["ffn_dim"], bias=False)
        self.up_proj = nn.Linear(c["dim"], c["ffn_dim"], bias=False)
        self.down_proj = nn.Linear(c["ffn_dim"], c["dim"], bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["dim"], c["norm_eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["dim"], c["norm_eps"])
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    """Hugging Face's LlamaForCausalLM, its parameter names included, with tied embeddings."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["dim"])
        self.layers = nn.ModuleList(Block(c) for _ in range(c["n_layers"]))
        self.norm = RMSNorm(c["dim"], c["norm_eps"])
        cos, sin = rope_tables(c["dim"] // c["n_heads"], c["context_length"], c["rope_theta"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                # GPT-2's init: residual projections shrink with depth.
                residual = name.endswith(("o_proj.weight", "down_proj.weight"))
                std = 0.02 / math.sqrt(2 * c["n_layers"]) if residual else 0.02
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, ids):
        t = ids.shape[1]
        mask = torch.full((t, t), float("-inf")).triu(1)
        cos, sin = self.cos[:t], self.sin[:t]
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.norm(x) @ self.embed_tokens.weight.T

    def hf_tensors(self):
        """(Hugging Face name, f32 array) in GGUF order; the output projection is tied."""
        out = [("model.embed_tokens.weight", self.embed_tokens.weight)]
        for i, layer in enumerate(self.layers):
            p = f"model.layers.{i}."
            out += [
                (p + "input_layernorm.weight", layer.input_layernorm.weight),
                (p + "self_attn.q_proj.weight", layer.self_attn.q_proj.weight),
                (p + "self_attn.k_proj.weight", layer.self_attn.k_proj.weight),
                (p + "self_attn.v_proj.weight", layer.self_attn.v_proj.weight),
                (p + "self_attn.o_proj.weight", layer.self_attn.o_proj.weight),
                (p + "post_attention_layernorm.weight", layer.post_attention_layernorm.weight),
                (p + "mlp.gate_proj.weight", layer.mlp.gate_proj.weight),
                (p + "mlp.up_proj.weight", layer.mlp.up_proj.weight),
                (p + "mlp.down_proj.weight", layer.mlp.down_proj.weight),
            ]
        out.append(("model.norm.weight", self.norm.weight))
        return [(n, t.detach().float().contiguous().numpy()) for n, t in out]


@torch.no_grad()
def greedy(model, sp, prompt, count):
    """<s> + prompt, then `count` greedy tokens (fewer at </s>): the ids and their text."""
    model.eval()
    ids = [sp.bos_id()] + sp.encode(prompt)
    out = []
    for _ in range(count):
        logits = model(torch.tensor([ids[-model.c["context_length"] :]]))[0, -1]
        token = int(logits.argmax())
        if token == sp.eos_id():
            break
        ids.append(token)
        out.append(token)
    model.train()
    return out, sp.decode(out)


@torch.no_grad()
def held_out_loss(model, stream, ctx, batch):
    """Mean next-token cross-entropy (nats) over the stream in consecutive windows of ctx."""
    model.eval()
    n = (len(stream) - 1) // ctx
    x = stream[: n * ctx].view(n, ctx)
    y = stream[1 : n * ctx + 1].view(n, ctx)
    total = 0.0
    for i in range(0, n, batch):
        logits = model(x[i : i + batch])
        total += F.cross_entropy(logits.flatten(0, 1), y[i : i + batch].flatten(), reduction="sum").item()
    model.train()
    return total / (n * ctx)


# --- 4. dump ----------------------------------------------------------------------------------


def dump(model, sp, out_dir, run):
    index = []
    offset = 0
    with open(os.path.join(out_dir, "model.bin"), "wb") as f:
        for name, array in model.hf_tensors():
            data = array.astype("<f4").tobytes()
            index.append({"name": name, "shape": list(array.shape), "offset": offset})
            f.write(data)
            offset += len(data)
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump({"config": model.c, "tensors": index, "run": run}, f, indent=2)
    with open(os.path.join(out_dir, "vocab.json"), "w") as f:
        json.dump(vocabulary(sp), f, ensure_ascii=False)


# --- main -------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("--steps", type=int, default=1100)
    ap.add_argument("--batch", type=int, default=8, help="sequences per step (8: the scores fit in cache)")
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ffn-dim", type=int, default=768)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()

    verses = read_kjv()
    corpus = "\n".join(text for _, text in verses)
    n_held = round(len(verses) * HELD_OUT_FRACTION)
    train_verses, held_verses = verses[:-n_held], verses[-n_held:]
    log(f"corpus: {len(verses)} verses, {len(corpus)} characters, sha256 {hashlib.sha256(corpus.encode()).hexdigest()}")
    log(f"held out: the last {n_held} verses, from {held_verses[0][0]}")

    sp = train_tokenizer(train_verses, args.out, args.vocab)
    train = token_stream(sp, chapters(train_verses))
    held = token_stream(sp, chapters(held_verses))
    log(f"tokenizer: {sp.get_piece_size()} pieces; tokens: {len(train)} train, {len(held)} held out")
    log("  'In the beginning' ->", sp.encode("In the beginning", out_type=str))

    c = {
        "vocab_size": sp.get_piece_size(),
        "dim": args.dim,
        "n_layers": args.layers,
        "n_heads": args.heads,
        "n_kv_heads": args.kv_heads,
        "ffn_dim": args.ffn_dim,
        "context_length": args.context,
        "rope_theta": 10000.0,
        "norm_eps": 1e-5,
    }
    model = Llama(c)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {json.dumps(c)}; {n_params} parameters (embeddings tied)")

    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.95),
    )

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        progress = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    gen = torch.Generator().manual_seed(SEED)
    ctx, batch = args.context, args.batch
    history = []
    train_started = time.time()
    running = None
    for step in range(args.steps):
        starts = torch.randint(0, len(train) - ctx - 1, (batch,), generator=gen)
        x = torch.stack([train[s : s + ctx] for s in starts])
        y = torch.stack([train[s + 1 : s + ctx + 1] for s in starts])
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        done = step + 1
        if done % 25 == 0:
            elapsed = time.time() - train_started
            rate = done * batch * ctx / elapsed
            log(f"step {done}/{args.steps} loss {running:.3f} lr {lr_at(step):.2e} "
                f"{rate:.0f} tok/s {elapsed / 60:.1f} min")
        if done % args.eval_every == 0 or done == args.steps:
            loss_held = held_out_loss(model, held, ctx, batch)
            history.append({"step": done, "train_loss": running, "held_out_loss": loss_held})
            log(f"== step {done}: held-out loss {loss_held:.3f} (perplexity {math.exp(loss_held):.1f})")
            for prompt in PROMPTS:
                log(f"   {prompt!r} -> {greedy(model, sp, prompt, 40)[1]!r}")

    samples = {}
    for prompt in PROMPTS:
        ids, text = greedy(model, sp, prompt, 64)
        samples[prompt] = {"prompt_ids": [sp.bos_id()] + sp.encode(prompt), "ids": ids, "text": text}
    run = {
        "seed": SEED,
        "corpus_sha256": hashlib.sha256(corpus.encode()).hexdigest(),
        "verses": len(verses),
        "held_out_verses": n_held,
        "held_out_from": held_verses[0][0],
        "train_tokens": len(train),
        "held_out_tokens": len(held),
        "parameters": n_params,
        "steps": args.steps,
        "batch": batch,
        "tokens_seen": args.steps * batch * ctx,
        "epochs": args.steps * batch * ctx / len(train),
        "held_out_loss": history[-1]["held_out_loss"],
        "train_loss": history[-1]["train_loss"],
        "history": history,
        "samples": samples,
        "train_minutes": (time.time() - train_started) / 60,
        "total_minutes": (time.time() - started) / 60,
        "torch": torch.__version__,
        "sentencepiece": spm.__version__,
        "args": vars(args),
    }
    dump(model, sp, args.out, run)
    torch.save({"config": c, "state": model.state_dict(), "run": run}, os.path.join(args.out, "checkpoint.pt"))
    log(f"done in {run['total_minutes']:.1f} min: {args.out}")
    log(json.dumps({k: v for k, v in run.items() if k not in ("history",)}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
