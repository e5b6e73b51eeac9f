"""Prompt and parameter optimisation scenarios for loop_test.py (issue 9 item 4).

  prompt  opt-prompt.json: arms p-base and p-concise differ only in prompt template; the
          simulator gives 'concise' +0.06 quality. An A/B experiment (primary quality,
          guardrail error_rate) created before the run must conclude for p-concise
          (Postgres: concluded, winner v1) and its arm must graduate through the canary
          ramp (a decision whose reason reads '-> promoted' for p-concise).
  tuner   opt-tuner.json: arms t0..t2 of one model, differing only in the temperature the
          tuner gives them; the simulator's quality peaks at 0.35. From 1.2 the tuner's
          incumbent must end within 0.25 of 0.35, and every published temperature must lie
          in the configured range [0, 1.5].
"""
import os
import re
import subprocess

import psycopg

BEST_T, START_T, LO, HI = 0.35, 1.2, 0.0, 1.5


def before_sim(case, llmopt, dsn, log):
    if case != "prompt":
        return
    for args in (["experiment", "create", "e-prompt", "route=chat", "primary=quality",
                  "guardrail=error_rate", "min_samples=300", "max_duration=30m",
                  "variant=control:p-base:0.5:control", "variant=v1:p-concise:0.5"],
                 ["experiment", "start", "e-prompt"]):
        # the controller of loop_test.py listens on loop_<pid>: the start wakes it
        r = subprocess.run([llmopt] + args + ["-X", "pg.dsn=" + dsn, "-X",
                                              "controller.notify.channel=loop_%d" % os.getpid()],
                           capture_output=True, text=True, timeout=30)
        if r.returncode:
            raise RuntimeError("llmopt %s: %s" % (" ".join(args[:2]), r.stderr))
    log("prompt: experiment e-prompt created and started (p-base vs p-concise, primary quality)")


def check(case, recs, dsn, log):
    recs = sorted(recs, key=lambda r: r["version"])
    if case == "prompt":
        with psycopg.connect(dsn) as c:
            st = c.execute("SELECT status, winner FROM llmopt.experiments WHERE "
                           "experiment_id = 'e-prompt'").fetchone()
            ev = c.execute("SELECT evaluation FROM llmopt.controller_experiments WHERE "
                           "experiment_id = 'e-prompt'").fetchone()
        steps = [round(a["weight"], 2) for r in recs for a in r["arms"]
                 if a["arm_id"] == "p-concise" and a["state"] == "canary"]
        ramp = sorted(set(steps))
        promoted = [r["version"] for r in recs
                    if "canary of arm 'p-concise'" in r["reason"] and "-> promoted" in r["reason"]]
        last = {a["arm_id"]: a for a in recs[-1]["arms"]} if recs else {}
        log("prompt: experiment %r, evaluation %s" % (st, str(ev and ev[0])[:200]))
        log("prompt: canary weights seen %s, promoted at version %s, final p-concise weight %s"
            % (ramp, promoted[:1], last.get("p-concise", {}).get("weight")))
        return (st == ("concluded", "v1") and bool(promoted) and ramp[:1] == [0.1] and
                last.get("p-concise", {}).get("weight", 0) >= 0.9 and
                last["p-concise"].get("prompt_template_id") == "concise")
    if case == "tuner":
        best, moves, temps = START_T, [], []
        for r in recs:
            for a in r["arms"]:
                if a["state"] != "disabled" and "temperature" in a["params"]:
                    temps.append(a["params"]["temperature"])
            for m in re.finditer(r"arm '(t\d)' candidate -> best: won round \d+: "
                                 r"temperature=([0-9.eE+-]+)", r["reason"]):
                best = float(m.group(2))
                moves.append((r["version"], m.group(1), best))
        proposals = len(re.findall(r"-> candidate: proposed", " ".join(r["reason"] for r in recs)))
        log("tuner: %d decisions, %d proposals, incumbent moves %s; final best temperature %.3f "
            "(simulator's best %.2f); published temperatures in [%.3f, %.3f]" %
            (len(recs), proposals, moves, best, BEST_T, min(temps or [0]), max(temps or [0])))
        return (bool(moves) and abs(best - BEST_T) <= 0.25 and
                all(LO <= t <= HI for t in temps))
    return False
