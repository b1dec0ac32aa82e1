# Hearth — two commands do everything on a fresh Debian 12 machine:
#   make demo   run pipelines/demo.yaml: transcribe and caption samples/ with the default models
#   make test   the whole test suite (installs what it needs first)
SWIFT      ?= swift
CONFIG     ?= release
HEARTH      = .build/$(CONFIG)/hearth
APT_PKGS    = libsndfile1-dev libsoxr-dev libfftw3-dev libopenblas-dev libpng-dev libjpeg-dev \
              espeak-ng sox python3-venv
TEST_MODELS = whisper-tiny.en whisper-base smollm2-135m-instruct qwen2.5-coder-0.5b-instruct yolov3-tiny

.PHONY: setup build models test-models test-audio demo test bench clean

setup:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: setup
	$(SWIFT) build -c $(CONFIG)

models: build
	$(HEARTH) models install whisper-tiny.en smollm2-135m-instruct yolov3-tiny

test-models: build
	@for m in $(TEST_MODELS); do $(HEARTH) models install $$m || exit 1; done

demo: models
	$(HEARTH) run pipelines/demo.yaml
	@echo "results: out/demo/results.jsonl (one JSON record per clip or photo; transcripts in out/demo/*.txt, *.srt, *.vtt; captions in *.caption.txt)"
	@echo "report:  out/demo/report.html (open it in a browser)"

test-audio: setup
	bash scripts/make_test_audio.sh .build/testdata

test: test-models test-audio
	$(SWIFT) test -c $(CONFIG)

bench: models
	bash scripts/bench.sh

clean:
	rm -rf .build out
