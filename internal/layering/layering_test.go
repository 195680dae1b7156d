package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/lsalign/lsalign/"

var levels = map[string]int{
	"internal/parallel": 0, "internal/rng": 0, "internal/layering": 0, "internal/buildinfo": 0, "internal/half": 0,
	"internal/atomicfile": 0, "internal/memlimit": 0, "internal/journal": 0, "internal/testutil": 1,
	"kernels/gemm": 1, "kernels/ref": 1, "format/gguf": 1, "format/safetensors": 1, "format/llama2c": 1,
	"tokenizer": 1,
	"kernels":   2,
	"model":     3, "optim": 3, "data": 3, "synth": 3,
	"checkpoint": 4, "load": 4, "align": 4,
	"train": 5, "eval": 5, "infer": 5, "report": 5,
	"experiment":  6,
	"cmd/lsalign": 7,
}

func TestImportsFlowDownward(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "scripts") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		lvl, ok := levels[pkg]
		if !ok {
			t.Errorf("package %s has no level: add it to the table here and in doc.go", pkg)
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if !strings.HasPrefix(p, module) {
				continue
			}
			dep := strings.TrimPrefix(p, module)
			if dl, ok := levels[dep]; !ok || dl >= lvl {
				t.Errorf("%s (level %d) imports %s (level %d): imports must flow to lower levels", path, lvl, dep, dl)
			}
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}
