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

# What the user names on the command line or in the environment (SONG=song.mp3 make video):
# a source that replaces the params file's own. Only params.mk (below) turns them into files.
SONG ?=
SCORE ?=
# With a song: its notes as a MIDI file (placed by song.midi_offset_s), and a folder of its
# stems, one WAV per part. They replace the params file's song.midi and song.stems.
MIDI ?=
STEMS ?=

# Set by $(PIECE_DIR)/params/params.mk, written by scripts/params.py from the params file.
PIECE ?=
SCORE_FILE ?=
SCORE_PATH ?=
SONG_FILE ?=
SONG_PATH ?=
MIDI_FILE ?=
MIDI_PATH ?=
TRANSCRIBE ?=
SONG_STEMS ?=
SONG_STEM_PARTS ?=
SONG_STEMS_TOLERANCE_S ?=
SOUNDFONT ?=
PARTS ?=
GAN_MODEL ?=
GAN_WEIGHTS ?=
GAN_BLEND_WITH ?=
GAN_CACHE_DIR ?=
TITLE_FONT ?=
ANALYSIS_SOURCE ?=

# Goals that must not parse params.yaml or build the environment first.
TOOL_GOALS := help doctor clean clean-all setup test bench build-dir
PIPELINE_GOALS := $(if $(MAKECMDGOALS),$(filter-out $(TOOL_GOALS),$(MAKECMDGOALS)),$(.DEFAULT_GOAL))

# make -n shows the plan and writes nothing: the generated makefiles are read as they are
# and never remade (GNU Make would otherwise run their recipes even under -n).
DRY_RUN := $(findstring n,$(filter-out -%,$(firstword $(MAKEFLAGS))))

# A value as one single-quoted shell word (file names may hold spaces and quotes).
shell_word = '$(subst ','"'"',$(1))'

# ---- One build folder per piece ---------------------------------------------------------
# Every params file, and every SONG= or SCORE= given on top of it, builds into a folder of
# its own, named after the source and a hash of the absolute paths. Switching pieces
# neither mixes them nor throws away either one's cache; switching back rebuilds nothing.
PIECE_DIR := $(BUILD)/$(shell bash $(ROOT)scripts/piece_dir.sh $(call shell_word,$(PARAMS)) $(call shell_word,$(SONG)) $(call shell_word,$(SCORE)) $(call shell_word,$(MIDI)) $(call shell_word,$(STEMS)))
PARAMS_DIR := $(PIECE_DIR)/params
SPLIT_COMMAND = $(PY) $(ROOT)scripts/params.py $(call shell_word,$(PARAMS)) --song $(call shell_word,$(SONG)) --score $(call shell_word,$(SCORE)) --midi $(call shell_word,$(MIDI)) --stems $(call shell_word,$(STEMS)) --out-dir $(PARAMS_DIR)/ --makefile $(PARAMS_DIR)/params.mk

# Input that Make itself cannot carry gets our one line, never Make's "No rule to make target".
INPUT_ERROR :=
ifneq ($(PIPELINE_GOALS),)
ifneq ($(word 2,$(PARAMS)),)
INPUT_ERROR := PARAMS=$(PARAMS): a params file whose name has a space — rename it, or its folder, without spaces
else ifeq ($(wildcard $(PARAMS)),)
INPUT_ERROR := PARAMS=$(PARAMS): parameter file not found — pass PARAMS=path/to/params.yaml, or restore params.yaml
endif
endif
ifneq ($(INPUT_ERROR),)
$(PIPELINE_GOALS): input-error
.PHONY: input-error
input-error:
	@printf '%s\n' $(call shell_word,dreamreel: error: $(INPUT_ERROR)) >&2; exit 2
endif

# ---- The library files each script imports (editing one reruns the stages that use it) --
# Empty until deps.mk is first written, so no DEPS_<script> is ever undefined.
$(foreach script,$(basename $(notdir $(wildcard $(ROOT)scripts/*.py))),$(eval DEPS_$(script) ?=))
ifeq ($(DRY_RUN),)
include $(BUILD)/deps.mk
$(BUILD)/deps.mk: $(wildcard $(ROOT)scripts/*.py $(ROOT)scripts/dreamreel/*.py $(ROOT)scripts/dreamreel/*/*.py $(ROOT)scripts/dreamreel/*/*/*.py)
	@mkdir -p $(dir $@)
	$(PYTHON) $(ROOT)scripts/deps.py $(ROOT)scripts $@
else
-include $(BUILD)/deps.mk
endif

# One build of a piece at a time: a second make in the same folder stops at once instead
# of doing all the work twice. The lock names make's process id, so a killed build never
# leaves it held. make -n takes no lock: it writes nothing.
LOCK_HOLDER :=
ifneq ($(and $(PIPELINE_GOALS),$(if $(INPUT_ERROR)$(DRY_RUN),,yes)),)
LOCK_HOLDER := $(shell bash $(ROOT)scripts/build_lock.sh $(BUILD)/.locks/$(notdir $(PIECE_DIR)) $$PPID)
endif
ifneq ($(LOCK_HOLDER),)
$(PIPELINE_GOALS): build-locked
.PHONY: build-locked
build-locked:
	@printf '%s\n' "dreamreel: error: $(PIECE_DIR): another build of this piece is running (make, process $(LOCK_HOLDER)) — wait for it to finish, or stop it" >&2; exit 2
endif

# The pipeline's rules need the params split. Under make -n it is used only if it exists.
PIECE_READY := $(if $(and $(PIPELINE_GOALS),$(if $(INPUT_ERROR)$(LOCK_HOLDER),,yes)),$(if $(DRY_RUN),$(and $(wildcard $(BUILD)/deps.mk),$(wildcard $(PARAMS_DIR)/params.mk)),yes))
ifneq ($(and $(PIPELINE_GOALS),$(DRY_RUN),$(if $(INPUT_ERROR)$(LOCK_HOLDER),,yes)),)
ifeq ($(PIECE_READY),)
$(info dreamreel: dry run: $(PARAMS) has not been split yet ($(PARAMS_DIR)/params.mk), so nothing after that step can be planned; a real make runs scripts/params.py first)
else ifneq ($(shell test $(call shell_word,$(PARAMS)) -nt $(PARAMS_DIR)/params.mk && echo stale),)
$(info dreamreel: dry run: $(PARAMS) changed since its last split; the split runs first, and the rest of this plan follows the last split)
$(PIPELINE_GOALS): dry-run-split
.PHONY: dry-run-split
dry-run-split:
	$(SPLIT_COMMAND)
endif
endif

# A generated makefile that does not exist yet starts as an empty file dated 1970: Make then
# remakes it like any stale one, and a failing first split says only our one line, not
# also "No such file or directory".
placeholder = $(shell test -e $(1) || { mkdir -p $(dir $(1)) && touch -d @0 $(1); })

ifneq ($(PIECE_READY),)
ifeq ($(DRY_RUN),)
$(call placeholder,$(PARAMS_DIR)/params.mk)
include $(PARAMS_DIR)/params.mk
else
-include $(PARAMS_DIR)/params.mk
endif
ifneq ($(SCORE_FILE),)
ifeq ($(DRY_RUN),)
$(call placeholder,$(PIECE_DIR)/score/parts.mk)
include $(PIECE_DIR)/score/parts.mk
else
-include $(PIECE_DIR)/score/parts.mk
endif
endif
endif

# ---- Set-up -------------------------------------------------------------------------------
## setup: the Python environment (.venv) and the system tools (ffmpeg, sox, fluidsynth, soundfont)
setup: $(SETUP)

# make setup PYTHON=python3.12 picks the interpreter: naming another one than the
# environment was made with makes it anew (the name is kept beside it, in .venv-python).
ifeq ($(origin PYTHON),command line)
$(VENV)/.installed: $(VENV)-python
$(VENV)-python: FORCE
	@printf '%s\n' '$(PYTHON)' | cmp -s - $@ || printf '%s\n' '$(PYTHON)' > $@
endif

# Of basic-pitch only the ONNX model is used (song.transcribe): it is installed without its
# own dependencies, which would bring TensorFlow 2.15 and numpy<2.
$(VENV)/.installed: $(ROOT)pyproject.toml
	$(PYTHON) -m venv $(if $(filter $(VENV)-python,$?),--clear) $(VENV)
	$(VENV)/bin/pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch==2.13.0
	$(VENV)/bin/pip install --quiet -e '$(ROOT).[test]'
	$(VENV)/bin/pip install --quiet --no-deps basic-pitch==0.4.0
	touch $@

$(VENV)/.system-tools: $(ROOT)scripts/setup_system.sh | $(VENV)/.installed
	bash $(ROOT)scripts/setup_system.sh
	touch $@

## doctor: what is installed and what is missing, with versions
doctor:
	@bash $(ROOT)scripts/doctor.sh $(PY)

# ---- Parameters ---------------------------------------------------------------------------
ifneq ($(PIECE_READY),)
# The generated makefiles have rules only in a real run: make -n must not remake them.
ifeq ($(DRY_RUN),)
## build/<piece>/params/params.mk: the params file split into one JSON per stage (params/<section>.json)
$(PARAMS_DIR)/params.mk: $(PARAMS) $(DEPS_params) | $(SETUP)
	$(SPLIT_COMMAND)
endif

$(PARAMS_DIR)/%.json:
	$(error $@ is missing: run rm -rf $(PARAMS_DIR) and make again)

# ---- Audio --------------------------------------------------------------------------------
# Every stage waits for the params split (order-only): after an edit of the params file,
# nothing runs on the last split's values, so a fixed params file always un-sticks a build.
## build/<piece>/score/score.json: the score's parts, notes, tempo map and bars, in ticks
$(PIECE_DIR)/score/score.json: $(SCORE_FILE) $(PARAMS_DIR)/source.json $(DEPS_parse_score) | $(PARAMS_DIR)/params.mk $(PIECE_DIR)/score/
	$(PY) $(ROOT)scripts/parse_score.py $(call shell_word,$(SCORE_PATH)) $@

ifeq ($(DRY_RUN),)
## build/<piece>/score/parts.mk: the score's part names; also params/part/<part>.json for each
$(PIECE_DIR)/score/parts.mk: $(PIECE_DIR)/score/score.json $(PARAMS_DIR)/parts.json $(PARAMS_DIR)/part_defaults.json $(DEPS_part_params) | $(PARAMS_DIR)/params.mk
	$(PY) $(ROOT)scripts/part_params.py $(wordlist 1,3,$^) --out-dir $(PARAMS_DIR)/part --makefile $@ --params-name $(call shell_word,$(PARAMS))
endif

RENDERED_STEMS := $(PARTS:%=$(PIECE_DIR)/stems/%.wav)
DRY := $(PARTS:%=$(PIECE_DIR)/fx/%.dry.wav)
WET := $(PARTS:%=$(PIECE_DIR)/fx/%.wet.wav)

# One rule per stem, not one grouped rule: a failure of a grouped recipe makes Make delete
# every target after the first, finished stems included. Independent stems also render in
# parallel under make -j.
## build/<piece>/stems/<part>.wav: one 48 kHz stereo stem per part (FluidSynth), all the same length
$(PIECE_DIR)/stems/%.wav: $(PIECE_DIR)/score/score.json $(PARAMS_DIR)/stems.json $(SOUNDFONT) $(DEPS_render_stems) | $(PIECE_DIR)/stems/
	$(PY) $(ROOT)scripts/render_stems.py $< --params $(word 2,$^) --out-dir $(PIECE_DIR)/stems --part $* --params-name $(call shell_word,$(PARAMS))

## build/<piece>/fx/<part>.{dry,wet}.wav: gain, SoX tremolo and reverb, 8D pan (params: parts.<part>)
$(PIECE_DIR)/fx/%.dry.wav $(PIECE_DIR)/fx/%.wet.wav: $(PIECE_DIR)/stems/%.wav $(PARAMS_DIR)/part/%.json $(PIECE_DIR)/score/score.json $(DEPS_process_stem) | $(PIECE_DIR)/fx/
	$(PY) $(ROOT)scripts/process_stem.py $< --params $(word 2,$^) --score $(word 3,$^) --dry $(PIECE_DIR)/fx/$*.dry.wav --wet $(PIECE_DIR)/fx/$*.wet.wav --params-name $(call shell_word,$(PARAMS))

ifeq ($(SONG_FILE),)
## build/<piece>/mix/master.wav: the buses summed and loudness-normalised (params: mix)
$(PIECE_DIR)/mix/master.wav: $(DRY) $(WET) $(PARAMS_DIR)/mix.json $(PARAMS_DIR)/source.json $(DEPS_mix) | $(PIECE_DIR)/mix/
	$(PY) $(ROOT)scripts/mix.py $@ --params $(PARAMS_DIR)/mix.json --dry $(DRY) --wet $(WET) --params-name $(call shell_word,$(PARAMS))
else
## build/<piece>/mix/master.wav: with a song (SONG=file or piece.song), that song at 48 kHz stereo; no score stages
$(PIECE_DIR)/mix/master.wav: $(SONG_FILE) $(PARAMS_DIR)/mix.json $(PARAMS_DIR)/source.json $(DEPS_import_song) | $(PARAMS_DIR)/params.mk $(PIECE_DIR)/mix/
	$(PY) $(ROOT)scripts/import_song.py $(call shell_word,$(SONG_PATH)) $@ --params $(PARAMS_DIR)/mix.json --params-name $(call shell_word,$(PARAMS))
endif

## audio: the master mix, build/<piece>/mix/master.wav
audio: $(PIECE_DIR)/mix/master.wav

## out/<piece>-pan.png: each part's 8D azimuth over time with barlines, above the L/R level of its dry bus
$(OUT)/$(PIECE)-pan.png: $(PIECE_DIR)/score/score.json $(PARTS:%=$(PARAMS_DIR)/part/%.json) $(DRY) $(DEPS_preview_pan) | $(OUT)/
	$(PY) $(ROOT)scripts/preview_pan.py $< $@ --params $(PARTS:%=$(PARAMS_DIR)/part/%.json) --audio $(DRY) --title "$(PIECE): 8D pan" --params-name $(call shell_word,$(PARAMS))

## preview: pictures of the piece: 8D pan (with a score), contact sheet, feature plots, notes and sections, conducting (out/<piece>-*.png)
preview: $(if $(SCORE_FILE),$(OUT)/$(PIECE)-pan.png) $(OUT)/$(PIECE)-preview.png $(OUT)/$(PIECE)-features.png $(OUT)/$(PIECE)-notes.png $(OUT)/$(PIECE)-conduct.png

## demo: set-up, then the demo piece end to end: out/demo.mp4 and its preview pictures
demo: video preview
	@echo "demo: the video is $(OUT)/$(PIECE).mp4 (and .mkv); pictures: $(OUT)/$(PIECE)-*.png"

# ---- GAN ----------------------------------------------------------------------------------
# The pictures listen to the stems (features.source: stems), upstream of gain, effects and
# mix, so a mixing edit only remuxes; or to the master. A song is its own master.
# Named stems are also analysed one by one (part_* in features.npz), beside their sum.
ifeq ($(if $(SONG_FILE),song)$(ANALYSIS_SOURCE),stems)
ANALYSIS_AUDIO := $(RENDERED_STEMS)
ANALYSIS_PARTS := --part-names $(PARTS)
else
ANALYSIS_AUDIO := $(PIECE_DIR)/mix/master.wav
ANALYSIS_PARTS :=
endif
# A song's own stems (STEMS=) are analysed one by one beside the song itself.
ANALYSIS_PART_AUDIO := $(if $(SONG_FILE),$(SONG_STEMS))
ifneq ($(ANALYSIS_PART_AUDIO),)
ANALYSIS_PARTS := --part-names $(SONG_STEM_PARTS) --part-audio $(SONG_STEMS) --part-tolerance-s $(SONG_STEMS_TOLERANCE_S)
endif

## build/<piece>/gan/features.npz: bands, chroma, onsets, HPSS, RMS of the stems (or master) at every video frame, and each stem's own bands, onsets, RMS (params: features)
$(PIECE_DIR)/gan/features.npz: $(ANALYSIS_AUDIO) $(ANALYSIS_PART_AUDIO) $(PARAMS_DIR)/features.json $(PARAMS_DIR)/source.json $(DEPS_analyze) | $(PIECE_DIR)/gan/
	$(PY) $(ROOT)scripts/analyze.py $(ANALYSIS_AUDIO) $@ --params $(PARAMS_DIR)/features.json $(ANALYSIS_PARTS) --params-name $(call shell_word,$(PARAMS))

# The notes the signals come from: the score's, in its played form; a song's MIDI file
# placed in it, or its transcription; or none (P = 0 parts). A song's sections come from
# segmenting its audio.
SONG_NOTES := $(if $(MIDI_FILE)$(TRANSCRIBE),$(PIECE_DIR)/song/notes-score.json)
NOTES_SCORE := $(if $(SONG_FILE),$(SONG_NOTES),$(PIECE_DIR)/score/score.json)

## build/<piece>/song/notes-score.json: a song's notes on its clock, from MIDI= (placed by song.midi_offset_s) or song.transcribe (params: song)
$(PIECE_DIR)/song/notes-score.json: $(PIECE_DIR)/mix/master.wav $(MIDI_FILE) $(PARAMS_DIR)/song.json $(DEPS_song_notes) | $(PIECE_DIR)/song/
	$(PY) $(ROOT)scripts/song_notes.py $< $@ --params $(PARAMS_DIR)/song.json $(if $(MIDI_FILE),--midi $(call shell_word,$(MIDI_PATH)),--transcribe) --params-name $(call shell_word,$(PARAMS))

## out/<piece>-notes.png: each part's note signals (envelope, note-ons, pitch range) over time, with barlines and sections
$(OUT)/$(PIECE)-notes.png: $(PIECE_DIR)/gan/notes.npz $(PIECE_DIR)/gan/features.npz $(DEPS_preview_notes) | $(OUT)/
	$(PY) $(ROOT)scripts/preview_notes.py $< $@ --features $(word 2,$^) --title '$(PIECE): notes and sections'

## build/<piece>/gan/notes.npz: each part's notes as signals per frame (note-on, velocity, envelope, pitch, density) and the sections (params: notes)
$(PIECE_DIR)/gan/notes.npz: $(NOTES_SCORE) $(PIECE_DIR)/gan/features.npz $(PARAMS_DIR)/notes.json $(DEPS_notes) | $(PIECE_DIR)/gan/
	$(PY) $(ROOT)scripts/notes.py $(PIECE_DIR)/gan/features.npz $@ --params $(PARAMS_DIR)/notes.json $(if $(NOTES_SCORE),--score $(NOTES_SCORE)) --sections $(if $(SONG_FILE),audio,score) --params-name $(call shell_word,$(PARAMS))

## notes: the note signals and sections, build/<piece>/gan/notes.npz
notes: $(PIECE_DIR)/gan/notes.npz

# The walk depends on which model it is for (model.json): BigGAN and cppn read the
# latents section; StyleGAN reads the stylegan section and its model file.
ifeq ($(GAN_MODEL),stylegan)
WALK_INPUTS := $(PARAMS_DIR)/stylegan.json $(GAN_WEIGHTS)
MODEL_OPTIONS := --stylegan $(PARAMS_DIR)/stylegan.json
else
WALK_INPUTS := $(PARAMS_DIR)/latents.json
MODEL_OPTIONS :=
endif

# The parts named in conduct: drive their targets from notes.npz; the score (part labels,
# the tempo map for crossfade_beats) is read when there is one.
CONDUCT_INPUTS := $(PIECE_DIR)/gan/notes.npz $(PARAMS_DIR)/conduct.json $(NOTES_SCORE)

## build/<piece>/gan/latents.npz: the latent walk, one latent per frame (params: latents, or stylegan; conduct)
$(PIECE_DIR)/gan/latents.npz: $(PIECE_DIR)/gan/features.npz $(PARAMS_DIR)/model.json $(WALK_INPUTS) $(CONDUCT_INPUTS) $(DEPS_latents)
	$(PY) $(ROOT)scripts/latents.py $< $@ --params $(PARAMS_DIR)/latents.json --model $(PARAMS_DIR)/model.json $(MODEL_OPTIONS) \
	  --conduct $(PARAMS_DIR)/conduct.json --notes $(PIECE_DIR)/gan/notes.npz $(if $(NOTES_SCORE),--score $(NOTES_SCORE)) --params-name $(call shell_word,$(PARAMS))

# gan.cache_limit_mb, gan.executor and gan.ray_workers live in cache.json, read by the
# renderer but not a prerequisite: how and where segments are rendered changes no frame,
# so editing them (or gan.cache_dir) reruns nothing; the next render uses them.
SEGMENTS_DIR := $(or $(GAN_CACHE_DIR),$(PIECE_DIR)/gan/segments)
RENDER_OPTIONS = --segments-dir $(SEGMENTS_DIR) --cache $(PARAMS_DIR)/cache.json $(MODEL_OPTIONS)

## build/<piece>/gan/segments.json: the walk rendered into cached segments, gan/segments/<hash>.mkv (params: gan)
$(PIECE_DIR)/gan/segments.json: $(PIECE_DIR)/gan/latents.npz $(PARAMS_DIR)/gan.json $(filter %.json,$(WALK_INPUTS)) $(DEPS_render_frames) $(GAN_BLEND_WITH) | $(PARAMS_DIR)/cache.json
	$(PY) $(ROOT)scripts/render_frames.py $< $@ --params $(word 2,$^) $(RENDER_OPTIONS) --params-name $(call shell_word,$(PARAMS))

## build/<piece>/gan/frames.mkv: the segments joined, lossless, square, exact frame rate
$(PIECE_DIR)/gan/frames.mkv: $(PIECE_DIR)/gan/segments.json $(DEPS_concat_frames)
	$(PY) $(ROOT)scripts/concat_frames.py $< $@

## build/<piece>/gan/draft.json: the same walk, small and at a fraction of the frame rate (params: gan.draft_*)
$(PIECE_DIR)/gan/draft.json: $(PIECE_DIR)/gan/latents.npz $(PARAMS_DIR)/gan.json $(filter %.json,$(WALK_INPUTS)) $(DEPS_render_frames) $(GAN_BLEND_WITH) | $(PARAMS_DIR)/cache.json
	$(PY) $(ROOT)scripts/render_frames.py $< $@ --params $(word 2,$^) --draft $(RENDER_OPTIONS) --params-name $(call shell_word,$(PARAMS))

## build/<piece>/gan/draft.mkv: a quick look at the pictures before the full render
$(PIECE_DIR)/gan/draft.mkv: $(PIECE_DIR)/gan/draft.json $(DEPS_concat_frames)
	$(PY) $(ROOT)scripts/concat_frames.py $< $@

## build/<piece>/gan/slurm.sh: a Slurm job array that renders the segments into gan.cache_dir, without Ray
$(PIECE_DIR)/gan/slurm.sh: $(PIECE_DIR)/gan/latents.npz $(PARAMS_DIR)/gan.json $(DEPS_slurm_plan) FORCE
	$(PY) $(ROOT)scripts/slurm_plan.py $< $@ --params $(word 2,$^) --render "$(PY) $(ROOT)scripts/render_frames.py $< $(PIECE_DIR)/gan/segments.json --params $(word 2,$^) $(RENDER_OPTIONS)" --job-name dreamreel-$(PIECE) --params-name $(call shell_word,$(PARAMS))

## slurm: write build/<piece>/gan/slurm.sh (sbatch it, then make gan joins the segments)
slurm: $(PIECE_DIR)/gan/slurm.sh

## gan: the square GAN video, build/<piece>/gan/frames.mkv
gan: $(PIECE_DIR)/gan/frames.mkv

## draft: a quick low-resolution, low-frame-rate render of the same walk, build/<piece>/gan/draft.mkv
draft: $(PIECE_DIR)/gan/draft.mkv

# ---- Video --------------------------------------------------------------------------------
VIDEO_FILTERS := $(wildcard $(ROOT)filters/*.txt)

# effects.mk sets EFFECTS when effects.chain lists effects, EFFECTS_CLOCK when one of them
# follows beats or bars. With no effects there is no effects pass at all: compose reads the
# GAN frames, and the effects section is left out of the video's params hash.
# It is remade after every params split (a plain prerequisite, not order-only), which also
# makes Make re-read all its makefiles then: GNU Make 4.3 does not notice that params.mk
# changed when the first makefile it updates (score/parts.mk) waits for it order-only.
EFFECTS ?=
EFFECTS_CLOCK ?=
ifeq ($(DRY_RUN),)
$(call placeholder,$(PARAMS_DIR)/effects.mk)
include $(PARAMS_DIR)/effects.mk
## build/<piece>/params/effects.mk: whether the effects pass runs (EFFECTS, EFFECTS_CLOCK; params: effects.chain)
$(PARAMS_DIR)/effects.mk: $(PARAMS_DIR)/params.mk $(PARAMS_DIR)/effects.json $(DEPS_effects_plan)
	$(PY) $(ROOT)scripts/effects_plan.py $(word 2,$^) $@ --params-name $(call shell_word,$(PARAMS))
else
-include $(PARAMS_DIR)/effects.mk
endif
EFFECTS_CLOCK_INPUT := $(if $(EFFECTS_CLOCK),$(if $(SONG_FILE),$(PIECE_DIR)/mix/master.wav,$(PIECE_DIR)/score/score.json))
PICTURE_SOURCE := $(if $(EFFECTS),$(PIECE_DIR)/video/effects.mkv,$(PIECE_DIR)/gan/frames.mkv)

## build/<piece>/video/effects.{mkv,npz}: the GAN frames with effects keyed to the music, lossless; each effect's value per frame (params: effects)
$(PIECE_DIR)/video/effects.mkv $(PIECE_DIR)/video/effects.npz &: $(PIECE_DIR)/gan/frames.mkv $(PIECE_DIR)/gan/features.npz $(PARAMS_DIR)/effects.json $(EFFECTS_CLOCK_INPUT) $(DEPS_effects) | $(PIECE_DIR)/video/
	$(PY) $(ROOT)scripts/effects.py $< $(word 2,$^) $(PIECE_DIR)/video/effects.mkv --table $(PIECE_DIR)/video/effects.npz --params $(word 3,$^) $(if $(EFFECTS_CLOCK_INPUT),$(if $(SONG_FILE),--song,--score) $(EFFECTS_CLOCK_INPUT)) --params-name $(call shell_word,$(PARAMS))

## build/<piece>/video/picture.mkv: the square GAN video (or its effects.mkv) composed to 1920x1080 in one ffmpeg pass (graph.txt beside it)
# effects.json is a prerequisite even without effects: emptying the chain must recompose.
$(PIECE_DIR)/video/picture.mkv: $(PICTURE_SOURCE) $(PARAMS_DIR)/video.json $(VIDEO_FILTERS) $(TITLE_FONT) $(PARAMS_DIR)/effects.json $(DEPS_compose) | $(PIECE_DIR)/video/
	$(PY) $(ROOT)scripts/compose.py $< $@ --params $(word 2,$^) --filters $(ROOT)filters --params-name $(call shell_word,$(PARAMS))

# The finished files in out/ are written under a temporary name and renamed when whole, so
# Make must never delete them: a failed or interrupted rebuild keeps the last good video.
# (A grouped target's failure would otherwise delete every target after the first.)
# .PRECIOUS takes file names here: its patterns apply to implicit rules only.
.PRECIOUS: $(addprefix $(OUT)/$(PIECE),.mp4 .mkv -preview.png -features.png -pan.png -notes.png -conduct.png)

## out/<piece>.{mp4,mkv}: the picture with the master mix (H.264 stream copy; AAC 320k / FLAC)
$(OUT)/$(PIECE).mp4 $(OUT)/$(PIECE).mkv &: $(PIECE_DIR)/video/picture.mkv $(PIECE_DIR)/mix/master.wav $(PARAMS_DIR)/mux.json $(PARAMS_DIR)/piece.json $(DEPS_mux) | $(OUT)/
	$(PY) $(ROOT)scripts/mux.py $< $(word 2,$^) --mp4 $(OUT)/$(PIECE).mp4 --mkv $(OUT)/$(PIECE).mkv --params $(word 3,$^) --piece $(word 4,$^) --hash $(filter-out %/cache.json %/source.json $(if $(EFFECTS),,%/effects.json),$(wildcard $(PARAMS_DIR)/*.json)) --params-name $(call shell_word,$(PARAMS))

## out/<piece>-{preview,features}.png: frames at the strongest onsets and section changes; feature plots
# With a score, the plots get its barlines.
SCORE_BARS := $(if $(SONG_FILE),,$(PIECE_DIR)/score/score.json)
# With effects, the plots get each effect's value over time.
EFFECTS_TABLE := $(if $(EFFECTS),$(PIECE_DIR)/video/effects.npz)
$(OUT)/$(PIECE)-preview.png $(OUT)/$(PIECE)-features.png &: $(PIECE_DIR)/video/picture.mkv $(PIECE_DIR)/gan/features.npz $(PIECE_DIR)/gan/latents.npz $(SCORE_BARS) $(EFFECTS_TABLE) $(DEPS_preview) | $(OUT)/
	$(PY) $(ROOT)scripts/preview.py $< $(word 2,$^) $(word 3,$^) --sheet $(OUT)/$(PIECE)-preview.png --plots $(OUT)/$(PIECE)-features.png --title '$(PIECE)' $(if $(SCORE_BARS),--score $(SCORE_BARS)) $(if $(EFFECTS_TABLE),--effects $(EFFECTS_TABLE))

## out/<piece>-conduct.png: each conducted part's note signal beside the latent or layer motion it drives, with bars and sections
$(OUT)/$(PIECE)-conduct.png: $(PIECE_DIR)/gan/latents.npz $(PIECE_DIR)/gan/notes.npz $(DEPS_preview_conduct) | $(OUT)/
	$(PY) $(ROOT)scripts/preview_conduct.py $< $(word 2,$^) $@ --title '$(PIECE): the score conducts the picture'

## video: the finished music video, out/<piece>.mp4 (and .mkv)
video: $(OUT)/$(PIECE).mp4 $(OUT)/$(PIECE).mkv

else ifneq ($(and $(PIPELINE_GOALS),$(DRY_RUN),$(if $(INPUT_ERROR)$(LOCK_HOLDER),,yes)),)
# make -n before the first split: show the one step that can be planned.
$(PIPELINE_GOALS):
	$(SPLIT_COMMAND)
endif

# ---- Checks and upkeep --------------------------------------------------------------------
## test: the test suite (offline; sets up the environment first)
test: $(SETUP)
	cd $(ROOT) && $(PY) -m pytest -q

## bench: stage timings and speed ratios, printed and written to out/bench.json
bench: $(SETUP)
	$(PY) $(ROOT)scripts/bench.py --out $(OUT)/bench.json

## build-dir: the build folder of this piece (PARAMS=, SONG= and SCORE= choose it)
build-dir:
	@echo $(PIECE_DIR)

## clean: delete the build cache of every piece (build/); finished videos in out/ stay
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

FORCE:

.PHONY: FORCE setup doctor audio notes gan draft slurm video demo preview test bench build-dir clean clean-all help
