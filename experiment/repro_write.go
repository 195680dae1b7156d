package experiment

import (
	"io"
	"os"
	"path/filepath"

	"github.com/lsalign/lsalign/internal/atomicfile"
)

// WriteOutputs writes results.json, the synthetic study's files (into
// ReproSynthDir), the figures and report.md into dir (which must exist),
// and returns their names.
func (r *ReproResult) WriteOutputs(dir string) ([]string, error) {
	files := []string{"report.md", "results.json"}
	if err := atomicfile.WriteJSON(filepath.Join(dir, "results.json"), r.resultsFile()); err != nil {
		return nil, err
	}
	if r.Synth != nil {
		sd := filepath.Join(dir, ReproSynthDir)
		if err := os.MkdirAll(sd, 0o755); err != nil {
			return nil, err
		}
		if _, err := r.Synth.WriteOutputs(sd); err != nil {
			return nil, err
		}
		files = append(files, ReproSynthDir+"/")
	}
	figs, err := saveFigures(dir, r.Figures())
	if err != nil {
		return nil, err
	}
	files = append(files, figs...)
	if err := atomicfile.Write(filepath.Join(dir, "report.md"), func(w io.Writer) error {
		_, err := io.WriteString(w, r.Report())
		return err
	}); err != nil {
		return nil, err
	}
	return files, nil
}

// reproResultsFile is results.json.
type reproResultsFile struct {
	Options      ReproOptions       `json:"options"`
	Seconds      float64            `json:"seconds"`
	Claims       []ReproClaim       `json:"claims"`
	Correlations []ReproCorrelation `json:"correlations"`
	SynthClaims  []SynthClaim       `json:"synth_claims,omitempty"`
	Base         []ReproRun         `json:"base"`
	Runs         []ReproRun         `json:"runs"`
	Definitions  map[string]string  `json:"definitions"`
}

func (r *ReproResult) resultsFile() reproResultsFile {
	out := reproResultsFile{Options: r.Options, Seconds: r.Seconds, Claims: r.Claims(),
		Correlations: r.Correlations(), Base: r.Base, Runs: r.Runs, Definitions: reproDefinitions()}
	if r.Synth != nil {
		out.SynthClaims = r.Synth.Claims()
	}
	return out
}
