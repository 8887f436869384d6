# dreamreel — the pipeline graph. Every target is a file; `make help` lists them.
# A recipe only calls a stage script; all logic lives in scripts/dreamreel/.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules
.DEFAULT_GOAL := video

# ---- Where things are -------------------------------------------------------------------
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
PARAMS ?= params.yaml
BUILD ?= build
OUT ?= out
PYTHON ?= python3
VENV ?= $(ROOT).venv
PY := $(VENV)/bin/python
# torch is pinned to 2.13.0 (pyproject.toml). On a machine without a local CPU wheel, set
# TORCH_INDEX=https://download.pytorch.org/whl/cpu to avoid gigabytes of CUDA packages.
TORCH_INDEX ?=
SETUP := $(VENV)/.installed $(VENV)/.system-tools

# Tests run the pipeline in a temporary folder with SETUP= (already set up) and PY=.

# Set from params.yaml through $(BUILD)/params/params.mk; the command line overrides them
# (SONG=path/to/song.mp3 make video).
PIECE ?=
SCORE ?=
SONG ?=
SOUNDFONT ?=
PARTS ?=
GAN_MODEL ?=
GAN_WEIGHTS ?=
TITLE_FONT ?=
ANALYSIS_SOURCE ?=

# Goals that must not parse params.yaml or build the environment first.
TOOL_GOALS := help doctor clean clean-all setup test bench
PIPELINE_GOALS := $(if $(MAKECMDGOALS),$(filter-out $(TOOL_GOALS),$(MAKECMDGOALS)),$(.DEFAULT_GOAL))

# ---- The library files each script imports (editing one reruns the stages that use it) --
include $(BUILD)/deps.mk
$(BUILD)/deps.mk: $(wildcard $(ROOT)scripts/*.py $(ROOT)scripts/dreamreel/*.py $(ROOT)scripts/dreamreel/*/*.py $(ROOT)scripts/dreamreel/*/*/*.py)
	@mkdir -p $(dir $@)
	$(PYTHON) $(ROOT)scripts/deps.py $(ROOT)scripts $@

ifneq ($(PIPELINE_GOALS),)
include $(BUILD)/params/params.mk
# The source (score or song) as a file, rewritten only when it changes: switching
# SONG= or piece.score then rebuilds, even when the new file is older than the build.
SOURCE_STAMP := $(BUILD)/params/source.txt
$(shell mkdir -p $(BUILD)/params && printf 'score=%s\nsong=%s\n' '$(SCORE)' '$(SONG)' | cmp -s - $(SOURCE_STAMP) || printf 'score=%s\nsong=%s\n' '$(SCORE)' '$(SONG)' > $(SOURCE_STAMP))
ifeq ($(SONG),)
ifneq ($(SCORE),)
include $(BUILD)/score/parts.mk
endif
endif
endif

# ---- Set-up -------------------------------------------------------------------------------
## setup: the Python environment (.venv) and the system tools (ffmpeg, sox, fluidsynth, soundfont)
setup: $(SETUP)

$(VENV)/.installed: $(ROOT)pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch==2.13.0
	$(VENV)/bin/pip install --quiet -e '$(ROOT).[test]'
	touch $@

$(VENV)/.system-tools: $(ROOT)scripts/setup_system.sh | $(VENV)/.installed
	bash $(ROOT)scripts/setup_system.sh
	touch $@

## doctor: what is installed and what is missing, with versions
doctor:
	@bash $(ROOT)scripts/doctor.sh $(PY)

# ---- Parameters ---------------------------------------------------------------------------
## build/params/params.mk: params.yaml split into build/params/<section>.json, one per stage
$(BUILD)/params/params.mk: $(PARAMS) $(DEPS_params) | $(SETUP)
	$(PY) $(ROOT)scripts/params.py $(PARAMS) --out-dir $(dir $@) --makefile $@

$(BUILD)/params/%.json:
	$(error $@ is missing: run rm -rf $(BUILD)/params and make again)

# ---- Audio --------------------------------------------------------------------------------
## build/score/score.json: the score's parts, notes, tempo map and bars, in ticks
$(BUILD)/score/score.json: $(SCORE) $(SOURCE_STAMP) $(DEPS_parse_score) | $(SETUP) $(BUILD)/score/
	$(PY) $(ROOT)scripts/parse_score.py $< $@

## build/score/parts.mk: the score's part names; also build/params/part/<part>.json for each
$(BUILD)/score/parts.mk: $(BUILD)/score/score.json $(BUILD)/params/parts.json $(BUILD)/params/part_defaults.json $(DEPS_part_params)
	$(PY) $(ROOT)scripts/part_params.py $(wordlist 1,3,$^) --out-dir $(BUILD)/params/part --makefile $@ --params-name $(PARAMS)

STEMS := $(PARTS:%=$(BUILD)/stems/%.wav)
DRY := $(PARTS:%=$(BUILD)/fx/%.dry.wav)
WET := $(PARTS:%=$(BUILD)/fx/%.wet.wav)

ifneq ($(STEMS),)
## build/stems/<part>.wav: one 48 kHz stereo stem per part (FluidSynth), all the same length
$(STEMS) &: $(BUILD)/score/score.json $(BUILD)/params/stems.json $(SOUNDFONT) $(DEPS_render_stems) | $(BUILD)/stems/
	$(PY) $(ROOT)scripts/render_stems.py $< --params $(word 2,$^) --out-dir $(BUILD)/stems
endif

## build/fx/<part>.{dry,wet}.wav: gain, SoX tremolo and reverb, 8D pan (params: parts.<part>)
$(BUILD)/fx/%.dry.wav $(BUILD)/fx/%.wet.wav: $(BUILD)/stems/%.wav $(BUILD)/params/part/%.json $(BUILD)/score/score.json $(DEPS_process_stem) | $(BUILD)/fx/
	$(PY) $(ROOT)scripts/process_stem.py $< --params $(word 2,$^) --score $(word 3,$^) --dry $(BUILD)/fx/$*.dry.wav --wet $(BUILD)/fx/$*.wet.wav

ifeq ($(SONG),)
## build/mix/master.wav: the buses summed and loudness-normalised (params: mix)
$(BUILD)/mix/master.wav: $(DRY) $(WET) $(BUILD)/params/mix.json $(SOURCE_STAMP) $(DEPS_mix) | $(BUILD)/mix/
	$(PY) $(ROOT)scripts/mix.py $@ --params $(BUILD)/params/mix.json --dry $(DRY) --wet $(WET)
else
## build/mix/master.wav: with SONG=file, that song at 48 kHz stereo (the score stages are skipped)
$(BUILD)/mix/master.wav: $(SONG) $(BUILD)/params/mix.json $(SOURCE_STAMP) $(DEPS_import_song) | $(SETUP) $(BUILD)/mix/
	$(PY) $(ROOT)scripts/import_song.py $< $@ --params $(BUILD)/params/mix.json
endif

## audio: the master mix, build/mix/master.wav
audio: $(BUILD)/mix/master.wav

## out/<piece>-pan.png: each part's 8D azimuth over time with barlines, above the L/R level of its dry bus
$(OUT)/$(PIECE)-pan.png: $(BUILD)/score/score.json $(PARTS:%=$(BUILD)/params/part/%.json) $(DRY) $(DEPS_preview_pan) | $(OUT)/
	$(PY) $(ROOT)scripts/preview_pan.py $< $@ --params $(PARTS:%=$(BUILD)/params/part/%.json) --audio $(DRY) --title "$(PIECE): 8D pan"

## preview: pictures of the piece: 8D pan, contact sheet, feature plots (out/<piece>-*.png)
preview: $(OUT)/$(PIECE)-pan.png $(OUT)/$(PIECE)-preview.png $(OUT)/$(PIECE)-features.png

## demo: set-up, then the demo piece end to end: out/demo.mp4 and its preview pictures
demo: video preview
	@echo "demo: the video is $(OUT)/$(PIECE).mp4 (and .mkv); pictures: $(OUT)/$(PIECE)-*.png"

# ---- GAN ----------------------------------------------------------------------------------
# The pictures listen to the stems (features.source: stems), upstream of gain, effects and
# mix, so a mixing edit only remuxes; or to the master. A SONG is its own master.
ifeq ($(SONG)$(ANALYSIS_SOURCE),stems)
ANALYSIS_AUDIO := $(STEMS)
else
ANALYSIS_AUDIO := $(BUILD)/mix/master.wav
endif

## build/gan/features.npz: bands, chroma, onsets, HPSS, RMS of the stems (or master) at every video frame (params: features)
$(BUILD)/gan/features.npz: $(ANALYSIS_AUDIO) $(BUILD)/params/features.json $(SOURCE_STAMP) $(DEPS_analyze) | $(BUILD)/gan/
	$(PY) $(ROOT)scripts/analyze.py $(ANALYSIS_AUDIO) $@ --params $(BUILD)/params/features.json

# The walk depends on which model it is for (model.json): BigGAN and cppn read the
# latents section; StyleGAN reads the stylegan section and its model file.
ifeq ($(GAN_MODEL),stylegan)
WALK_INPUTS := $(BUILD)/params/stylegan.json $(GAN_WEIGHTS)
MODEL_OPTIONS := --stylegan $(BUILD)/params/stylegan.json
else
WALK_INPUTS := $(BUILD)/params/latents.json
MODEL_OPTIONS :=
endif

## build/gan/latents.npz: the latent walk, one latent per frame (params: latents, or stylegan)
$(BUILD)/gan/latents.npz: $(BUILD)/gan/features.npz $(BUILD)/params/model.json $(WALK_INPUTS) $(DEPS_latents)
	$(PY) $(ROOT)scripts/latents.py $< $@ --params $(BUILD)/params/latents.json --model $(BUILD)/params/model.json $(MODEL_OPTIONS)

## build/gan/segments.json: the walk rendered into cached segments, build/gan/segments/<hash>.mkv (params: gan)
$(BUILD)/gan/segments.json: $(BUILD)/gan/latents.npz $(BUILD)/params/gan.json $(filter %.json,$(WALK_INPUTS)) $(DEPS_render_frames)
	$(PY) $(ROOT)scripts/render_frames.py $< $@ --params $(word 2,$^) --segments-dir $(BUILD)/gan/segments $(MODEL_OPTIONS)

## build/gan/frames.mkv: the segments joined, lossless, square, exact frame rate
$(BUILD)/gan/frames.mkv: $(BUILD)/gan/segments.json $(DEPS_concat_frames)
	$(PY) $(ROOT)scripts/concat_frames.py $< $@

## build/gan/draft.json: the same walk, small and at a fraction of the frame rate (params: gan.draft_*)
$(BUILD)/gan/draft.json: $(BUILD)/gan/latents.npz $(BUILD)/params/gan.json $(filter %.json,$(WALK_INPUTS)) $(DEPS_render_frames)
	$(PY) $(ROOT)scripts/render_frames.py $< $@ --params $(word 2,$^) --segments-dir $(BUILD)/gan/segments --draft $(MODEL_OPTIONS)

## build/gan/draft.mkv: a quick look at the pictures before the full render
$(BUILD)/gan/draft.mkv: $(BUILD)/gan/draft.json $(DEPS_concat_frames)
	$(PY) $(ROOT)scripts/concat_frames.py $< $@

## gan: the square GAN video, build/gan/frames.mkv
gan: $(BUILD)/gan/frames.mkv

## draft: a quick low-resolution, low-frame-rate render of the same walk, build/gan/draft.mkv
draft: $(BUILD)/gan/draft.mkv

# ---- Video --------------------------------------------------------------------------------
VIDEO_FILTERS := $(wildcard $(ROOT)filters/*.txt)

## build/video/picture.mkv: the square GAN video composed to 1920x1080 in one ffmpeg pass (graph.txt beside it)
$(BUILD)/video/picture.mkv: $(BUILD)/gan/frames.mkv $(BUILD)/params/video.json $(VIDEO_FILTERS) $(TITLE_FONT) $(DEPS_compose) | $(BUILD)/video/
	$(PY) $(ROOT)scripts/compose.py $< $@ --params $(word 2,$^) --filters $(ROOT)filters

## out/<piece>.{mp4,mkv}: the picture with the master mix (H.264 stream copy; AAC 320k / FLAC)
$(OUT)/$(PIECE).mp4 $(OUT)/$(PIECE).mkv &: $(BUILD)/video/picture.mkv $(BUILD)/mix/master.wav $(BUILD)/params/mux.json $(BUILD)/params/piece.json $(DEPS_mux) | $(OUT)/
	$(PY) $(ROOT)scripts/mux.py $< $(word 2,$^) --mp4 $(OUT)/$(PIECE).mp4 --mkv $(OUT)/$(PIECE).mkv --params $(word 3,$^) --piece $(word 4,$^) --hash $(wildcard $(BUILD)/params/*.json)

## out/<piece>-{preview,features}.png: frames at the strongest onsets and section changes; feature plots
# With a score, the plots get its barlines.
SCORE_BARS := $(if $(SONG),,$(BUILD)/score/score.json)
$(OUT)/$(PIECE)-preview.png $(OUT)/$(PIECE)-features.png &: $(BUILD)/video/picture.mkv $(BUILD)/gan/features.npz $(BUILD)/gan/latents.npz $(SCORE_BARS) $(DEPS_preview) | $(OUT)/
	$(PY) $(ROOT)scripts/preview.py $< $(word 2,$^) $(word 3,$^) --sheet $(OUT)/$(PIECE)-preview.png --plots $(OUT)/$(PIECE)-features.png --title '$(PIECE)' $(if $(SCORE_BARS),--score $(SCORE_BARS))

## video: the finished music video, out/<piece>.mp4 (and .mkv)
video: $(OUT)/$(PIECE).mp4 $(OUT)/$(PIECE).mkv

# ---- Checks and upkeep --------------------------------------------------------------------
## test: the test suite (offline; sets up the environment first)
test: $(SETUP)
	cd $(ROOT) && $(PY) -m pytest -q

## bench: stage timings and speed ratios, printed and written to out/bench.json
bench: $(SETUP)
	$(PY) $(ROOT)scripts/bench.py --out $(OUT)/bench.json

## clean: delete the build cache (build/); finished videos in out/ stay
clean:
	rm -rf $(BUILD)

## clean-all: also delete out/ and the Python environment
clean-all: clean
	rm -rf $(OUT) $(VENV)

## help: this list
help:
	@grep -h -E '^## ' $(MAKEFILE_LIST) | sed -e 's/^## //' | awk -F': ' '{ printf "  %-34s %s\n", $$1, substr($$0, length($$1) + 3) }'

%/:
	mkdir -p $@

.PHONY: setup doctor audio gan draft video demo preview test bench clean clean-all help
