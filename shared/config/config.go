// Package config loads a component's settings from flags and environment
// variables. Each component's Config registers its own flags under a prefix
// (RegisterFlags(fs, "messages.")) and checks itself in Validate; this
// package only adds what the standard flag package lacks: environment
// override, secrets that never print, lists, and the effective-config dump.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"sort"
	"strings"
)

// EnvPrefix is prepended to every environment variable name.
const EnvPrefix = "CHAT_"

// EnvName returns the environment variable that overrides flag name:
// "messages.store-backend" → "CHAT_MESSAGES_STORE_BACKEND".
func EnvName(flagName string) string {
	r := strings.NewReplacer(".", "_", "-", "_")
	return EnvPrefix + strings.ToUpper(r.Replace(flagName))
}

// Parse parses args into fs, then fills every flag not given on the command
// line from its environment variable. Precedence: flag, environment, default.
// lookupEnv is os.LookupEnv in production and a map in tests.
func Parse(fs *flag.FlagSet, args []string, lookupEnv func(string) (string, bool)) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		env := EnvName(f.Name)
		if v, ok := lookupEnv(env); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", env, err))
			}
		}
	})
	return errors.Join(errs...)
}

// Setting is one line of the effective configuration.
type Setting struct {
	Name  string
	Value string
}

// Effective lists every flag with its value, sorted by name. Secret values
// print masked because their flag.Value masks itself.
func Effective(fs *flag.FlagSet) []Setting {
	var out []Setting
	fs.VisitAll(func(f *flag.Flag) { out = append(out, Setting{f.Name, f.Value.String()}) })
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LogEffective logs the effective configuration once at startup, so an
// operator can see what a process really runs with.
func LogEffective(logger *slog.Logger, fs *flag.FlagSet) {
	attrs := make([]any, 0, fs.NFlag())
	for _, s := range Effective(fs) {
		attrs = append(attrs, slog.String(s.Name, s.Value))
	}
	logger.Info("effective configuration", slog.Group("config", attrs...))
}

// Secret is a string flag whose value never prints: String masks it, so help
// output, Effective and logs show "*****". Read it with Reveal.
type Secret struct{ value string }

// NewSecret returns a secret holding v, for tests and defaults.
func NewSecret(v string) Secret { return Secret{value: v} }

// Set implements flag.Value.
func (s *Secret) Set(v string) error { s.value = v; return nil }

// String implements flag.Value and masks the value.
func (s *Secret) String() string {
	if s == nil || s.value == "" {
		return ""
	}
	return "*****"
}

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return s.value }

// Empty reports whether no secret was given.
func (s Secret) Empty() bool { return s.value == "" }

// StringList is a comma-separated list flag.
type StringList []string

// Set implements flag.Value; it replaces the list (so env and flags do not mix).
func (l *StringList) Set(v string) error {
	*l = nil
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

// String implements flag.Value.
func (l *StringList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}
