package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/lsalign/lsalign/checkpoint"
	"github.com/lsalign/lsalign/internal/atomicfile"
	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/optim"
	"github.com/lsalign/lsalign/tokenizer"
)

// resumeState is what a checkpoint keeps beyond weights, moments, step and
// the data generator (checkpoint.State.Extra).
type resumeState struct {
	Config  Config  `json:"config"` // resolved
	Tokens  int64   `json:"tokens"`
	Seconds float64 `json:"seconds"`
}

// changeableOnResume are the Config fields a resumed run may change: what
// to run for and write, and the learning-rate knobs a user turns to
// recover from a diverged run. Any other difference from the checkpoint's
// config (the model, the data, the objective) is an error.
func changeableOnResume() []string {
	return []string{"steps", "save_every", "eval_every", "export", "lr", "min_lr", "warmup", "clip"}
}

// dataSeedMix separates the data stream's generator from the weights'.
const dataSeedMix = 0xda7a5eed

// start prepares a fresh or resumed run, checking the output directory
// before any training.
func start(cfg Config, opt Options) (*run, error) {
	h := opt.Hooks
	ckptDir := filepath.Join(opt.Out, CheckpointDir)
	resuming := opt.Out != "" && opt.Resume && checkpoint.Exists(ckptDir)
	if opt.Out != "" && !opt.Resume && checkpoint.Exists(ckptDir) {
		return nil, fmt.Errorf("%s already holds a training run; continue it with --resume or choose another --out", opt.Out)
	}
	r := &run{opt: opt, savedStep: -1, res: &Result{}}
	var m *model.Model
	var adam *optim.AdamW
	var err error
	if resuming {
		m, adam, r.tok, cfg, err = r.restore(cfg, ckptDir, opt.Given)
		if err != nil {
			return nil, err
		}
		h.logf("resuming %s from step %d", opt.Out, r.step)
	} else {
		if opt.Out != "" && opt.Resume {
			h.logf("no checkpoint in %s: starting a new run", opt.Out)
		}
		if m, r.tok, cfg, err = newModel(cfg); err != nil {
			return nil, err
		}
		adam = newOptimizer(m, cfg.WeightDecay)
		r.rng = rng.New(cfg.Seed ^ dataSeedMix)
	}
	r.cfg = cfg
	r.res.Config = cfg
	if opt.Out != "" {
		need := diskNeed(int64(m.NumParams()), len(cfg.Export), cfg.Steps)
		if err := checkOutput(opt.Out, need); err != nil {
			return nil, err
		}
	}
	if r.src, r.heldOut, err = buildData(cfg, m, r.tok, h, opt.Out); err != nil {
		return nil, err
	}
	if opt.Out != "" {
		if err := checkExports(opt.Out, cfg.Export, m, r.tok); err != nil {
			return nil, err
		}
		if err := atomicfile.WriteJSON(filepath.Join(opt.Out, ConfigFile), cfg); err != nil {
			return nil, err
		}
	}
	reg, err := cfg.regularizer()
	if err != nil {
		return nil, err
	}
	m.EnsureGrads()
	r.stepper = &Stepper{Model: m, Opt: adam, Clip: cfg.Clip}
	r.stepper.Obj.Reg = reg
	r.sched = optim.Schedule{MaxLR: cfg.LR, MinLR: cfg.MinLR, Warmup: cfg.Warmup, Total: cfg.Steps}
	r.res.Model, r.res.Tokenizer, r.res.HeldOut = m, r.tok, r.heldOut
	if opt.Out != "" {
		if r.log, err = openMetrics(filepath.Join(opt.Out, MetricsFile), r.step); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// restore loads the checkpoint of a run and checks that cfg asks for the
// same run (changing only what changeableOnResume allows, and only what
// given reports as chosen; see Options.Given).
func (r *run) restore(cfg Config, dir string, given func(key string) bool) (*model.Model, *optim.AdamW, *tokenizer.Tokenizer, Config, error) {
	m, adam, st, err := checkpoint.Load(dir)
	if err != nil {
		return nil, nil, nil, cfg, fmt.Errorf("resume: %w", err)
	}
	var saved resumeState
	if err := json.Unmarshal(st.Extra, &saved); err != nil {
		return nil, nil, nil, cfg, fmt.Errorf("resume: %s: training state: %w", dir, err)
	}
	if adam == nil {
		return nil, nil, nil, cfg, fmt.Errorf("resume: %s holds no optimizer state", dir)
	}
	cfg = keepSchedule(cfg, saved.Config, given)
	if cfg.Warmup < 0 { // the default depends on steps: keep the one the run started with
		cfg.Warmup = saved.Config.Warmup
	}
	if cfg.Ctx == 0 {
		cfg.Ctx = saved.Config.Ctx
	}
	cfg.RopeScaling = resolvedScaling(cfg, saved.Config)
	cfg = cfg.withDefaults()
	if diff := configDiff(saved.Config, cfg); len(diff) > 0 {
		return nil, nil, nil, cfg, configErrorf("resume: the checkpoint in %s was trained with different settings (%s); only %s may change",
			dir, strings.Join(diff, "; "), strings.Join(changeableOnResume(), ", "))
	}
	if err := cfg.Validate(); err != nil { // what came from the checkpoint (warmup) must fit the new steps
		return nil, nil, nil, cfg, err
	}
	if cfg.Steps < st.Step {
		return nil, nil, nil, cfg, configErrorf("resume: steps %d is below the checkpoint's step %d", cfg.Steps, st.Step)
	}
	adam.Decay = DecayRanges(m.Params.Layout) // the checkpoint keeps the moments, not which spans decay
	tok, err := loadTokenizer(cfg)
	if err != nil {
		return nil, nil, nil, cfg, err
	}
	r.step, r.savedStep, r.tokens, r.priorSecs = st.Step, st.Step, saved.Tokens, saved.Seconds
	r.res.Resumed = st.Step
	r.rng = rng.FromState(st.RNG)
	return m, adam, tok, cfg, nil
}

// keepSchedule takes the learning-rate settings that given reports as not
// chosen from the saved run's config.
func keepSchedule(req, saved Config, given func(key string) bool) Config {
	if given == nil {
		return req
	}
	if !given("lr") {
		req.LR = saved.LR
		if !given("min_lr") {
			req.MinLR = saved.MinLR
		}
	}
	if !given("warmup") {
		req.Warmup = saved.Warmup
	}
	if !given("clip") {
		req.Clip = saved.Clip
	}
	return req
}

// resolvedScaling is the requested RoPE scaling with the original context
// the saved run filled in, when the request left it to the default.
func resolvedScaling(req, saved Config) (s kernels.RopeScaling) {
	s = req.RopeScaling
	if s.OrigCtx == 0 && s.Type == saved.RopeScaling.Type {
		s.OrigCtx = saved.RopeScaling.OrigCtx
	}
	return s
}

// configDiff lists the JSON fields (other than the changeable ones) whose
// values differ, as "field: saved -> requested".
func configDiff(saved, req Config) []string {
	a, b := toMap(saved), toMap(req)
	var diff []string
	for k, va := range a {
		if slices.Contains(changeableOnResume(), k) {
			continue
		}
		if vb := b[k]; !reflect.DeepEqual(va, vb) {
			ja, _ := json.Marshal(va)
			jb, _ := json.Marshal(vb)
			diff = append(diff, fmt.Sprintf("%s: %s -> %s", k, ja, jb))
		}
	}
	slices.Sort(diff)
	return diff
}

func toMap(c Config) map[string]any {
	b, _ := json.Marshal(c)
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// save writes a checkpoint of the current step.
func (r *run) save() error {
	st, err := json.Marshal(resumeState{Config: r.cfg, Tokens: r.tokens, Seconds: r.res.Seconds})
	if err != nil {
		return err
	}
	dir := filepath.Join(r.opt.Out, CheckpointDir)
	if err := checkpoint.Save(dir, r.stepper.Model, r.stepper.Opt,
		checkpoint.State{Step: r.step, RNG: r.rng.Snapshot(), Extra: st}); err != nil {
		return fmt.Errorf("saving the checkpoint of step %d: %w", r.step, err)
	}
	r.savedStep = r.step
	r.opt.Hooks.logf("step %d: checkpoint saved in %s", r.step, dir)
	return nil
}

// export writes the model in each requested format and returns the paths.
func export(out string, formats []string, m *model.Model, tok *tokenizer.Tokenizer) ([]string, error) {
	var paths []string
	for _, f := range formats {
		var path, format string
		switch f {
		case ExportGGUF:
			path, format = filepath.Join(out, "model.gguf"), load.FormatGGUF
		case ExportSafetensors:
			path, format = filepath.Join(out, "hf"), load.FormatHF
		case ExportLlama2C:
			path, format = filepath.Join(out, "model.bin"), load.FormatLlama2C
		}
		if err := saveExport(path, format, m, tok); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// checkExports writes the starting model in every requested format into a
// scratch directory inside out, so that a format that cannot hold the
// model (llama2.c has no RoPE scaling) fails before training, not after.
func checkExports(out string, formats []string, m *model.Model, tok *tokenizer.Tokenizer) error {
	if len(formats) == 0 {
		return nil
	}
	dir, err := os.MkdirTemp(out, ".export-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if _, err := export(dir, formats, m, tok); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// saveExport is load.Save, except for byte vocabularies: they have no
// tokenizer.json form, so in a Hugging Face directory they travel as the
// vocabulary-only tokenizer.gguf that load reads there; and llama2.c
// tokenizers hold SentencePiece pieces only, so a llama2.c export of a
// byte-level model has no tokenizer file.
func saveExport(path, format string, m *model.Model, tok *tokenizer.Tokenizer) error {
	if tok.Kind() != tokenizer.KindByte || format == load.FormatGGUF {
		return load.Save(path, m, tok, load.SaveOptions{Format: format})
	}
	if format == load.FormatLlama2C {
		return load.Save(path, m, nil, load.SaveOptions{Format: format})
	}
	if err := load.Save(path, m, nil, load.SaveOptions{Format: format}); err != nil {
		return err
	}
	return load.SaveVocabGGUF(path, tok.Vocab())
}
