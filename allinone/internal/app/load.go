package app

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parleychat/parley/shared/config"
)

// publicAddrFlag is the gateway's public listener.
const publicAddrFlag = "public.addr"

// staticDefaults are where the all-in-one differs from a service run alone.
// Logs are for a person at a terminal; a single-process drain has nowhere
// to send clients, so it is short; every replica-unique id is fixed, since
// each service has exactly one replica here.
var staticDefaults = map[string]string{
	"log.format":            "text",
	"gateway.drain-timeout": "5s",
	"gateway.drain-spread":  "1s",
	"auth.node-id":          "1",
	"messages.node-id":      "2",
	"media.node-id":         "3",
	"groups.node-id":        "4",
}

// urlTargets maps the service-URL flags (-gateway.router-url,
// -messages.auth-url, …: any flag whose last part is one of these) to the
// target they point at. When that target runs in this process and the flag
// was not given, it is wired to the target's bound internal listener.
var urlTargets = map[string]string{
	"router-url":   "router",
	"auth-url":     "authsvc",
	"messages-url": "messagesvc",
	"receipts-url": "receiptsvc",
	"groups-url":   "groupsvc",
	"media-url":    "mediasvc",
}

// loaded is a validated configuration: the settings and the components to run.
type loaded struct {
	Settings *Settings
	Flags    *flagSet
	Run      []*component
	// Addrs are the resolved internal listener addresses by target.
	Addrs map[string]string
	// PublicAddr is the gateway's public listener, "" without a gateway.
	PublicAddr string
}

// load parses args and the environment (flag, then environment, then
// default), derives what the all-in-one wires itself (data directories,
// ports, service URLs, origins, the internal secret) for every setting not
// given, and validates each selected service's configuration.
func load(name string, args []string, lookupEnv func(string) (string, bool)) (*loaded, error) {
	all := allTargets()
	f, err := newFlagSet(name, all)
	if err != nil {
		return nil, err
	}
	for k, v := range staticDefaults {
		f.setDefault(k, v)
	}
	if err := config.Parse(f.fs, args, lookupEnv); err != nil {
		return nil, err
	}
	s := f.set
	run, err := selectTargets(all, s.Targets)
	if err != nil {
		return nil, err
	}
	if s.DataDir, err = filepath.Abs(s.DataDir); err != nil {
		return nil, err
	}
	l := &loaded{Settings: s, Flags: f, Run: run, Addrs: map[string]string{}}
	given := f.given()
	var errsOut []error
	fail := func(err error) {
		if err != nil {
			errsOut = append(errsOut, err)
		}
	}

	// Every embedded store under one directory, one folder per service.
	for _, c := range run {
		for _, n := range f.ownedWithSuffix(c.name, ".data-dir") {
			if !given[n] {
				fail(f.setValue(n, filepath.Join(s.DataDir, c.name)))
			}
		}
	}
	if s.Shared.InternalSecret.Empty() {
		secret, err := loadOrCreateSecret(s.DataDir)
		if err != nil {
			return nil, err
		}
		s.Shared.InternalSecret = config.NewSecret(secret)
	}

	// Listeners: port 0 becomes a concrete free port now, because the
	// services' URLs to each other are fixed before any of them starts.
	for _, c := range run {
		flagName := c.name + "." + internalAddrFlag
		addr := f.value(flagName)
		if s.FreePorts && !given[flagName] {
			addr = "127.0.0.1:0"
		}
		addr, err := resolvePort(addr)
		if err != nil {
			return nil, fmt.Errorf("-%s: %w", flagName, err)
		}
		fail(f.setValue(flagName, addr))
		l.Addrs[c.name] = addr
	}
	if _, ok := l.Addrs["gateway"]; ok {
		addr, err := resolvePort(f.value(publicAddrFlag))
		if err != nil {
			return nil, fmt.Errorf("-%s: %w", publicAddrFlag, err)
		}
		fail(f.setValue(publicAddrFlag, addr))
		l.PublicAddr = addr
		if !given["gateway.allowed-origins"] {
			fail(f.setValue("gateway.allowed-origins", strings.Join(originsFor(addr), ",")))
		}
	}

	// Service URLs: in-process targets are wired to where they listen.
	for _, c := range run {
		for _, n := range f.ownedWithSuffix(c.name, "-url") {
			last := n[strings.LastIndex(n, ".")+1:]
			target, ok := urlTargets[last]
			addr, running := l.Addrs[target]
			if ok && running && !given[n] {
				fail(f.setValue(n, "http://"+dialable(addr)))
			}
		}
	}

	for _, c := range run {
		b := c.cfg.Base()
		addr := b.Internal.Addr
		*b = s.Shared
		b.Internal.Addr = addr
		if err := c.cfg.Validate(); err != nil {
			errsOut = append(errsOut, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	if err := errors.Join(errsOut...); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return l, nil
}

// resolvePort replaces port 0 with a port that is free right now. The
// port could be taken before the service binds it; then startup fails with
// a clear error rather than wiring a service to a wrong address.
func resolvePort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q is not host:port", addr)
	}
	if port != "0" {
		return addr, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), nil
}

// dialable turns a listen address into one to call: a wildcard host
// (0.0.0.0, ::, empty) is reached on loopback.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// originsFor is the browser origin allow-list for a public listener: the
// page is served by the gateway itself, so its own origin, plus localhost
// and 127.0.0.1 when it listens on loopback or everywhere (anything else
// reaching it by name must be listed in -gateway.allowed-origins).
func originsFor(public string) []string {
	host, port, err := net.SplitHostPort(public)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host)
	if host == "" || host == "localhost" || (ip != nil && (ip.IsLoopback() || ip.IsUnspecified())) {
		return []string{"http://127.0.0.1:" + port, "http://localhost:" + port}
	}
	return []string{"http://" + public}
}
