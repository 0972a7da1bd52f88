package app

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/parleychat/parley/shared/config"
	"github.com/parleychat/parley/shared/kit"
)

// internalAddrFlag is the one base flag that cannot be shared: each service
// keeps its own internal listener, so it becomes -<target>.internal.addr.
const internalAddrFlag = "internal.addr"

// Settings is the binary's own configuration; the services' settings live
// in their components' configs.
type Settings struct {
	Targets config.StringList
	// DataDir holds every embedded store, the local media and the
	// generated internal secret.
	DataDir string
	// FreePorts moves every internal listener not given explicitly to a
	// free loopback port, so several copies (and tests) run side by side.
	FreePorts bool
	// Shared holds the base settings every service gets the same: logging,
	// the internal secret and the internal listener timeouts.
	Shared kit.BaseConfig
}

// flagSet is the one flag set of the binary: the shared flags once, then
// every service's own flags under the names the services define.
type flagSet struct {
	fs  *flag.FlagSet
	set *Settings
	// owned lists the flag names each component registered.
	owned map[string][]string
}

// newFlagSet registers the binary's flags and every component's (whatever
// the targets: like Mimir, -h shows all of them and a flag of a service
// that does not run is accepted and unused). The base flags each service
// registers are dropped in favour of the shared ones, except its internal
// listener, renamed -<target>.internal.addr. Any other name registered by
// two services is an error: it would be ambiguous.
func newFlagSet(name string, all []*component) (*flagSet, error) {
	f := &flagSet{fs: flag.NewFlagSet(name, flag.ContinueOnError), set: &Settings{}, owned: map[string][]string{}}
	f.set.Targets = config.StringList{targetAll}
	f.fs.Var(&f.set.Targets, "target", "services to run in this process, comma-separated: "+targetNames(all))
	f.fs.StringVar(&f.set.DataDir, "data-dir", "./data", "directory of every embedded store, the local media and the generated internal secret")
	f.fs.BoolVar(&f.set.FreePorts, "internal.free-ports", false, "put every internal listener not set by -<target>.internal.addr on a free loopback port (run several copies side by side)")

	shared := flag.NewFlagSet("shared", flag.ContinueOnError)
	f.set.Shared.RegisterFlags(shared, "127.0.0.1:0")
	base := map[string]bool{}
	shared.VisitAll(func(fl *flag.Flag) {
		base[fl.Name] = true
		if fl.Name != internalAddrFlag {
			f.fs.Var(fl.Value, fl.Name, fl.Usage+" (shared by every service)")
		}
	})

	var dup []string
	for _, c := range all {
		own := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.cfg.RegisterFlags(own)
		own.VisitAll(func(fl *flag.Flag) {
			name := fl.Name
			switch {
			case name == internalAddrFlag:
				name = c.name + "." + internalAddrFlag
				fl.Usage = c.name + "'s internal listener (health, metrics, its internal API); port 0 picks a free one"
			case base[name]:
				return
			}
			if f.fs.Lookup(name) != nil {
				dup = append(dup, name)
				return
			}
			f.fs.Var(fl.Value, name, fl.Usage)
			f.owned[c.name] = append(f.owned[c.name], name)
		})
	}
	if len(dup) > 0 {
		return nil, fmt.Errorf("flags registered by more than one service: %s", strings.Join(dup, ", "))
	}
	f.describeDerived()
	f.fs.Usage = func() { f.usage(f.fs.Output()) }
	return f, nil
}

// describeDerived shows in -h what load derives for flags not given.
func (f *flagSet) describeDerived() {
	if fl := f.fs.Lookup("gateway.allowed-origins"); fl != nil {
		fl.DefValue = "the public listener's own origin, as 127.0.0.1 and localhost when on loopback"
	}
	for c, names := range f.owned {
		for _, n := range names {
			fl := f.fs.Lookup(n)
			switch last := n[strings.LastIndex(n, ".")+1:]; {
			case last == "data-dir":
				fl.DefValue = "<data-dir>/" + c
			case urlTargets[last] != "":
				other := "not offered"
				if fl.DefValue != "" {
					other = fl.DefValue
				}
				fl.DefValue = urlTargets[last] + "'s internal listener when it runs in this process, else " + other
			}
		}
	}
}

func (f *flagSet) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage of %s (every flag can also be set by its environment variable):\n", f.fs.Name())
	fmt.Fprintf(w, "  %s bootstrap-admin -username <name> [-data-dir dir]   create the first admin (while stopped)\n", f.fs.Name())
	f.fs.VisitAll(func(fl *flag.Flag) {
		fmt.Fprintf(w, "  -%s (%s)\n    \t%s (default %q)\n", fl.Name, config.EnvName(fl.Name), fl.Usage, fl.DefValue)
	})
}

// setDefault changes a flag's default, as -h shows it, without counting it
// as given: the environment still overrides it. A flag that does not exist
// is ignored, so defaults for flags a service may not have yet are harmless.
func (f *flagSet) setDefault(name, value string) {
	fl := f.fs.Lookup(name)
	if fl == nil {
		return
	}
	if err := fl.Value.Set(value); err != nil {
		panic(fmt.Sprintf("default of -%s: %v", name, err)) // a programming error, caught by the tests
	}
	fl.DefValue = value
}

// given returns the flags set on the command line or by the environment.
func (f *flagSet) given() map[string]bool {
	out := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { out[fl.Name] = true })
	return out
}

// ownedWithSuffix returns the flags of component c whose name ends in suffix.
func (f *flagSet) ownedWithSuffix(c, suffix string) []string {
	var out []string
	for _, n := range f.owned[c] {
		if strings.HasSuffix(n, suffix) {
			out = append(out, n)
		}
	}
	return out
}

// value returns a flag's current value as text.
func (f *flagSet) value(name string) string { return f.fs.Lookup(name).Value.String() }

// setValue overwrites a flag's value after parsing.
func (f *flagSet) setValue(name, value string) error {
	if err := f.fs.Lookup(name).Value.Set(value); err != nil {
		return fmt.Errorf("-%s: %w", name, err)
	}
	return nil
}
