"""`llmopt prompt variants` end to end on files (tests/unit/prompt_transform.cmake).

  prompt_variants_test.py LLMOPT_BIN

1. all five transformations on a base arm: five new arms '<base>.<name>' with templates
   '<tmpl>.<name>' are added, the base arm's params are kept, the policy still loads in
   the controller's parser (the tool checks), the printed experiment shares sum to 1;
2. a base template that is only filler: 'conciseness' is refused with "produced an empty
   prompt", exit 1, and neither file changes (all or nothing);
3. 'examples' without examples=FILE is refused; an unknown transformation is a usage error;
4. running it twice refuses the arm ids already taken.
"""
import json
import os
import subprocess
import sys
import tempfile


def main():
    llmopt = sys.argv[1]
    d = tempfile.mkdtemp(prefix="pvtest")
    pol, tmpl, ex = (os.path.join(d, n) for n in ("policy.json", "templates.json", "ex.json"))
    json.dump({"routes": [{"route": "chat", "arms": [
        {"id": "mini", "provider": "p", "model": "m", "params": {"temperature": 0.7},
         "prompt_template_id": "sum"},
        {"id": "fill", "provider": "p", "model": "m", "prompt_template_id": "filler"}]}]},
        open(pol, "w"))
    json.dump({"templates": {"sum": "Please summarise the text. Be very brief.\nText: {{input}}",
                             "filler": "Please. Kindly, just!"}}, open(tmpl, "w"))
    json.dump([{"input": "a", "output": "b"}], open(ex, "w"))
    fails = []

    def run(*args):
        return subprocess.run([llmopt, "prompt", "variants"] + list(args), capture_output=True,
                              text=True, timeout=30)

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            fails.append(what)

    r = run("policy=" + pol, "route=chat", "base=mini", "templates=" + tmpl, "examples=" + ex)
    check(r.returncode == 0, "five variants: exit 0 (%s)" % r.stderr.strip())
    arms = {a["id"]: a for a in json.load(open(pol))["routes"][0]["arms"]}
    names = ["conciseness", "clarity", "specificity", "examples", "structure"]
    check(all("mini." + n in arms for n in names), "five arms added: %s" % sorted(arms))
    check(all(arms["mini." + n]["prompt_template_id"] == "sum." + n and
              arms["mini." + n]["params"] == {"temperature": 0.7} for n in names if "mini." + n in arms),
          "arms carry their template and the base params")
    t = json.load(open(tmpl))["templates"]
    check(t.get("sum.conciseness") == "Summarise the text. Be brief.\nText: {{input}}",
          "conciseness text: %r" % t.get("sum.conciseness"))
    check(all(t.get("sum." + n) for n in names), "five templates added")
    line = [x for x in r.stdout.splitlines() if "experiment create" in x]
    shares = [float(v.split(":")[2]) for v in line[0].split() if v.startswith("variant=")] if line else []
    check(len(shares) == 6 and abs(sum(shares) - 1) < 1e-6, "experiment shares %r sum to 1" % shares)

    before = (open(pol).read(), open(tmpl).read())
    r = run("policy=" + pol, "route=chat", "base=fill", "templates=" + tmpl,
            "transforms=conciseness,clarity")
    check(r.returncode == 1 and "transformation 'conciseness' produced an empty prompt" in r.stderr,
          "filler-only base refused: %s" % r.stderr.strip())
    check((open(pol).read(), open(tmpl).read()) == before, "nothing written after a refusal")
    r = run("policy=" + pol, "route=chat", "base=fill", "templates=" + tmpl, "transforms=examples")
    check(r.returncode == 1 and "needs at least one example" in r.stderr,
          "examples without examples refused: %s" % r.stderr.strip())
    r = run("policy=" + pol, "route=chat", "base=mini", "templates=" + tmpl, "transforms=brevity")
    check(r.returncode == 2 and "unknown transformation 'brevity'" in r.stderr,
          "unknown transformation: %s" % r.stderr.strip())
    r = run("policy=" + pol, "route=chat", "base=mini", "templates=" + tmpl, "transforms=clarity")
    check(r.returncode == 1 and "already has an arm 'mini.clarity'" in r.stderr,
          "second run refuses taken ids: %s" % r.stderr.strip())
    print("PASS" if not fails else "FAIL: %d checks" % len(fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
