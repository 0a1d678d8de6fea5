// Command bootstrap is modelfn's Lambda function (runtime provided.al2023):
// one binary for the three roles, chosen by MODELFN_FUNCTION (predict,
// batch or monitor). Build it with `modelfn build --cloud aws`.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/modelfn/modelfn/providers/aws"
)

// shutdownGrace bounds the final flush. Lambda allows about 500 ms after
// SIGTERM; the bound only matters if the store hangs.
const shutdownGrace = 2 * time.Second

func main() {
	log := aws.NewLogger(os.Stdout)
	ctx := context.Background()
	h, fn, err := aws.FromEnv(ctx, log)
	if err != nil {
		log.Error("function failed to start", "err", err)
		os.Exit(1)
	}
	lambda.StartWithOptions(fn, lambda.WithEnableSIGTERM(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		code := 0
		if err := h.Shutdown(ctx); err != nil {
			log.Error("shutdown: prediction log not fully written", "err", err)
			code = 1
		}
		os.Exit(code)
	}))
}
