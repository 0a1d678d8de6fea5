package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/modelfn/modelfn/functions"
)

// EnvPort is where the Functions host tells the handler to listen.
const EnvPort = "FUNCTIONS_CUSTOMHANDLER_PORT"

// Main is the custom handler's process: it wires the functions from the
// environment, serves the host on 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT
// until ctx ends (the binary cancels it on SIGTERM or SIGINT), then
// finishes in-flight invocations and flushes the prediction log.
//
// The host ends a handler it no longer needs by killing it, so the
// shutdown flush is a best effort: the prediction log is also written in
// the background every prediction_log.flush_interval, which bounds what a
// kill can lose.
func Main(ctx context.Context, stderr io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level(os.Getenv(functions.EnvLogLevel))}))
	port := os.Getenv(EnvPort)
	if port == "" {
		return fmt.Errorf("%s is not set: the Azure Functions host starts this handler and sets it", EnvPort)
	}
	cfg, err := functions.ConfigFromEnv()
	if err != nil {
		return err
	}
	app, err := functions.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		app.Close(context.Background())
		return fmt.Errorf("custom handler: %w", err)
	}
	return Serve(ctx, app, cfg, ln)
}

// Serve answers the host on ln until ctx ends, then shuts down gracefully
// and closes app (flushing its prediction log).
func Serve(ctx context.Context, app *functions.App, cfg functions.Config, ln net.Listener) error {
	log := app.Logger
	srv := &http.Server{
		Handler: NewHandler(app, cfg),
		// Only the host on loopback calls; batch and monitor invocations
		// may run for as long as the host's functionTimeout, so there is
		// no read or write deadline beyond the headers'.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	c := &app.Bundle.Config
	log.Info("custom handler listening", "addr", ln.Addr().String(), "model", c.Name, "version", c.Version)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	log.Info("shutting down: finishing invocations and flushing the prediction log")
	shut, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	err = errors.Join(err, srv.Shutdown(shut), app.Close(shut))
	if err == nil {
		log.Info("stopped")
	}
	return err
}

func level(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
