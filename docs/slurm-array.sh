#!/usr/bin/env bash
# Run a Hearth pipeline as a Slurm job array: one shard per array task, then merge.
#
#   sbatch --array=0-7 docs/slurm-array.sh pipelines/transcribe-archive.yaml
#   # when all tasks are done:
#   hearth merge out/archive/results.shard-*-of-8.jsonl -o out/archive/results.jsonl \
#                --csv out/archive/results.csv --report out/archive/report.html
#
# Each task runs the items whose id hashes to its index (SLURM_ARRAY_TASK_ID minus
# SLURM_ARRAY_TASK_MIN, of SLURM_ARRAY_TASK_COUNT) and writes results.shard-I-of-N.jsonl next to
# the pipeline's results. Requeued or resubmitted tasks resume: items already done are skipped.
# To rerun one task, requeue it (`scontrol requeue JOBID_I`; Slurm holds a requeued job ~2 minutes,
# `scontrol update jobid=JOBID_I StartTime=now` lifts that) or resubmit the whole --array=0-7 (done
# shards only skip): a lone --array=I is a one-task array, which would run every item as shard 0/1.
# `make slurm-check` runs this file on a one-machine cluster (README, "A real Slurm cluster").
# The pipeline's paths must be visible from every node (a shared file system), and every node
# needs the model installed (`hearth models install`, or HEARTH_MODELS on shared storage).
#
#SBATCH --job-name=hearth
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=12:00:00
#SBATCH --output=hearth-%A_%a.log
#SBATCH --requeue
# SIGTERM two minutes before the time limit: hearth stops after the batch in progress, keeps every
# finished record and exits 143; the requeued or resubmitted task resumes where it stopped.
#SBATCH --signal=B:TERM@120
set -euo pipefail

PIPELINE=${1:?usage: sbatch --array=0-N docs/slurm-array.sh PIPELINE.yaml}
HEARTH=${HEARTH:-hearth}   # or the built binary, e.g. $SLURM_SUBMIT_DIR/.build/release/hearth

# Plain progress lines every 10 s go to the task's log; exit status 1 means some items have
# error records (the others are done), 2 that the run could not start, 143 that SIGTERM (time
# limit, scancel, preemption) stopped it before the end — run it again to resume.
exec "$HEARTH" run "$PIPELINE" --threads "${SLURM_CPUS_PER_TASK:-2}"
