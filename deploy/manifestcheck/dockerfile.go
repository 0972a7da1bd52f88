package manifestcheck

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Dockerfile is a parsed Dockerfile: BuildKit's own parser and instruction
// decoder, so an unknown instruction or a bad flag fails here as it would
// in `docker build`.
type Dockerfile struct {
	Name     string
	MetaArgs map[string]string
	Stages   []instructions.Stage
}

// ContextCopy is a COPY from the build context.
type ContextCopy struct {
	Sources []string // relative to the context root, slash-separated, cleaned
	Dest    string   // absolute in the image
}

// GoBuild is one `go build` of a RUN line: the directory it runs in
// (absolute in the image) and the packages it builds.
type GoBuild struct {
	Dir      string
	Packages []string
}

// BuildStage is what the first stage does that matters to the checks.
type BuildStage struct {
	Workdir string
	Env     map[string]string
	Copies  []ContextCopy
	Builds  []GoBuild
}

// ParseDockerfile parses data as the Dockerfile called name.
func ParseDockerfile(name string, data []byte) (*Dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	df := &Dockerfile{Name: name, MetaArgs: map[string]string{}, Stages: stages}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			df.MetaArgs[kv.Key] = kv.ValueString()
		}
	}
	return df, nil
}

// BaseImage returns the image stage i starts from, ARG defaults expanded.
func (df *Dockerfile) BaseImage(i int) string {
	return os.Expand(df.Stages[i].BaseName, func(k string) string { return df.MetaArgs[k] })
}

// Build returns the build stage: the first one.
func (df *Dockerfile) Build() (BuildStage, error) {
	if len(df.Stages) == 0 {
		return BuildStage{}, errors.New("no stage")
	}
	bs := BuildStage{Workdir: "/", Env: map[string]string{}}
	for _, c := range df.Stages[0].Commands {
		switch c := c.(type) {
		case *instructions.WorkdirCommand:
			bs.Workdir = absIn(bs.Workdir, c.Path)
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				bs.Env[kv.Key] = kv.Value
			}
		case *instructions.CopyCommand:
			if c.From != "" {
				continue
			}
			cc := ContextCopy{Dest: absIn(bs.Workdir, c.DestPath)}
			if strings.HasSuffix(c.DestPath, "/") && !strings.HasSuffix(cc.Dest, "/") {
				cc.Dest += "/"
			}
			for _, s := range c.SourcePaths {
				cc.Sources = append(cc.Sources, path.Clean(strings.TrimPrefix(s, "/")))
			}
			bs.Copies = append(bs.Copies, cc)
		case *instructions.RunCommand:
			bs.Builds = append(bs.Builds, goBuilds(bs.Workdir, strings.Join(c.CmdLine, " "))...)
		}
	}
	return bs, nil
}

// goBuilds finds the `go build` commands of a shell line, following `cd`.
func goBuilds(workdir, line string) []GoBuild {
	var out []GoBuild
	dir := workdir
	for _, seg := range strings.FieldsFunc(line, func(r rune) bool { return r == '&' || r == ';' || r == '\n' }) {
		f := strings.Fields(seg)
		switch {
		case len(f) >= 2 && f[0] == "cd":
			dir = absIn(dir, f[1])
		case len(f) >= 2 && f[0] == "go" && f[1] == "build":
			b := GoBuild{Dir: dir}
			for i := 2; i < len(f); i++ {
				if f[i] == "-o" || f[i] == "-ldflags" || f[i] == "-tags" {
					i++ // the flag's value
					continue
				}
				if f[i] == "." || strings.HasPrefix(f[i], "./") {
					b.Packages = append(b.Packages, f[i])
				}
			}
			out = append(out, b)
		}
	}
	return out
}

func absIn(dir, p string) string {
	if strings.HasPrefix(p, "/") {
		return path.Clean(p)
	}
	return path.Join(dir, p)
}

// Final returns the commands of the last stage.
func (df *Dockerfile) Final() []instructions.Command {
	return df.Stages[len(df.Stages)-1].Commands
}

// allowedRuntimeBase reports whether image is a minimal base with no shell
// or package manager: distroless static, or scratch.
func allowedRuntimeBase(image string) bool {
	return image == "scratch" || strings.HasPrefix(image, "gcr.io/distroless/static")
}

// CheckDockerfile checks the image's shape: a separate build stage with
// CGO off, a minimal runtime base pinned to a tag, a non-root user, an
// exec-form health check and entrypoint (there is no shell in the image)
// whose binaries the build stage produced, and no file from the context in
// the runtime image.
func CheckDockerfile(df *Dockerfile) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(df.Name+": "+format, args...)) }
	if len(df.Stages) < 2 {
		bad("want a multi-stage build (build, then runtime); got %d stage(s)", len(df.Stages))
		return errors.Join(errs...)
	}
	bs, _ := df.Build()
	if bs.Env["CGO_ENABLED"] != "0" {
		bad("the build stage must set CGO_ENABLED=0 (static binary for a libc-less base)")
	}
	if len(bs.Builds) == 0 {
		bad("the build stage runs no `go build`")
	}
	base := df.BaseImage(len(df.Stages) - 1)
	if !allowedRuntimeBase(base) {
		bad("runtime base %q is not distroless/static or scratch", base)
	}
	if base != "scratch" && (!strings.Contains(base, ":") || strings.HasSuffix(base, ":latest")) {
		bad("runtime base %q must be pinned to a tag other than latest", base)
	}

	var user string
	var health []string
	var entrypoint *instructions.EntrypointCommand
	shipped := map[string]bool{}
	for _, c := range df.Final() {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.HealthCheckCommand:
			health = c.Health.Test
		case *instructions.EntrypointCommand:
			entrypoint = c
		case *instructions.CopyCommand:
			if c.From == "" {
				bad("the runtime stage copies %v from the build context; only build outputs belong there", c.SourcePaths)
				continue
			}
			for _, s := range c.SourcePaths {
				dest := c.DestPath
				if strings.HasSuffix(dest, "/") {
					dest = path.Join(dest, path.Base(s))
				}
				shipped[dest] = true
			}
		case *instructions.RunCommand:
			bad("the runtime stage runs %q: a distroless image has no shell", strings.Join(c.CmdLine, " "))
		}
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "root" || name == "0" {
		bad("the runtime stage must switch to a non-root USER (got %q)", user)
	}
	switch {
	case len(health) < 2:
		bad("no HEALTHCHECK")
	case health[0] != "CMD":
		bad("HEALTHCHECK must be exec form (%v): the image has no shell", health)
	case !shipped[health[1]]:
		bad("HEALTHCHECK runs %s, which the image does not contain", health[1])
	}
	switch {
	case entrypoint == nil:
		bad("no ENTRYPOINT")
	case entrypoint.PrependShell:
		bad("ENTRYPOINT must be exec form: the image has no shell")
	case !shipped[entrypoint.CmdLine[0]]:
		bad("ENTRYPOINT runs %s, which the image does not contain", entrypoint.CmdLine[0])
	}
	return errors.Join(errs...)
}
