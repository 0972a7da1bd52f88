package kit

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// LogConfig selects the log format and level.
type LogConfig struct {
	Level  string
	Format string
}

// RegisterFlags registers -log.level and -log.format.
func (c *LogConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Level, "log.level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.Format, "log.format", "json", "log format: json or text")
}

// Validate checks the level and format names.
func (c *LogConfig) Validate() error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.Level)); err != nil {
		return fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Level)
	}
	if c.Format != "json" && c.Format != "text" {
		return fmt.Errorf("log.format: %q is not json or text", c.Format)
	}
	return nil
}

// NewLogger builds a slog logger writing to w; an invalid config falls back
// to info/json (Validate reports it first).
func NewLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.Format, "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
