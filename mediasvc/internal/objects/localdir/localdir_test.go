package localdir_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleychat/parley/mediasvc/internal/objects/localdir"
	"github.com/parleychat/parley/mediasvc/internal/objects/objectstest"
	"github.com/parleychat/parley/mediasvc/internal/usecase"
)

func TestLocalDirContract(t *testing.T) {
	objectstest.Run(t, objectstest.Options{Presign: false}, func(t *testing.T) usecase.Objects {
		s, err := localdir.Open(localdir.Config{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestObjectsLiveUnderShardedPathsAndTempFilesDoNotLinger(t *testing.T) {
	dir := t.TempDir()
	s, err := localdir.Open(localdir.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), "o/123", bytes.NewReader([]byte("x")), 1, ""); err != nil {
		t.Fatal(err)
	}
	var files []string
	_ = filepath.WalkDir(filepath.Join(dir, "objects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	if len(files) != 1 || len(strings.Split(files[0], string(filepath.Separator))) != 4 || !strings.HasSuffix(files[0], "o%2F123") {
		t.Fatalf("files = %v, want objects/xx/yy/o%%2F123", files)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Fatalf("temp files left: %v", tmp)
	}
}

func TestBadKeysAreRefused(t *testing.T) {
	s, _ := localdir.Open(localdir.Config{Dir: t.TempDir()})
	for _, k := range []string{"", "../x", "a//b", "/abs", "a/./b", "sp ace", "ü"} {
		if _, err := s.Put(context.Background(), k, bytes.NewReader(nil), 0, ""); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
}
