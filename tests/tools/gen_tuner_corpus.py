"""Seeds for tests/fuzz/fuzz_tuner_state.c: a fresh 3-slot, 1-parameter tuner state (as
llmopt_tuner_init leaves it: best 0.5, candidates 0.9 and 0.1) plus operations, and a
2-parameter variant. Run from the repository root."""
import struct


def blob(ns, np_, slots, step=0.4):
    b = b"TUNR" + bytes([1]) + struct.pack("<IIIQB", ns, np_, 0, 0, 0)
    b += b"".join(struct.pack("<d", step) for _ in range(np_))
    for state, xs in slots:
        b += bytes([state]) + b"".join(struct.pack("<d", x) for x in xs)
        b += struct.pack("<dddQ", 0.0, 0.0, 0.0, 1 if state == 2 else 0)
    return b


ops = bytes([0, 200, 1, 250, 2, 10, 3, 255, 0, 90, 1, 90, 2, 90, 7, 200] * 8)
open("tests/fuzz/corpus/tuner_state/three_slots", "wb").write(
    bytes([1, 0]) + blob(3, 1, [(1, [0.5]), (2, [0.9]), (2, [0.1])]) + ops)
open("tests/fuzz/corpus/tuner_state/two_params", "wb").write(
    bytes([3, 1]) + blob(5, 2, [(1, [0.5, 0.5]), (2, [0.9, 0.5]), (2, [0.1, 0.5]),
                                (2, [0.5, 0.9]), (2, [0.5, 0.1])]) + ops)
