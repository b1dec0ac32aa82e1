# Hearth — two commands do everything on a fresh Debian 12 machine:
#   make demo   run pipelines/demo.yaml: transcribe and caption samples/ with the default models
#   make test   the whole test suite (installs what it needs first)
SWIFT      ?= swift
CONFIG     ?= release
HEARTH      = .build/$(CONFIG)/hearth
APT_PKGS    = libsndfile1-dev libsoxr-dev libfftw3-dev libopenblas-dev libpng-dev libjpeg-dev \
              libwebp-dev libtiff-dev libgif-dev libheif-dev \
              libavformat-dev libavcodec-dev libswresample-dev libswscale-dev libavutil-dev ffmpeg libdnnl-dev \
              espeak-ng sox python3-venv strace util-linux
# Only for make slurm-check (on a machine with systemd, installing them enables the slurm services).
SLURM_PKGS  = munge slurmctld slurmd slurm-client
TEST_MODELS = whisper-tiny.en whisper-base smollm2-135m-instruct qwen2.5-coder-0.5b-instruct yolov3-tiny silero-vad efficientnet-lite0 all-minilm-l6-v2

.PHONY: setup build models test-models test-audio demo test bench eval-qa clean fuzz crash-check slurm-check test-asan

# $(call apt_install,PACKAGES): installs those not installed yet.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

setup:
	$(call apt_install,$(APT_PKGS))

build: setup
	$(SWIFT) build -c $(CONFIG)

models: build
	$(HEARTH) models install whisper-tiny.en qwen2.5-coder-0.5b-instruct yolov3-tiny silero-vad efficientnet-lite0

test-models: build
	@for m in $(TEST_MODELS); do $(HEARTH) models install $$m || exit 1; done

demo: models
	$(HEARTH) run pipelines/demo.yaml
	@echo "results: out/demo/results.jsonl (one JSON record per clip or photo; transcripts in out/demo/*.txt, *.srt, *.vtt; captions in *.caption.txt)"
	@echo "report:  out/demo/report.html (open it in a browser)"

test-audio: setup
	bash scripts/data/make_test_audio.sh .build/testdata
	bash scripts/data/make_test_containers.sh .build/testdata/containers

# The suite's output is kept in .build/test.log; one line per skipped test gives its reason, then
# the last line sums XCTest's count up and names every skipped test.
test: test-models test-audio
	@mkdir -p .build; { $(SWIFT) test -c $(CONFIG); echo $$? > .build/test.status; } 2>&1 | tee .build/test.log; \
	status=$$(cat .build/test.status); \
	summary=$$(grep -E 'Executed [0-9]+ tests?, with' .build/test.log | tail -1); \
	total=$$(echo "$$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/'); \
	skipped=$$(echo "$$summary" | sed -nE 's/.*with ([0-9]+) tests? skipped.*/\1/p'); \
	failed=$$(echo "$$summary" | sed -E 's/.*and ([0-9]+) failures?.*|.*with ([0-9]+) failures?.*/\1\2/'); \
	names=$$(sed -nE 's/^.*: ([A-Za-z0-9_]+\.[A-Za-z0-9_]+) : Test skipped.*/\1/p' .build/test.log | sort -u | paste -sd, - | sed 's/,/, /g'); \
	sed -nE 's/^.*: ([A-Za-z0-9_]+\.[A-Za-z0-9_]+) : Test skipped - (.*)/  skipped \1: \2/p' .build/test.log; \
	if [ -n "$$total" ]; then echo "xctest: $$((total - $${skipped:-0} - failed)) passed, $$failed failed, $${skipped:-0} skipped$${names:+ ($$names)}"; fi; \
	exit $$status

bench: models
	bash scripts/bench/bench.sh

# Answer quality: every installed GGUF text model answers eval/qa/qa.jsonl through `hearth run`
# (scripts/eval/eval_qa.py: exact / contains accuracy, invented answers, s/answer; the scorer's
# self-test first). EVAL_QA_ARGS="--templates all" also compares the prompt templates;
# `hearth models install qwen2.5-coder-1.5b-instruct` adds the 1.1 GB model. Not part of make test.
EVAL_QA_ARGS ?=
eval-qa: build
	$(HEARTH) models install smollm2-135m-instruct qwen2.5-coder-0.5b-instruct
	python3 scripts/eval/eval_qa.py --hearth $(HEARTH) $(EVAL_QA_ARGS)

# libFuzzer targets for every parser (fuzz/), FUZZ_SECONDS each (default 30); prints executions and findings.
fuzz: setup
	bash scripts/reliability/fuzz.sh

# The whole suite with AddressSanitizer (Swift and C) and UndefinedBehaviorSanitizer (C kernels,
# trapping: no runtime needed), in its own build folder; the hearth binary the process tests run
# is the sanitized one. Not part of `make test` (it takes several times longer).
ASAN_FLAGS = -Xswiftc -sanitize=address -Xcc -fsanitize=address,undefined -Xcc -fsanitize-trap=undefined \
             -Xcc -fno-sanitize=function
test-asan: test-models test-audio
	$(SWIFT) build -c $(CONFIG) --build-tests --scratch-path .build-asan $(ASAN_FLAGS)
	SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test -c $(CONFIG) --skip-build --scratch-path .build-asan $(ASAN_FLAGS)

# kill -9 at CRASH_KILLS random moments, during sidecar writes, and a full disk; each resume must
# equal an uninterrupted run (scripts/reliability/crash_check.py; needs root for the tmpfs, strace).
CRASH_KILLS ?= 30
crash-check: build test-audio
	$(HEARTH) models install whisper-tiny.en
	python3 scripts/reliability/crash_check.py --kills $(CRASH_KILLS)

# A one-machine Slurm cluster started by the script (munged, slurmctld, slurmd as root; all state in
# .build/slurm): docs/slurm-array.sh as a 3-task job array, merged = a single-machine run, also after
# scancel + requeue of one task; every daemon stopped at the end (scripts/reliability/slurm_check.py).
slurm-check: build test-audio
	$(call apt_install,$(SLURM_PKGS))
	$(HEARTH) models install whisper-tiny.en
	HEARTH=$(HEARTH) python3 scripts/reliability/slurm_check.py

clean:
	rm -rf .build .build-fuzz .build-asan out
