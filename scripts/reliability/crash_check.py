#!/usr/bin/env python3
"""Crash-safety check of `hearth run` (make crash-check): kill -9 at random moments, a kill while a
sidecar is being written and renamed, and a full disk — each followed by a resume that must
give exactly what an uninterrupted run gives.

    python3 scripts/reliability/crash_check.py [--kills 30] [--seed 1] [--hearth .build/release/hearth]

Needs the test clips (make test-audio) and whisper-tiny.en (make test-models); the sidecar kills
need strace, the full disk a tmpfs mount (root). Compares, per item: id, status, error stage and
message, text, segment times, text and token ids; checks one line per item after the resume, that
every sidecar present at any moment is whole (equal to the uninterrupted run's), and that no
temporary file is left. Prints the figures and writes them to WORK/crash-check.md.
"""
import argparse, json, os, random, shutil, signal, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIPS = [("samples", "jfk.wav"), ("samples", "jfk.mp3"), ("samples", "speech_espeak.flac"),
         (".build/testdata", "speech.ogg"), (".build/testdata", "stereo_44k.flac"), (".build/testdata", "spanish.wav"),
 (".build/testdata", "empty.wav"), (".build/testdata", "notaudio.wav"),
         (".build/testdata", "truncated.wav")]
SIDECARS = ["txt", "srt", "vtt", "json"]


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def essence(record):
    out = [record["id"], record["status"], record.get("stage"), record.get("message")]
    for name, result in sorted(record.get("results", {}).items()):
        out.append((name, result.get("text"),
                    [(s.get("start"), s.get("end"), s.get("text"), tuple(s.get("tokens", []))) for s in result.get("segments", [])]))
    return out


def read_results(path, allow_torn=True):
    """Records of a results file (every line must be a whole JSON record but a torn last one)."""
    if not os.path.exists(path):
        return []
    data = open(path, "rb").read()
    lines = data.split(b"\n")
    tail = lines.pop()          # after the last newline: empty, or a torn line
    if tail and not allow_torn:
        fail("%s ends with a torn line" % path)
    records = []
    for i, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except ValueError:
            fail("%s line %d is not a whole record: %r" % (path, i + 1, line[:80]))
    return records


def latest(records):
    last = {}
    for r in records:
        last[r["id"]] = r
    return last


def sidecar_files(out):
    found = {}
    for root, _, files in os.walk(out):
        for f in files:
            if f.rsplit(".", 1)[-1] in SIDECARS and not f.startswith(".") and f != "summary.json":
                p = os.path.join(root, f)
                found[os.path.relpath(p, out)] = open(p, "rb").read()
    return found


def leftovers(out):
    return sorted(os.path.relpath(os.path.join(r, f), out) for r, _, fs in os.walk(out) for f in fs if f.endswith(".tmp"))


class Check:
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work)
        self.hearth = os.path.abspath(args.hearth)
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(os.path.join(self.work, "clips"))
        for i, (folder, name) in enumerate(CLIPS):
            src = os.path.join(ROOT, folder, name)
            if not os.path.exists(src):
                fail("missing %s: run make test-audio" % src)
            shutil.copy(src, os.path.join(self.work, "clips", name))
        for k in range(3):          # more items, so kills land between many records
            shutil.copy(os.path.join(ROOT, "samples", "jfk.wav"), os.path.join(self.work, "clips", "jfk-copy-%d.wav" % k))
        self.figures = []

    def pipeline(self, out_dir, name):
        path = os.path.join(self.work, name + ".yaml")
        with open(path, "w") as f:
            f.write("inputs: [clips/]\nstages:\n  - task: transcribe\n    options: {beam_size: 1}\n"
                    "outputs:\n  directory: %s\n  sidecars: [%s]\n  csv: results.csv\n" % (out_dir, ", ".join(SIDECARS)))
        return path

    def run(self, pipeline, prefix=(), timeout=600):
        return subprocess.run(list(prefix) + [self.hearth, "run", pipeline, "--quiet"], capture_output=True, text=True, timeout=timeout)

    def compare_final(self, out, label):
        records = read_results(os.path.join(out, "results.jsonl"), allow_torn=False)
        ids = [r["id"] for r in records]
        if len(ids) != len(set(ids)):
            fail("%s: doubled records %s" % (label, sorted(i for i in ids if ids.count(i) > 1)))
        got = {r["id"]: essence(r) for r in records}
        if got != self.baseline:
            for k in sorted(set(got) | set(self.baseline)):
                if got.get(k) != self.baseline.get(k):
                    print("  differs:", k, got.get(k), "\n  expected:", self.baseline.get(k))
            fail("%s: records differ from the uninterrupted run" % label)
        if sidecar_files(out) != self.baseline_sidecars:
            fail("%s: sidecars differ from the uninterrupted run" % label)
        if leftovers(out):
            fail("%s: temporary files left: %s" % (label, leftovers(out)))

    def check_partial(self, out, label):
        """After a kill: whole lines only (but a torn last one), records equal the baseline's, sidecars whole."""
        for r in read_results(os.path.join(out, "results.jsonl")):
            if essence(r) != self.baseline.get(r["id"]):
                fail("%s: record %s differs from the uninterrupted run" % (label, r["id"]))
        for name, data in sidecar_files(out).items():
            if self.baseline_sidecars.get(name) != data:
                fail("%s: sidecar %s is torn or wrong (%d bytes)" % (label, name, len(data)))

    def baseline_run(self):
        out = os.path.join(self.work, "base")
        p = self.pipeline(out, "base")
        began = time.time()
        r = self.run(p)
        self.wall = time.time() - began
        if r.returncode != 1:
            fail("baseline run: exit %d (expected 1: three broken clips)\n%s" % (r.returncode, r.stderr))
        records = read_results(os.path.join(out, "results.jsonl"), allow_torn=False)
        self.baseline = {r["id"]: essence(r) for r in records}
        self.baseline_sidecars = sidecar_files(out)
        ok = sum(1 for r in records if r["status"] == "ok")
        self.figures.append("uninterrupted run: %d items (%d ok, %d error records), %d sidecars, %.1f s"
                            % (len(records), ok, len(records) - ok, len(self.baseline_sidecars), self.wall))

    def random_kills(self):
        rng = random.Random(self.args.seed)
        out = os.path.join(self.work, "killed")
        p = self.pipeline(out, "killed")
        kills = cycles = torn = 0
        while kills < self.args.kills:
            cycles += 1
            shutil.rmtree(out, ignore_errors=True)
            while True:
                proc = subprocess.Popen([self.hearth, "run", p, "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                delay = rng.uniform(0, self.wall * 1.05)
                try:
                    proc.wait(timeout=delay)
                    finished = True
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    finished = False
                if finished:
                    if proc.returncode != 1:
                        fail("resumed run exited %d" % proc.returncode)
                    self.compare_final(out, "cycle %d" % cycles)
                    break
                kills += 1
                results = os.path.join(out, "results.jsonl")
                if os.path.exists(results) and not open(results, "rb").read().endswith(b"\n") and os.path.getsize(results):
                    torn += 1
                self.check_partial(out, "kill %d" % kills)
        self.figures.append("random SIGKILLs (seed %d): %d kills over %d runs-to-completion, %d left a torn last line; "
                            "every resume gave the uninterrupted run's records and sidecars, one line per item, no temporary file"
                            % (self.args.seed, kills, cycles, torn))

    def sidecar_kills(self):
        if shutil.which("strace") is None:
            self.figures.append("sidecar kills: SKIPPED (strace not installed)")
            return
        out = os.path.join(self.work, "sidecar")
        p = self.pipeline(out, "sidecar")
        cases = [("during the first write() into a sidecar's temporary file (.jfk-copy-0.srt.tmp)",
                  ["-e", "trace=write", "-P", os.path.join(out, ".jfk-copy-0.srt.tmp"), "-e", "inject=write:signal=SIGKILL:when=1"]),
                 ("entering the rename() of the 5th sidecar into place",
                  ["-e", "trace=rename,renameat,renameat2", "-e", "inject=rename,renameat,renameat2:signal=SIGKILL:when=5"])]
        for label, spec in cases:
            shutil.rmtree(out, ignore_errors=True)
            r = self.run(p, prefix=["strace", "-f", "-qq", "-o", "/dev/null"] + spec)
            if r.returncode == 1:
                fail("sidecar kill %s: the run was not killed" % label)
            tmps = leftovers(out)
            self.check_partial(out, "sidecar kill " + label)
            r = self.run(p)
            if r.returncode != 1:
                fail("resume after sidecar kill: exit %d %s" % (r.returncode, r.stderr))
            self.compare_final(out, "sidecar kill " + label)
            self.figures.append("SIGKILL %s: temporary file(s) %s left, no torn sidecar; the resume completed and matched"
                                % (label, tmps or "none"))

    def disk_full(self):
        mnt = os.path.join(self.work, "small-disk")
        os.makedirs(mnt)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dk" % self.args.disk_kb, "tmpfs", mnt],
                          capture_output=True).returncode != 0:
            self.figures.append("disk full: SKIPPED (cannot mount a tmpfs here; needs root)")
            return
        try:
            out = os.path.join(mnt, "out")
            p = self.pipeline(out, "diskfull")
            r = self.run(p)
            message = [l for l in r.stderr.splitlines() if "space" in l.lower()]
            if r.returncode != 2 or not message:
                fail("disk full: exit %d, stderr %r (expected exit 2 and a 'No space left' message)" % (r.returncode, r.stderr[-500:]))
            kept = len(read_results(os.path.join(out, "results.jsonl")))
            self.check_partial(out, "disk full")
            subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
            r = self.run(p)
            if r.returncode != 1:
                fail("resume after disk full: exit %d %s" % (r.returncode, r.stderr))
            self.compare_final(out, "disk full")
            self.figures.append("disk full (%d KB tmpfs): exit 2 with \"%s\", %d whole records kept; after remounting larger the "
                                "resume completed and matched the uninterrupted run" % (self.args.disk_kb, message[0].strip()[:160], kept))
        finally:
            subprocess.run(["umount", mnt])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--disk-kb", type=int, default=40)
    ap.add_argument("--hearth", default=os.path.join(ROOT, ".build/release/hearth"))
    ap.add_argument("--work", default=os.path.join(ROOT, ".build/crash-check"))
    args = ap.parse_args()
    c = Check(args)
    began = time.time()
    c.baseline_run()
    c.random_kills()
    c.sidecar_kills()
    c.disk_full()
    c.figures.append("total check time %.0f s" % (time.time() - began))
    text = "\n".join("- " + f for f in c.figures)
    print(text)
    with open(os.path.join(c.work, "crash-check.md"), "w") as f:
        f.write(text + "\n")
    print("PASS")


if __name__ == "__main__":
    main()
