package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Cold start: exec to the first correct prediction of one row, and the
// peak RSS of the process that answered.

type coldKind struct {
	name    string
	measure func(ctx context.Context) (ms, rssMB float64, err error)
}

// noKeepAlive: every poll dials afresh, as a first client would.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}

const coldPoll = time.Millisecond

func (s *setup) coldSection(ctx context.Context) ([]Row, error) {
	s3url, stopS3, err := s.startS3(ctx)
	if err != nil {
		return nil, err
	}
	defer stopS3()
	task, err := s.lambdaTask(ctx)
	if err != nil {
		return nil, err
	}
	one, err := s.ex.body(1)
	if err != nil {
		return nil, err
	}
	rowJSON, err := json.Marshal(s.ex.rows[0])
	if err != nil {
		return nil, err
	}
	kinds := []coldKind{
		{"lambda", func(ctx context.Context) (float64, float64, error) { return s.coldLambda(ctx, task, s3url, one) }},
		{"serve", func(ctx context.Context) (float64, float64, error) { return s.coldServe(ctx, one) }},
		{"python", func(ctx context.Context) (float64, float64, error) { return s.coldPython(ctx, string(rowJSON)) }},
		{"uvicorn", func(ctx context.Context) (float64, float64, error) { return s.coldUvicorn(ctx, one) }},
	}
	ms := map[string][]float64{}
	rss := map[string][]float64{}
	for run := 0; run < s.cfg.coldRuns; run++ {
		for i := range kinds {
			k := kinds[(i+run)%len(kinds)] // rotate, so no kind always goes first
			t, m, err := k.measure(ctx)
			for try := 1; try < 3 && err != nil && strings.Contains(err.Error(), "address already in use"); try++ {
				// A free port can still be taken, by an outgoing connection's, before the process binds it.
				s.log.Warn("cold start: port taken; again", "kind", k.name, "err", err)
				t, m, err = k.measure(ctx)
			}
			if err != nil {
				return nil, fmt.Errorf("cold start %s: %w", k.name, err)
			}
			s.log.Info("cold start", "kind", k.name, "run", run+1, "ms", t, "peak_rss_mb", m)
			ms[k.name], rss[k.name] = append(ms[k.name], t), append(rss[k.name], m)
		}
	}
	const (
		py  = againstPython
		uvi = againstUvicorn
	)
	goal := func(r Row) Row {
		met := r.Advantage.Median >= 20 && r.Modelfn.Median < 50
		r.Met, r.GoalText = &met, "≥ 20× and < 50 ms"
		return r
	}
	rows := []Row{
		goal(compare("cold start", "Lambda bootstrap under the emulator: exec to first correct prediction", py,
			newFigure("ms", ms["lambda"]), newFigure("ms", ms["python"]), false, 20, "")),
		goal(compare("cold start", "modelfn serve: exec to first 200 on /predict", py,
			newFigure("ms", ms["serve"]), newFigure("ms", ms["python"]), false, 20, "")),
		compare("cold start", "modelfn serve against a Python server", uvi,
			newFigure("ms", ms["serve"]), newFigure("ms", ms["uvicorn"]), false, 0, ""),
		compare("cold start", "peak RSS: Lambda bootstrap", py, newFigure("MB", rss["lambda"]), newFigure("MB", rss["python"]), false, 0, ""),
		compare("cold start", "peak RSS: modelfn serve", py, newFigure("MB", rss["serve"]), newFigure("MB", rss["python"]), false, 0, ""),
		compare("cold start", "peak RSS: modelfn serve against a Python server", uvi, newFigure("MB", rss["serve"]), newFigure("MB", rss["uvicorn"]), false, 0, ""),
	}
	rows[0].Note = "the emulator's own start is included; peak RSS is the bootstrap's VmHWM (/proc) after its first answer"
	rows[3].Note = "servers: VmHWM from /proc/PID/status after the first answer; the Python process: its own VmHWM when it exits"
	return rows, nil
}

// coldLambda starts the emulator with the bootstrap and invokes it with an
// HTTP API event until it answers.
func (s *setup) coldLambda(ctx context.Context, task, s3url string, one []byte) (float64, float64, error) {
	addrs, err := freeAddrs(2) // the emulator's and the runtime API's
	if err != nil {
		return 0, 0, err
	}
	addr, api := addrs[0], addrs[1]
	event, err := json.Marshal(events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: "/predict",
		Headers: map[string]string{"content-type": "application/json"},
		Body:    string(one),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "$default", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/predict", Protocol: "HTTP/1.1"},
		},
	})
	if err != nil {
		return 0, 0, err
	}
	env := append(s3Env(),
		"AWS_LAMBDA_FUNCTION_NAME=modelfn-predict", "AWS_LAMBDA_FUNCTION_TIMEOUT=60", "AWS_EC2_METADATA_DISABLED=true",
		"MODELFN_FUNCTION=predict", "MODELFN_LOG_URL="+s3url, "MODELFN_LOG_LEVEL=warn")
	p, err := startProc("aws-lambda-rie", task, env, s.rieBin,
		"--runtime-interface-emulator-address", addr, "--runtime-api-address", api, "--log-level", "error",
		filepath.Join(task, "bootstrap"))
	if err != nil {
		return 0, 0, err
	}
	defer p.kill()
	var answered time.Time
	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	err = poll(ctx, p, coldPoll, func() (bool, error) {
		status, body, err := postTo(ctx, noKeepAlive, url, "", event)
		if err != nil {
			return false, nil // not listening yet
		}
		answered = time.Now()
		if status != http.StatusOK {
			return false, fmt.Errorf("invoke: status %d: %.300s", status, body)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("invoke answered %.300s (%v)", body, err)
		}
		return true, s.ex.checkAnswer([]byte(resp.Body), 1)
	})
	if err != nil {
		return 0, 0, err
	}
	boot, err := childOf(p.pid())
	if err != nil {
		return 0, 0, p.failure(err)
	}
	defer killPID(boot)
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", boot)); strings.TrimSpace(string(comm)) != "bootstrap" {
		return 0, 0, fmt.Errorf("the emulator's child is %q, not the bootstrap", strings.TrimSpace(string(comm)))
	}
	rss, err := peakRSS(boot)
	if err != nil {
		return 0, 0, err
	}
	return ms(answered.Sub(p.started)), rss, nil
}

func killPID(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

func (s *setup) coldServe(ctx context.Context, one []byte) (float64, float64, error) {
	addr, err := freeAddr()
	if err != nil {
		return 0, 0, err
	}
	data, err := os.MkdirTemp(s.tmp, "cold-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(data)
	p, err := startProc("modelfn serve", s.root, nil, s.modelfnBin, "serve", "--bundle", s.bundle, "--addr", addr, "--data", data)
	if err != nil {
		return 0, 0, err
	}
	defer p.kill()
	return s.coldHTTP(ctx, p, "http://"+addr+"/predict", one)
}

func (s *setup) coldUvicorn(ctx context.Context, one []byte) (float64, float64, error) {
	addr, err := freeAddr()
	if err != nil {
		return 0, 0, err
	}
	host, port, _ := strings.Cut(addr, ":")
	p, err := startProc("uvicorn", s.root, []string{"OMP_NUM_THREADS=1", "MODELFN_MODEL=" + filepath.Join(s.ex.dir, "model.json")},
		s.python, "-m", "uvicorn", "app:app", "--app-dir", filepath.Join(s.root, "testing", "compare", "py"),
		"--host", host, "--port", port, "--workers", "1", "--no-access-log", "--log-level", "warning")
	if err != nil {
		return 0, 0, err
	}
	defer p.kill()
	return s.coldHTTP(ctx, p, "http://"+addr+"/predict", one)
}

// coldHTTP polls url until it answers one row correctly.
func (s *setup) coldHTTP(ctx context.Context, p *proc, url string, one []byte) (float64, float64, error) {
	var answered time.Time
	err := poll(ctx, p, coldPoll, func() (bool, error) {
		status, body, err := postTo(ctx, noKeepAlive, url, "application/json", one)
		if err != nil || status == http.StatusServiceUnavailable {
			return false, nil
		}
		answered = time.Now()
		if status != http.StatusOK {
			return false, fmt.Errorf("status %d: %.300s", status, body)
		}
		return true, s.ex.checkAnswer(body, 1)
	})
	if err != nil {
		return 0, 0, err
	}
	rss, err := peakRSS(p.pid())
	if err != nil {
		return 0, 0, err
	}
	return ms(answered.Sub(p.started)), rss, nil
}

// coldPython runs the one-shot Python process and times exec to its line.
func (s *setup) coldPython(ctx context.Context, row string) (float64, float64, error) {
	cmd := exec.CommandContext(ctx, s.python, filepath.Join(s.root, "testing", "compare", "py", "coldstart.py"),
		filepath.Join(s.ex.dir, "model.json"), row)
	cmd.Env = baseEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	br := bufio.NewReader(out)
	line, rerr := br.ReadBytes('\n')
	answered := time.Now()
	rest, _ := io.ReadAll(br) // its peak RSS, printed after the answer
	if err := cmd.Wait(); err != nil || rerr != nil {
		return 0, 0, fmt.Errorf("coldstart.py: %v %v: %s", err, rerr, stderr.String())
	}
	var a struct{ Probabilities [2]float64 }
	if err := json.Unmarshal(line, &a); err != nil {
		return 0, 0, fmt.Errorf("coldstart.py printed %q: %w", line, err)
	}
	if err := s.ex.checkRow(0, a.Probabilities[0], a.Probabilities[1]); err != nil {
		return 0, 0, fmt.Errorf("coldstart.py: %w", err)
	}
	var m struct {
		PeakRSSMB float64 `json:"peak_rss_mb"`
	}
	if err := json.Unmarshal(rest, &m); err != nil || m.PeakRSSMB == 0 {
		return 0, 0, fmt.Errorf("coldstart.py printed %q after its answer: %v", rest, err)
	}
	return ms(answered.Sub(start)), m.PeakRSSMB, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func postTo(ctx context.Context, c *http.Client, url, ctype string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
