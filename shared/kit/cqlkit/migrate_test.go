package cqlkit

import (
	"testing"
	"testing/fstest"
)

func TestParseOrdersFilesAndSplitsStatements(t *testing.T) {
	files := fstest.MapFS{
		"m/0002_more.cql": {Data: []byte("-- a comment; not a statement\nCREATE TABLE {keyspace}.b (id int PRIMARY KEY);\n")},
		"m/0001_init.cql": {Data: []byte("CREATE TABLE {keyspace}.a (id int PRIMARY KEY);\nCREATE TABLE c (id int PRIMARY KEY)\n")},
	}
	all, err := Parse(files, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Version != 1 || all[0].Name != "init" || len(all[0].Statements) != 2 ||
		all[1].Version != 2 || len(all[1].Statements) != 1 {
		t.Fatalf("parsed %+v", all)
	}
}

func TestParseRejectsBadNamesAndDuplicateVersions(t *testing.T) {
	for name, files := range map[string]fstest.MapFS{
		"no number": {"m/init.cql": {Data: []byte("x")}},
		"zero":      {"m/0000_init.cql": {Data: []byte("x")}},
		"duplicate": {"m/0001_a.cql": {Data: []byte("x")}, "m/0001_b.cql": {Data: []byte("y")}},
	} {
		if _, err := Parse(files, "m"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestValidKeyspace(t *testing.T) {
	for ks, want := range map[string]bool{"parley_auth": true, "Parley": false, "a;drop": false, "": false, "9x": false} {
		if ValidKeyspace(ks) != want {
			t.Errorf("ValidKeyspace(%q) != %v", ks, want)
		}
	}
}
