#!/usr/bin/env python3
"""A real one-machine Slurm cluster running docs/slurm-array.sh (make slurm-check).

    HEARTH=.build/release/hearth python3 scripts/reliability/slurm_check.py [--work .build/slurm]

Starts munged, slurmctld and slurmd (root; Debian 12 packages munge, slurmctld, slurmd,
slurm-client) with a munge key, slurm.conf and cgroup.conf written into WORK, and no file outside
it. Then, over a small archive (test clips and samples, whisper-tiny.en greedy):
  1. a single-machine `hearth run` — the reference;
  2. the pipeline as a 3-task job array (sbatch docs/slurm-array.sh), `hearth merge` of its
     shards — must equal the reference (ids, order, status, errors, texts, segments, sidecars);
  3. the array again, one task cancelled mid-run (scancel: Slurm sends SIGTERM, hearth exits 143
     keeping its records), then `scontrol requeue`d — it resumes; the merge must still be equal.
Every daemon and job process it started is stopped at exit (also on an error or a signal).
Prints PASS / FAIL per check with timings, and writes them to WORK/slurm-check.md.
"""
import argparse, ctypes, glob, os, re, shutil, signal, socket, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crash_check import essence, read_results  # noqa: E402  (the record fields compared, one parser)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIPS = [("samples", "jfk.wav"), ("samples", "jfk.mp3"), ("samples", "speech_espeak.flac"),
         (".build/testdata", "speech.ogg"), (".build/testdata", "stereo_44k.flac"), (".build/testdata", "spanish.wav"),
         (".build/testdata", "empty.wav"), (".build/testdata", "notaudio.wav"), (".build/testdata", "truncated.wav")]
COPIES = 3                 # more jfk.wav items, so a shard has several records to be cancelled between
TASKS = 3
SIDECARS = ("txt", "srt")
PROGRAMS = ["munged", "mungekey", "munge", "unmunge", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo"]
PIPELINE = """name: slurm-check
inputs:
  - path: archive
stages:
  - task: transcribe
    model: whisper-tiny.en
    options: {beam_size: 1}
outputs:
  directory: ${OUT}
  sidecars: [%s]
run:
  batch_size: 1     # a SIGTERM lets the one item in progress finish, then stops
""" % ", ".join(SIDECARS)


class CheckFailed(Exception):
    pass


class Terminated(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, timeout, interval=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise CheckFailed("timed out after %d s waiting for %s" % (timeout, what))


class Cluster:
    """munged + slurmctld + slurmd in the foreground (-F / -D), children of this process; all state in `root`."""

    def __init__(self, root):
        self.root = root
        self.conf = os.path.join(root, "slurm.conf")
        self.socket = os.path.join(root, "munge", "munge.socket")
        self.daemons = []          # (name, Popen, log path)
        self.env = dict(os.environ, SLURM_CONF=self.conf)

    def write_config(self):
        shutil.rmtree(self.root, ignore_errors=True)
        for d in ("munge", "state", "spool", "log"):
            os.makedirs(os.path.join(self.root, d))
        os.chmod(os.path.join(self.root, "munge"), 0o755)   # munged: the socket's folder must be searchable by all
        subprocess.run(["mungekey", "--create", "--keyfile", os.path.join(self.root, "munge", "munge.key")], check=True)
        cpus = os.cpu_count()
        memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20)
        self.ports = (free_port(), free_port())
        p = lambda *parts: os.path.join(self.root, *parts)
        with open(self.conf, "w") as f:
            f.write("""# Written by scripts/reliability/slurm_check.py: one node, everything under this folder.
ClusterName=hearth-check
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={socket}
StateSaveLocation={state}
SlurmdSpoolDir={spool}
SlurmctldPidFile={ctld_pid}
SlurmdPidFile={d_pid}
SlurmctldLogFile={ctld_log}
SlurmdLogFile={d_log}
# No cgroups: a container's cgroup mounts are not Slurm's to manage.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# KillWait (SIGTERM to SIGKILL) stays at its default 30 s.
SlurmctldDebug=info
SlurmdDebug=info
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=check Nodes=localhost Default=YES MaxTime=INFINITE State=UP
""".format(ctld_port=self.ports[0], d_port=self.ports[1], socket=self.socket, state=p("state"), spool=p("spool"),
           ctld_pid=p("slurmctld.pid"), d_pid=p("slurmd.pid"), ctld_log=p("log", "slurmctld.log"),
           d_log=p("log", "slurmd.log"), cpus=cpus, memory=memory_mb))
        with open(p("cgroup.conf"), "w") as f:
            f.write("# Read by Slurm but unused: proctrack/linuxproc and task/none load no cgroup plugin.\n"
                    "CgroupPlugin=autodetect\nConstrainCores=no\nConstrainRAMSpace=no\nConstrainDevices=no\n")
        return cpus, memory_mb

    def spawn(self, name, argv):
        log = os.path.join(self.root, "log", name + ".out")
        proc = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=self.env,
                                start_new_session=True)      # Ctrl-C reaches this script, which stops them in order
        self.daemons.append((name, proc, log))
        return proc

    def check_alive(self):
        for name, proc, log in self.daemons:
            if proc.poll() is not None:
                raise CheckFailed("%s exited with status %d:\n%s" % (name, proc.returncode, tail(log)))

    def start(self):
        m = os.path.join(self.root, "munge")
        self.spawn("munged", ["munged", "--foreground", "--socket", self.socket, "--key-file", os.path.join(m, "munge.key"),
                              "--log-file", os.path.join(m, "munged.log"), "--pid-file", os.path.join(m, "munged.pid"),
                              "--seed-file", os.path.join(m, "munged.seed")])
        wait_for("munged's socket", lambda: self.check_alive() or os.path.exists(self.socket), 20)
        cred = subprocess.run(["munge", "--socket", self.socket, "--no-input"], capture_output=True, check=True).stdout
        subprocess.run(["unmunge", "--socket", self.socket], input=cred, capture_output=True, check=True)
        self.spawn("slurmctld", ["slurmctld", "-D", "-f", self.conf])
        self.spawn("slurmd", ["slurmd", "-D", "-N", "localhost", "-f", self.conf])
        wait_for("sinfo to show the node idle", lambda: self.check_alive() or self.node_state() == "idle", 60, 0.5)

    def node_state(self):
        r = self.client(["sinfo", "-h", "-N", "-o", "%t"], check=False)
        return r.stdout.strip() if r.returncode == 0 else None

    def client(self, argv, check=True):
        r = subprocess.run(argv, capture_output=True, text=True, env=self.env)
        if check and r.returncode != 0:
            raise CheckFailed("%s: exit %d: %s" % (" ".join(argv), r.returncode, r.stderr.strip()))
        return r

    def tasks(self, job):
        """{array index: {JobState, ExitCode, Restarts, ...}} from `scontrol show job -o` (kept MinJobAge = 300 s)."""
        out = self.client(["scontrol", "show", "job", "-o", str(job)]).stdout
        found = {}
        for line in out.splitlines():
            fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            if "ArrayTaskId" in fields and fields["ArrayTaskId"].isdigit():
                found[int(fields["ArrayTaskId"])] = fields
        return found

    def queued(self, job):
        return self.client(["squeue", "-h", "-j", str(job), "-o", "%i %T"], check=False).stdout.split("\n")[:-1]

    def stop(self):
        """Cancel what is queued, stop the daemons (SIGTERM, then SIGKILL after 15 s), then kill any job
        process still carrying this cluster's SLURM_CONF (slurmstepd, the batch script, hearth)."""
        notes = []
        if any(name == "slurmctld" for name, proc, _ in self.daemons if proc.poll() is None):
            self.client(["scancel", "--user", "root"], check=False)
            try:
                wait_for("the queue to empty", lambda: self.client(["squeue", "-h"], check=False).stdout.strip() == "", 40, 0.5)
            except CheckFailed as e:
                notes.append(str(e))
        for name, proc, _ in reversed(self.daemons):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    notes.append("%s needed SIGKILL" % name)
        strays = self.strays()
        strays += [pid for pid in self.children() if pid not in strays]
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if strays:
            notes.append("killed %d stray job process(es) %s" % (len(strays), strays))
        self.reap()
        return notes

    @staticmethod
    def children():
        """Live children: with the subreaper flag, slurmstepd and job processes that outlived slurmd land here."""
        me = str(os.getpid())
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
                if stat[1] == me and stat[0] != "Z":
                    found.append(int(pid))
            except (OSError, IndexError):
                pass
        return found

    @staticmethod
    def reap(timeout=10):
        """Waits for every child, so no zombie slurmstepd is left behind."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                time.sleep(0.1)

    def strays(self):
        mine = ("SLURM_CONF=" + self.conf).encode()
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if int(pid) != os.getpid() and mine in open("/proc/%s/environ" % pid, "rb").read().split(b"\0"):
                    found.append(int(pid))
            except OSError:
                pass
        return found


def tail(path, lines=15):
    try:
        return "".join(open(path, errors="replace").readlines()[-lines:])
    except OSError:
        return "(no %s)" % path


class Check:
    def __init__(self, args):
        self.args = args
        self.hearth = os.path.abspath(args.hearth)
        self.cluster = Cluster(os.path.abspath(args.work))
        self.run_dir = os.path.join(self.cluster.root, "run")
        self.results = []          # (PASS / FAIL, text)
        self.figures = []

    def record(self, passed, text):
        self.results.append(("PASS" if passed else "FAIL", text))
        print("%s: %s" % self.results[-1], flush=True)
        if not passed:
            raise CheckFailed(text)

    def prepare(self):
        archive = os.path.join(self.run_dir, "archive")
        os.makedirs(archive)
        os.makedirs(os.path.join(self.run_dir, "logs"))
        for folder, name in CLIPS:
            src = os.path.join(ROOT, folder, name)
            if not os.path.exists(src):
                raise CheckFailed("missing %s: run make test-audio" % src)
            shutil.copy(src, archive)
        for k in range(COPIES):
            shutil.copy(os.path.join(ROOT, "samples", "jfk.wav"), os.path.join(archive, "jfk-copy-%d.wav" % k))
        self.pipeline = os.path.join(self.run_dir, "pipeline.yaml")
        with open(self.pipeline, "w") as f:
            f.write(PIPELINE)

    @staticmethod
    def outputs(out, results):
        """(records of out/results in file order, as compared; {sidecar path: bytes})."""
        records = [essence(r) for r in read_results(os.path.join(out, results), allow_torn=False)]
        sidecars = {}
        for path in glob.glob(os.path.join(out, "**", "*"), recursive=True):
            if path.rsplit(".", 1)[-1] in SIDECARS:
                sidecars[os.path.relpath(path, out)] = open(path, "rb").read()
        return records, sidecars

    def single_run(self):
        out = os.path.join(self.run_dir, "single")
        began = time.time()
        r = subprocess.run([self.hearth, "run", self.pipeline, "--quiet"], capture_output=True, text=True,
                           env=dict(os.environ, OUT=out), timeout=900)
        wall = time.time() - began
        self.record(r.returncode == 1, "single-machine run: exit %d (expected 1: three broken clips) in %.1f s%s"
                    % (r.returncode, wall, "" if r.returncode == 1 else "\n" + r.stderr[-2000:]))
        self.reference = self.outputs(out, "results.jsonl")
        records = self.reference[0]
        self.figures.append("single-machine run: %d items (%d ok), %d sidecars, %.1f s"
                            % (len(records), sum(r[1] == "ok" for r in records), len(self.reference[1]), wall))

    def submit(self, out):
        env = dict(self.cluster.env, OUT=out, HEARTH=self.hearth)
        # The node has nproc CPUs: one per task (docs/slurm-array.sh asks 4 and 4G, the command line overrides).
        # Append, so a requeued task's log keeps the first run's lines.
        r = subprocess.run(["sbatch", "--parsable", "--array=0-%d" % (TASKS - 1), "--cpus-per-task=1", "--mem=1G",
                            "--open-mode=append", "--chdir", self.run_dir,
                            "--output", os.path.join(self.run_dir, "logs", os.path.basename(out) + "-%A_%a.log"),
                            os.path.join(ROOT, "docs", "slurm-array.sh"), self.pipeline],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise CheckFailed("sbatch: exit %d: %s" % (r.returncode, r.stderr.strip()))
        return int(r.stdout.strip().split(";")[0])

    def log(self, out, job, index):
        return os.path.join(self.run_dir, "logs", "%s-%d_%d.log" % (os.path.basename(out), job, index))

    def wait_job(self, job, timeout=900):
        wait_for("job %d to leave the queue" % job, lambda: not self.cluster.queued(job), timeout, 0.5)
        return self.cluster.tasks(job)

    def shard_file(self, out, index):
        return os.path.join(out, "results.shard-%d-of-%d.jsonl" % (index, TASKS))

    def merge_and_compare(self, out, label):
        shards = [self.shard_file(out, i) for i in range(TASKS)]
        r = subprocess.run([self.hearth, "merge"] + shards + ["-o", os.path.join(out, "merged.jsonl")],
                           capture_output=True, text=True)
        self.record(r.returncode == 0, "%s: hearth merge of %d shards: exit %d %s" % (label, TASKS, r.returncode, r.stderr.strip()))
        records, sidecars = self.outputs(out, "merged.jsonl")
        ref_records, ref_sidecars = self.reference
        same = records == ref_records
        if not same:
            for got, want in zip(records + [None] * len(ref_records), ref_records + [None] * len(records)):
                if got != want:
                    print("  differs: %r\n  expected: %r" % (got, want))
                    break
        self.record(same, "%s: merged records equal the single-machine run's (%d records: ids, order, status, errors, "
                    "texts, segments, tokens)" % (label, len(records)))
        self.record(sidecars == ref_sidecars, "%s: sidecars equal (%d files; missing %s, extra or different %s)" % (
            label, len(sidecars), sorted(set(ref_sidecars) - set(sidecars)),
            sorted(k for k in sidecars if ref_sidecars.get(k) != sidecars[k])))

    def array_run(self):
        out = os.path.join(self.run_dir, "array")
        began = time.time()
        job = self.submit(out)
        tasks = self.wait_job(job)
        wall = time.time() - began
        summary = ", ".join("%d: %s %s" % (i, t["JobState"], t["ExitCode"]) for i, t in sorted(tasks.items()))
        ok = sorted(tasks) == list(range(TASKS)) and all(t["ExitCode"] in ("0:0", "1:0") for t in tasks.values())
        self.record(ok, "job array %d (%d tasks) finished in %.1f s — %s" % (job, TASKS, wall, summary))
        for i in range(TASKS):      # exit 1 exactly when the shard holds an error record (README, exit statuses)
            errors = sum(r["status"] != "ok" for r in read_results(self.shard_file(out, i), allow_torn=False))
            if (tasks[i]["ExitCode"] == "1:0") != (errors > 0):
                self.record(False, "task %d: exit %s with %d error records" % (i, tasks[i]["ExitCode"], errors))
        shards = [read_results(self.shard_file(out, i), allow_torn=False) for i in range(TASKS)]
        self.shard_sizes = [len(records) for records in shards]
        self.shard_ok = [sum(r["status"] == "ok" for r in records) for records in shards]
        self.figures.append("job array: %d tasks (shards of %s items), submit to last task done %.1f s"
                            % (TASKS, "/".join(map(str, self.shard_sizes)), wall))
        self.merge_and_compare(out, "job array")

    def cancel_run(self):
        out = os.path.join(self.run_dir, "cancel")
        # Error records are redone by a resume; to see one skip done work, cancel between two ok records.
        victim = max(range(TASKS), key=lambda i: self.shard_ok[i])
        expected = self.shard_ok[victim]
        if expected < 3:
            raise CheckFailed("the largest shard has %d ok items; cancelling mid-run needs 3 (add COPIES)" % expected)
        began = time.time()
        job = self.submit(out)
        task = "%d_%d" % (job, victim)

        def mid_run():     # running, ≥ 1 ok record written, ≥ 2 to do: one may be in progress, one is not started
            running = any(line.split()[1] == "RUNNING" for line in self.cluster.queued(task))
            if not running:
                if not self.cluster.queued(task):
                    raise CheckFailed("task %s ended before it could be cancelled mid-run" % task)
                return None
            done = sum(r["status"] == "ok" for r in read_results(self.shard_file(out, victim)))
            return done if 0 < done <= expected - 2 else None
        wait_for("task %s to be mid-run" % task, mid_run, 600, 0.05)
        self.cluster.client(["scancel", task])
        cancelled_at = time.time()
        state = wait_for("task %s to end after scancel" % task,
                         lambda: (lambda t: t if t and t["JobState"] not in ("RUNNING", "COMPLETING") else None)(
                             self.cluster.tasks(job).get(victim)), 120, 0.1)
        stop_seconds = time.time() - cancelled_at
        log = open(self.log(out, job, victim), errors="replace").read()
        stopped = re.search(r"stopped by SIGTERM after (\d+) of (\d+) items", log)
        kept = read_results(self.shard_file(out, victim))
        kept_ok = sum(r["status"] == "ok" for r in kept)
        self.record(state["JobState"] == "CANCELLED" and state["ExitCode"] == "143:0" and stopped is not None,
                    "scancel %s mid-run: %s, exit %s, %.1f s after scancel; log: %r" % (
                        task, state["JobState"], state["ExitCode"], stop_seconds, stopped.group(0) if stopped else tail(self.log(out, job, victim), 5)))
        reference = {r[0]: r for r in self.reference[0]}
        self.record(all(essence(r) == reference.get(r["id"]) for r in kept),
                    "after the cancel: %d whole records kept (%d ok), each equal to the single-machine run's" % (len(kept), kept_ok))
        self.cluster.client(["scontrol", "requeue", task])
        self.cluster.client(["scontrol", "update", "jobid=" + task, "StartTime=now"])   # a requeued job waits ~2 min otherwise
        tasks = self.wait_job(job)
        wall = time.time() - began
        runs = re.findall(r": (\d+) items, (\d+) already done, (\d+) to do", open(self.log(out, job, victim), errors="replace").read())
        resumed = len(runs) == 2 and int(runs[1][1]) == kept_ok > 0
        summary = ", ".join("%d: %s %s restarts %s" % (i, t["JobState"], t["ExitCode"], t["Restarts"]) for i, t in sorted(tasks.items()))
        self.record(tasks[victim]["Restarts"] == "1" and resumed and all(t["ExitCode"] in ("0:0", "1:0") for t in tasks.values()),
                    "scontrol requeue %s: resumed (%s), %s" % (
                        task, "; ".join("%s items, %s already done, %s to do" % r for r in runs), summary))
        self.figures.append("cancel + requeue: task %s (%d items, %d ok) cancelled after %d records (%d ok), stopped %.1f s "
                            "after scancel (exit 143), requeued, resumed with %d already done; submit to last task done %.1f s"
                            % (task, self.shard_sizes[victim], expected, len(kept), kept_ok, stop_seconds, kept_ok, wall))
        self.merge_and_compare(out, "cancel + requeue")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hearth", default=os.environ.get("HEARTH", os.path.join(ROOT, ".build/release/hearth")))
    ap.add_argument("--work", default=os.path.join(ROOT, ".build/slurm"))
    args = ap.parse_args()
    def terminated(*_):
        raise Terminated()
    signal.signal(signal.SIGTERM, terminated)     # run the cleanup below
    PR_SET_CHILD_SUBREAPER = 36    # <linux/prctl.h>: orphaned descendants (slurmstepd daemonizes) become our children
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    check = Check(args)
    began = time.time()
    failure = None
    try:
        if os.geteuid() != 0:
            raise CheckFailed("needs root (munged, slurmctld and slurmd run as root here)")
        missing = [p for p in PROGRAMS if shutil.which(p) is None]
        if missing:
            raise CheckFailed("missing %s: apt-get install munge slurmctld slurmd slurm-client (make slurm-check does)" % missing)
        if not os.access(check.hearth, os.X_OK):
            raise CheckFailed("no hearth binary at %s (HEARTH=...)" % check.hearth)
        cpus, memory = check.cluster.write_config()
        check.cluster.start()
        check.record(True, "cluster up in %.1f s: munged, slurmctld, slurmd; node localhost idle (%d CPUs, %d MB), ports %d/%d"
                     % (time.time() - began, cpus, memory, *check.cluster.ports))
        check.figures.append("cluster start (munged, slurmctld, slurmd to node idle): %.1f s" % (time.time() - began))
        check.prepare()
        check.single_run()
        check.array_run()
        check.cancel_run()
    except CheckFailed as e:
        failure = str(e)
    except KeyboardInterrupt:
        failure = "interrupted (SIGINT)"
    except Terminated:
        failure = "interrupted (SIGTERM)"
    except SystemExit:            # crash_check.read_results on a line that is not a whole record (it printed why)
        failure = "a results file holds a line that is not a whole record"
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):   # a second Ctrl-C must not cut the cleanup short
            signal.signal(sig, signal.SIG_IGN)
        notes = check.cluster.stop()
        left = sorted(set(check.cluster.strays() + check.cluster.children()))
        if left:
            failure = failure or "processes left running: %s" % left
        else:
            check.figures.append("stopped every daemon and job process%s" % ("; " + "; ".join(notes) if notes else ""))
    if failure and not any(status == "FAIL" for status, _ in check.results):
        check.results.append(("FAIL", failure))
        print("FAIL:", failure)
        for name, _, log in check.cluster.daemons:
            print("--- %s (last lines)\n%s" % (name, tail(log)))
    check.figures.append("total %.0f s" % (time.time() - began))
    text = "\n".join("- " + f for f in check.figures)
    verdict = "FAIL" if failure else "PASS"
    print("\n%s\n%s (%d checks passed, %d failed)" % (text, verdict, sum(s == "PASS" for s, _ in check.results),
                                                      sum(s == "FAIL" for s, _ in check.results)))
    if os.path.isdir(check.cluster.root):
        with open(os.path.join(check.cluster.root, "slurm-check.md"), "w") as f:
            f.write("\n".join("%s: %s" % r for r in check.results) + "\n\n" + text + "\n\n" + verdict + "\n")
    sys.exit(1 if failure else 0)


if __name__ == "__main__":
    main()
