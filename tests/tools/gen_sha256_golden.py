#!/usr/bin/env python3
"""Writes tests/data/sha256/lengths.txt: SHA-256 (Python hashlib, an independent
implementation) of messages of length 0..200 whose byte i is (7*i + 3) mod 256.
The lengths cross every padding boundary (55, 56, 63, 64, 119, 120, 128).
One line per length: "<length> <hex digest>"."""
import hashlib
import pathlib

out = pathlib.Path(__file__).resolve().parents[1] / "data" / "sha256" / "lengths.txt"
lines = []
for n in range(201):
    msg = bytes((7 * i + 3) % 256 for i in range(n))
    lines.append(f"{n} {hashlib.sha256(msg).hexdigest()}")
out.write_text("\n".join(lines) + "\n")
