package manifestcheck

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	"golang.org/x/mod/modfile"
)

// RepoRoot walks up from dir to the directory holding go.work.
func RepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work above the working directory")
		}
		dir = parent
	}
}

// WorkModules returns the module directories go.work lists, slash-separated
// and relative to the repository root ("gateway", "deploy/e2e"), sorted.
func WorkModules(root string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		return nil, err
	}
	wf, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range wf.Use {
		out = append(out, path.Clean(filepath.ToSlash(u.Path)))
	}
	sort.Strings(out)
	return out, nil
}

// LocalReplaces returns module dir and every module its go.mod reaches
// through replace directives with local paths, transitively: what must be
// present to build dir with GOWORK=off.
func LocalReplaces(root, dir string) ([]string, error) {
	seen := map[string]bool{}
	var visit func(string) error
	visit = func(d string) error {
		if seen[d] {
			return nil
		}
		seen[d] = true
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(d), "go.mod"))
		if err != nil {
			return err
		}
		mf, err := modfile.Parse(d+"/go.mod", data, nil)
		if err != nil {
			return err
		}
		for _, r := range mf.Replace {
			if !modfile.IsDirectoryPath(r.New.Path) {
				continue
			}
			target := path.Clean(path.Join(d, filepath.ToSlash(r.New.Path)))
			if target == ".." || len(target) > 2 && target[:3] == "../" {
				return fmt.Errorf("%s/go.mod replaces %s with %s, outside the repository", d, r.Old.Path, r.New.Path)
			}
			if err := visit(target); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(path.Clean(dir)); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	sort.Strings(out)
	return out, nil
}

// moduleOf returns the module directory (relative, slash-separated) that
// holds the package directory pkgDir, by looking for the nearest go.mod.
func moduleOf(root, pkgDir string) (string, error) {
	d := path.Clean(pkgDir)
	for {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(d), "go.mod")); err == nil {
			return d, nil
		}
		if d == "." || d == "/" {
			return "", fmt.Errorf("no go.mod above %s", pkgDir)
		}
		d = path.Dir(d)
	}
}
