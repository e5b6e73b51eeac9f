#!/usr/bin/env python3
"""Golden files for the gateway's choose() and cache-key rules.

An independent reference of the rules written in
gateway/include/llmopt_gateway.h ("Choosing an arm", "Cache"), in plain
Python floats and hashlib. Writes:
  tests/data/gateway/choose_golden.txt
      one case per line:
      n now_ms u  (weight state cooldown_until_or_-1) * n  ->  index propensity
      index -1 means "no eligible weight" (the decision's default arm)
  tests/data/gateway/cache_keys.txt
      route <TAB> prompt-as-hex <TAB> normalised-as-hex <TAB> sha256 hex
Run: .venv/bin/python tests/tools/gen_gw_golden.py   (seeded, reproducible)
"""
import hashlib
import os
import random
import re

ACTIVE, DISABLED, COOLDOWN, CANARY = 0, 1, 2, 3


def eligible(state, cooldown, now):
    if state in (ACTIVE, CANARY):
        return True
    if state == COOLDOWN:
        return cooldown >= 0 and now >= cooldown
    return False


def choose(weights, states, cooldowns, now, u):
    """The documented rule: first eligible arm whose cumulative weight
    exceeds t (t = u when every arm is eligible, else u * W)."""
    el = [eligible(s, c, now) for s, c in zip(states, cooldowns)]
    total = 0.0
    last = -1
    for i, w in enumerate(weights):
        if el[i]:
            total += w
            if w > 0:
                last = i
    if last < 0 or not total > 0:
        return -1, 1.0
    every = all(el)
    t = u if every else u * total
    c = 0.0
    pick = last
    for i, w in enumerate(weights):
        if not el[i]:
            continue
        c += w
        if t < c:
            pick = i
            break
    return pick, (weights[pick] if every else weights[pick] / total)


def normalise(p: bytes) -> bytes:
    p = p.strip(b" \t\n\r\v\f")
    p = re.sub(rb"[ \t\n\r\v\f]+", b" ", p)
    return p.lower()  # bytes.lower() touches ASCII A-Z only


def main():
    rng = random.Random(20261129)
    root = os.path.join(os.path.dirname(__file__), "..", "data", "gateway")
    os.makedirs(root, exist_ok=True)
    lines = []
    for case in range(400):
        n = rng.randint(1, 8)
        states = [rng.choice([ACTIVE, ACTIVE, ACTIVE, CANARY, DISABLED, COOLDOWN])
                  for _ in range(n)]
        cooldowns = [(rng.choice([-1, 500, 1500]) if s == COOLDOWN else -1) for s in states]
        raw = [rng.random() if rng.random() > 0.15 else 0.0 for _ in range(n)]
        live = [i for i in range(n) if states[i] != DISABLED]
        if not live:
            states[0] = ACTIVE
            live = [0]
        s = sum(raw[i] for i in live)
        if s == 0:
            raw[live[0]] = 1.0
            s = 1.0
        weights = [raw[i] / s if states[i] != DISABLED else raw[i] for i in range(n)]
        # rule requires non-disabled weights to sum to 1 within 1e-6
        assert abs(sum(weights[i] for i in live) - 1.0) <= 1e-6
        now = 1000
        u = rng.random() if case % 10 else rng.choice([0.0, 1.0 - 2 ** -53, 0.5])
        idx, prop = choose(weights, states, cooldowns, now, u)
        arms = " ".join(f"{w!r} {st} {cd}" for w, st, cd in zip(weights, states, cooldowns))
        lines.append(f"{n} {now} {u!r} {arms} -> {idx} {prop!r}")
    with open(os.path.join(root, "choose_golden.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    prompts = [
        b"", b"   ", b"Hello", b"  Hello   World  ", b"\tMixed\nCASE\r\nand\x0bspaces\x0c",
        b"already normal", b"UPPER lower 123 !?", "caf\u00c9  \u00dcber".encode(),
        b"a" * 3000, b" x " * 700, b"tab\t\t\ttab", b"\x00nul inside\x00",
    ]
    routes = ["chat", "summarise", "r"]
    with open(os.path.join(root, "cache_keys.txt"), "w") as f:
        for i, p in enumerate(prompts):
            route = routes[i % len(routes)]
            norm = normalise(p)
            key = hashlib.sha256(route.encode() + b"\n" + norm).hexdigest()
            f.write(f"{route}\t{p.hex()}\t{norm.hex()}\t{key}\n")


if __name__ == "__main__":
    main()
