package manifestcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// copiesModule reports whether the build stage copies all of module dir m.
func (bs BuildStage) copiesModule(m string) bool {
	for _, c := range bs.Copies {
		for _, s := range c.Sources {
			if s == "." || s == m || strings.HasPrefix(m, s+"/") {
				return true
			}
		}
	}
	return false
}

// copiesGoMod reports whether the build stage copies m/go.mod.
func (bs BuildStage) copiesGoMod(m string) bool {
	if bs.copiesModule(m) {
		return true
	}
	for _, c := range bs.Copies {
		if slices.Contains(c.Sources, m+"/go.mod") {
			return true
		}
	}
	return false
}

// workspaceMode reports whether the build runs in workspace mode: go.work
// copied and GOWORK not off.
func (bs BuildStage) workspaceMode() bool {
	if bs.Env["GOWORK"] == "off" {
		return false
	}
	for _, c := range bs.Copies {
		if slices.Contains(c.Sources, "go.work") {
			return true
		}
	}
	return false
}

// BuiltModules returns the module directories of the packages the build
// stage compiles.
func BuiltModules(root string, df *Dockerfile) ([]string, error) {
	bs, err := df.Build()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, b := range bs.Builds {
		for _, p := range b.Packages {
			rel, ok := strings.CutPrefix(path.Join(b.Dir, p), bs.Workdir+"/")
			if !ok {
				return nil, fmt.Errorf("%s: go build of %s outside the working directory %s", df.Name, path.Join(b.Dir, p), bs.Workdir)
			}
			m, err := moduleOf(root, rel)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", df.Name, err)
			}
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// CheckModuleCopies checks that the build stage copies every module its
// build needs. Built alone (GOWORK=off), a module needs itself and every
// module its go.mod replaces with a local path (shared for each service).
// In workspace mode the go command refuses to start unless every module
// go.work lists has its go.mod, so each one must be copied.
func CheckModuleCopies(root string, df *Dockerfile, workModules []string) error {
	bs, err := df.Build()
	if err != nil {
		return err
	}
	built, err := BuiltModules(root, df)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range built {
		need, err := LocalReplaces(root, m)
		if err != nil {
			return err
		}
		for _, n := range need {
			if !bs.copiesModule(n) {
				errs = append(errs, fmt.Errorf("%s: builds %s, which needs module %s, but does not COPY %s/", df.Name, m, n, n))
			}
		}
	}
	if bs.workspaceMode() {
		for _, m := range workModules {
			if !bs.copiesGoMod(m) {
				errs = append(errs, fmt.Errorf("%s: builds in workspace mode but does not COPY %s/go.mod, which go.work lists", df.Name, m))
			}
		}
	}
	return errors.Join(errs...)
}

// CopiedModules returns the modules of workModules whose go.mod df copies.
func CopiedModules(df *Dockerfile, workModules []string) []string {
	bs, err := df.Build()
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range workModules {
		if bs.copiesGoMod(m) {
			out = append(out, m)
		}
	}
	return out
}

// ReadIgnoreFile reads a .dockerignore file.
func ReadIgnoreFile(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ignorefile.ReadAll(f)
}

// SimulateBuild replays the build stage's COPY instructions from the
// context root into a temporary directory, honouring the ignore patterns
// as `docker build` does, then asks the go command to resolve every package
// the stage builds with the stage's environment, offline (GOPROXY=off,
// -mod=readonly, the module cache of this machine). It fails when a module,
// package, go.sum entry or file the build needs is not in the image's tree:
// the compile step of the real build would fail the same way.
func SimulateBuild(ctx context.Context, root string, df *Dockerfile, ignore []string) error {
	bs, err := df.Build()
	if err != nil {
		return err
	}
	pm, err := patternmatcher.New(ignore)
	if err != nil {
		return fmt.Errorf("ignore patterns: %w", err)
	}
	tmp, err := os.MkdirTemp("", "dockerbuild-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	inImage := func(p string) string { return filepath.Join(tmp, filepath.FromSlash(p)) }

	for _, c := range bs.Copies {
		for _, src := range c.Sources {
			if err := copyFromContext(root, src, inImage(c.Dest), strings.HasSuffix(c.Dest, "/") || len(c.Sources) > 1, pm); err != nil {
				return fmt.Errorf("%s: COPY %s %s: %w", df.Name, src, c.Dest, err)
			}
		}
	}

	gowork := "off"
	if bs.workspaceMode() {
		gowork = inImage(path.Join(bs.Workdir, "go.work"))
	}
	for _, b := range bs.Builds {
		cmd := exec.CommandContext(ctx, "go", append([]string{"list", "-deps"}, b.Packages...)...)
		cmd.Dir = inImage(b.Dir)
		cmd.Env = append(filteredEnv("GOWORK", "GOFLAGS", "GOPROXY", "CGO_ENABLED", "GOTOOLCHAIN", "GOOS", "GOARCH"),
			"GOWORK="+gowork, "GOPROXY=off", "GOTOOLCHAIN=local", "CGO_ENABLED="+bs.Env["CGO_ENABLED"],
			"GOFLAGS="+strings.TrimSpace(bs.Env["GOFLAGS"]+" -mod=readonly"))
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: go build %v in %s would fail: %v\n%s", df.Name, b.Packages, b.Dir, err, strings.TrimSpace(stderr.String()))
		}
	}
	return nil
}

func filteredEnv(drop ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(drop, k) {
			out = append(out, kv)
		}
	}
	return out
}

// copyFromContext copies src (relative to root) to dest with COPY's rules:
// a directory's contents go into dest; a file goes to dest, or into it when
// intoDir. Ignored files are not in the context, as with docker build.
func copyFromContext(root, src, dest string, intoDir bool, pm *patternmatcher.PatternMatcher) error {
	if ignored, err := pm.MatchesOrParentMatches(src); err != nil || ignored {
		return fmt.Errorf("%s is excluded by the ignore file (or the pattern is bad: %v)", src, err)
	}
	srcPath := filepath.Join(root, filepath.FromSlash(src))
	info, err := os.Stat(srcPath)
	if err != nil {
		return fmt.Errorf("not in the build context: %w", err)
	}
	if !info.IsDir() {
		if intoDir {
			dest = filepath.Join(dest, filepath.Base(srcPath))
		}
		return copyFile(srcPath, dest)
	}
	return filepath.WalkDir(srcPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		ignored, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		if ignored {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		within, err := filepath.Rel(srcPath, p)
		if err != nil {
			return err
		}
		return copyFile(p, filepath.Join(dest, within))
	})
}

func copyFile(src, dest string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dest, data, 0o644)
}
