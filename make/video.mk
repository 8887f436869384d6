# Video stage rules (issue 5), for the lead to paste into the Makefile or `include`.
# Expects: PY, BUILD, OUT, ROOT (with trailing slash), LIB, PIECE (the piece's name).
# compose depends on the video params only (never on audio or mix params); mux depends
# on the picture and the master, so a new master remuxes without recomposing.

VIDEO_FILTERS := $(wildcard $(ROOT)filters/*.txt)

## build/video/picture.mkv: the square GAN video composed to 1920x1080 in one ffmpeg pass (graph.txt beside it)
$(BUILD)/video/picture.mkv: $(BUILD)/gan/frames.mkv $(BUILD)/params/video.json $(VIDEO_FILTERS) $(ROOT)scripts/compose.py $(LIB) | $(BUILD)/video/
	$(PY) $(ROOT)scripts/compose.py $< $@ --params $(word 2,$^) --filters $(ROOT)filters

## out/<piece>.mp4 and out/<piece>.mkv: the picture with the master mix (H.264 copy; AAC 320k / FLAC)
$(OUT)/$(PIECE).mp4 $(OUT)/$(PIECE).mkv &: $(BUILD)/video/picture.mkv $(BUILD)/mix/master.wav $(BUILD)/params/mux.json $(BUILD)/params/piece.json $(ROOT)scripts/mux.py $(LIB) | $(OUT)/
	$(PY) $(ROOT)scripts/mux.py $< $(word 2,$^) --mp4 $(OUT)/$(PIECE).mp4 --mkv $(OUT)/$(PIECE).mkv --params $(word 3,$^) --piece $(word 4,$^) --hash $(wildcard $(BUILD)/params/*.json)

## out/<piece>-preview.png and -features.png: frames at the strongest onsets and section changes; feature plots
$(OUT)/$(PIECE)-preview.png $(OUT)/$(PIECE)-features.png &: $(BUILD)/video/picture.mkv $(BUILD)/gan/features.npz $(BUILD)/gan/latents.npz $(ROOT)scripts/preview.py $(LIB) | $(OUT)/
	$(PY) $(ROOT)scripts/preview.py $< $(word 2,$^) $(word 3,$^) --sheet $(OUT)/$(PIECE)-preview.png --plots $(OUT)/$(PIECE)-features.png --title '$(PIECE)'

.PHONY: video preview
## video: the finished music video, out/<piece>.mp4 (and .mkv)
video: $(OUT)/$(PIECE).mp4 $(OUT)/$(PIECE).mkv
## preview: the contact sheet and feature plots of the piece
preview: $(OUT)/$(PIECE)-preview.png $(OUT)/$(PIECE)-features.png
