package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	awsprovider "github.com/modelfn/modelfn/providers/aws"
	"github.com/modelfn/modelfn/runtime/bundle"
	"github.com/modelfn/modelfn/testing/tools"
)

// The Lambda function runs as in providers/aws's tests: the zip that
// deployment builds (amd64, as the emulator is x86-64 only), unpacked as
// Lambda unpacks it, with its prediction log on versitygw (S3 on loopback).

const (
	s3Access = "modelfnbenchaccess"
	s3Secret = "modelfnbenchsecret0123456789"
	s3Region = "us-east-1"
	s3Bucket = "bench-logs"
)

func s3Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + s3Access, "AWS_SECRET_ACCESS_KEY=" + s3Secret, "AWS_REGION=" + s3Region}
}

// lambdaTask builds the function zip and unpacks it; it returns the task
// folder holding bootstrap and bundle/.
func (s *setup) lambdaTask(ctx context.Context) (string, error) {
	b, err := bundle.Load(s.bundle)
	if err != nil {
		return "", err
	}
	var log bytes.Buffer
	art, err := awsprovider.Cloud{GOARCH: "amd64"}.Build(ctx, b, filepath.Join(s.tmp, "dist"), &log)
	if err != nil {
		return "", fmt.Errorf("%w\n%s", err, log.String())
	}
	task := filepath.Join(s.tmp, "task")
	return task, tools.Unzip(art.Path, task)
}

// startS3 runs versitygw (posix backend) with one bucket for the log and
// returns that bucket's gocloud URL.
func (s *setup) startS3(ctx context.Context) (string, func(), error) {
	root, err := os.MkdirTemp(s.tmp, "s3-")
	if err != nil {
		return "", nil, err
	}
	meta, data := filepath.Join(root, "meta"), filepath.Join(root, "data")
	for _, d := range []string{meta, data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", nil, err
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	p, err := startProc("versitygw", root, nil, s.versitygwBin, "--access", s3Access, "--secret", s3Secret,
		"--region", s3Region, "--port", addr, "posix", "--sidecar", meta, data)
	if err != nil {
		return "", nil, err
	}
	stop := func() { p.stop(10 * time.Second) }
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := poll(wctx, p, 20*time.Millisecond, func() (bool, error) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil, nil
	}); err != nil {
		stop()
		return "", nil, err
	}
	endpoint := "http://" + addr
	client := s3.New(s3.Options{Region: s3Region, BaseEndpoint: awssdk.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(s3Access, s3Secret, "")})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awssdk.String(s3Bucket)}); err != nil {
		stop()
		return "", nil, p.failure(fmt.Errorf("create bucket %s: %w", s3Bucket, err))
	}
	q := url.Values{"endpoint": {endpoint}, "use_path_style": {"true"}, "region": {s3Region}}
	return "s3://" + s3Bucket + "?" + q.Encode(), stop, nil
}
