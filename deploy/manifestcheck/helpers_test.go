package manifestcheck

import (
	"path/filepath"
	"testing"
)

// repoRoot is the repository this module lives in.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func deployPath(t *testing.T, parts ...string) string {
	return filepath.Join(append([]string{repoRoot(t), "deploy"}, parts...)...)
}
