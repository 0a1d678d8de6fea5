package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/modelfn/modelfn/functions"
	"github.com/modelfn/modelfn/functions/batch"
	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/providers/aws"
	"github.com/modelfn/modelfn/providers/azure"
	"github.com/modelfn/modelfn/providers/gcp"
	"github.com/modelfn/modelfn/providers/local"
	"github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/testing/example"
)

var updateHostile = flag.Bool("update-hostile", false, "rewrite HOSTILE.md from the answers this run got")

// hostileRow is one input tried and the answer it got.
type hostileRow struct {
	section, group, input, answer string
	order                         int // rows are listed in the order the cases are declared
}

type hostileTable struct {
	mu   sync.Mutex
	rows []hostileRow
}

func (h *hostileTable) add(section, group, input, answer string) {
	h.addAt(-1, section, group, input, answer)
}

// addAt adds a row at position order of its section (-1: after the
// rows added so far).
func (h *hostileTable) addAt(order int, section, group, input, answer string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if order < 0 {
		order = 1000 + len(h.rows)
	}
	h.rows = append(h.rows, hostileRow{section, group, input, answer, order})
}

var sections = []struct{ name, intro string }{
	{"predict", "`modelfn serve` on loopback, over real HTTP (the server allows 10 s for the request line and headers, at most 16 KiB of them, then 60 s for the body; `limits.max_body_bytes` 6 MiB, `limits.max_rows` 10,000). Answer: the HTTP status and the `code` of the JSON error body."},
	{"batch", "`batch.Scorer` on the local store, the object dropped under `input/` (or named by the key shown). Answer: what the run did, or the error it returned; *permanent* errors are acknowledged by every cloud adapter instead of being retried."},
	{"events", "The cloud adapters' batch entry points, in process, with event payloads naming keys that try to leave `input/`. Nothing may be read or written outside the batch prefixes."},
	{"log", "The prediction-log reader (`predlog.Decoder`, used by the monitor) on hostile log objects. A corrupt object is skipped whole and counted (`monitor_corrupt_objects`); it never stops a run."},
}

// TestHostileInput sends every hostile input in the table to the predict
// endpoint and the batch, event and log readers, and records the answer
// each got. It fails on any 5xx, panic or hang; the table is HOSTILE.md
// (rewritten with -update-hostile, otherwise checked against it).
func TestHostileInput(t *testing.T) {
	t.Parallel()
	var evidence string
	report(t, "hostile", "every input in HOSTILE.md: no 5xx, no panic, no hang", &evidence)
	table := &hostileTable{}
	t.Run("predict", func(t *testing.T) { t.Parallel(); hostilePredict(t, table) })
	t.Run("batch", func(t *testing.T) { t.Parallel(); hostileBatch(t, table) })
	t.Run("events", func(t *testing.T) { t.Parallel(); hostileEvents(t, table) })
	t.Run("log", func(t *testing.T) { t.Parallel(); hostileLog(t, table) })
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		md := renderHostile(table)
		counts := map[string]int{}
		for _, r := range table.rows {
			counts[r.section]++
		}
		evidence = fmt.Sprintf("%d inputs (predict %d, batch %d, events %d, log %d); table in testing/reliability/HOSTILE.md",
			len(table.rows), counts["predict"], counts["batch"], counts["events"], counts["log"])
		if *updateHostile {
			if err := os.WriteFile("HOSTILE.md", md, 0o644); err != nil {
				t.Error(err)
			}
			return
		}
		old, err := os.ReadFile("HOSTILE.md")
		if err != nil || !bytes.Equal(old, md) {
			t.Errorf("HOSTILE.md does not match the answers of this run (%v): run `go test ./testing/reliability -run TestHostileInput -update-hostile` and review the difference", err)
			os.WriteFile(filepath.Join(os.TempDir(), "HOSTILE.md.new"), md, 0o644)
		}
	})
}

func renderHostile(table *hostileTable) []byte {
	var b bytes.Buffer
	b.WriteString("# Hostile input\n\nWritten by `TestHostileInput` (testing/reliability/hostile_test.go), which sends each input and\nrecords the answer it got; the test fails on any 5xx, panic or hang, and on a difference from\nthis file (`go test ./testing/reliability -run TestHostileInput -update-hostile` rewrites it).\n")
	for _, s := range sections {
		var rows []hostileRow
		for _, r := range table.rows {
			if r.section == s.name {
				rows = append(rows, r)
			}
		}
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].order < rows[j].order })
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n| kind | input | answer |\n|---|---|---|\n", s.name, s.intro)
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", r.group, cell(r.input), cell(r.answer))
		}
	}
	return b.Bytes()
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// ---- predict ----

type predictCase struct {
	group, input string
	path, ctype  string // path "" is /predict; ctype "" sends none
	body         func() io.Reader
	length       int64 // -1: chunked; 0: the body's length
	method       string
}

func str(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }

// repeat is n bytes of pattern, cycled, after prefix.
func repeat(prefix, pattern string, n int64) func() io.Reader {
	return func() io.Reader {
		return io.MultiReader(strings.NewReader(prefix), io.LimitReader(&cycle{p: []byte(pattern)}, n-int64(len(prefix))))
	}
}

type cycle struct {
	p []byte
	i int
}

func (c *cycle) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = c.p[c.i]
		c.i = (c.i + 1) % len(c.p)
	}
	return len(b), nil
}

func hostilePredict(t *testing.T, table *hostileTable) {
	srv := startServer(t, t.TempDir())
	hold, _ := example.Holdout(t)
	row := func(edit func(map[string]any)) string {
		r := map[string]any{}
		for k, v := range hold[0] {
			r[k] = v
		}
		edit(r)
		b, _ := json.Marshal(r)
		return string(b)
	}
	good := row(func(map[string]any) {})
	withField := func(raw string) string { // good row with "mean radius" replaced by raw JSON
		return strings.Replace(good, `"mean radius":`+fmt.Sprint(hold[0]["mean radius"]), `"mean radius":`+raw, 1)
	}
	inst := func(rows ...string) string { return `{"instances":[` + strings.Join(rows, ",") + `]}` }
	var nums []string
	for i := 0; i < 30; i++ {
		nums = append(nums, "1")
	}
	arrayRow := "[" + strings.Join(nums, ",") + "]"
	oip := func(tensor string) string { return `{"inputs":[` + tensor + `]}` }
	infer := "/v2/models/breast-cancer/infer"
	const mb = 1 << 20

	cases := []predictCase{
		{group: "baseline", input: "a valid row", body: str(inst(good))},
		{group: "malformed JSON", input: "`{\"instances\": [` (cut short)", body: str(`{"instances": [`)},
		{group: "malformed JSON", input: "`{instances: []}` (unquoted key)", body: str(`{instances: []}`)},
		{group: "malformed JSON", input: "`not json`", body: str(`not json`)},
		{group: "malformed JSON", input: "empty body", body: str(``)},
		{group: "malformed JSON", input: "trailing comma in a row", body: str(strings.Replace(inst(good), "}]}", ",}]}", 1))},
		{group: "malformed JSON", input: "two JSON documents", body: str(inst(good) + inst(good))},
		{group: "malformed JSON", input: "`'single quotes'`", body: str(`{'instances': []}`)},
		{group: "wrong types", input: "`null` body", body: str(`null`)},
		{group: "wrong types", input: "top-level array", body: str(`[` + good + `]`)},
		{group: "wrong types", input: "`instances` is an object", body: str(`{"instances":` + good + `}`)},
		{group: "wrong types", input: "a row is a number", body: str(inst(`5`))},
		{group: "wrong types", input: "a feature is a string (`\"big\"`)", body: str(inst(withField(`"big"`)))},
		{group: "wrong types", input: "a feature is `true`", body: str(inst(withField(`true`)))},
		{group: "wrong types", input: "a feature is an object", body: str(inst(withField(`{"a":1}`)))},
		{group: "wrong types", input: "a feature is an array", body: str(inst(withField(`[1,2]`)))},
		{group: "wrong types", input: "array row of 3 values (30 expected)", body: str(inst(`[1,2,3]`))},
		{group: "wrong types", input: "array row of 31 values", body: str(inst(arrayRow[:len(arrayRow)-1] + ",1]"))},
		{group: "wrong types", input: "no rows: `{\"instances\": []}`", body: str(inst())},
		{group: "wrong types", input: "a feature missing", body: str(inst(row(func(r map[string]any) { delete(r, "mean radius") })))},
		{group: "huge numbers", input: "`1e400` (overflows float64)", body: str(inst(withField(`1e400`)))},
		{group: "huge numbers", input: "`-1e400`", body: str(inst(withField(`-1e400`)))},
		{group: "huge numbers", input: "`1e308` (finite, far out of range)", body: str(inst(withField(`1e308`)))},
		{group: "huge numbers", input: "`1e-400` (underflows to 0)", body: str(inst(withField(`1e-400`)))},
		{group: "huge numbers", input: "a 30-digit integer", body: str(inst(withField(`123456789012345678901234567890`)))},
		{group: "huge numbers", input: "a 100,000-digit number", body: str(inst(withField("1" + strings.Repeat("0", 100000))))},
		{group: "NaN/Inf", input: "`NaN` (bare, not JSON)", body: str(inst(withField(`NaN`)))},
		{group: "NaN/Inf", input: "`Infinity` (bare, not JSON)", body: str(inst(withField(`Infinity`)))},
		{group: "NaN/Inf", input: "`\"NaN\"` (string)", body: str(inst(withField(`"NaN"`)))},
		{group: "NaN/Inf", input: "`\"Infinity\"` (string)", body: str(inst(withField(`"Infinity"`)))},
		{group: "NaN/Inf", input: "`null` feature (missing value)", body: str(inst(withField(`null`)))},
		{group: "deep nesting", input: "100,000 nested arrays as `instances`", body: str(`{"instances":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`)},
		{group: "deep nesting", input: "10,000 nested objects as a feature value", body: str(inst(withField(strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000))))},
		{group: "deep nesting", input: "1,000,000 `[` never closed (streamed)", body: repeat(`{"instances":`, "[", mb), length: -1},
		{group: "huge body", input: "100 MB body with Content-Length", body: repeat(`{"instances":[`, arrayRow+",", 100*mb), length: 100 * mb},
		{group: "huge body", input: "100 MB of rows, chunked (no length)", body: repeat(`{"instances":[`, arrayRow+",", 100*mb), length: -1},
		{group: "huge body", input: "100 MB of whitespace, chunked (no length)", body: repeat(`{"instances":[`, " ", 100*mb), length: -1},
		{group: "huge body", input: "10,001 rows (over max_rows)", body: str(inst(strings.Repeat(arrayRow+",", 10000) + arrayRow))},
		{group: "huge body", input: "a 5 MB string as a feature", body: str(inst(withField(`"` + strings.Repeat("x", 5*mb) + `"`)))},
		{group: "unknown fields", input: "unknown top-level field next to `instances`", body: str(`{"instances":[` + good + `],"extra":1}`)},
		{group: "unknown fields", input: "unknown feature in a row", body: str(inst(row(func(r map[string]any) { r["bogus"] = 1 })))},
		{group: "unknown fields", input: "`instances` twice", body: str(`{"instances":[` + good + `],"instances":[` + good + `]}`)},
		{group: "unknown fields", input: "a feature twice in a row", body: str(inst(strings.Replace(good, "{", `{"mean radius":1,`, 1)))},
		{group: "unknown fields", input: "OIP: unknown `parameters` and `outputs` (allowed)", path: infer, body: str(`{"parameters":{"x":1},"outputs":[{"name":"zzz"}],"inputs":[{"name":"x","shape":[1,30],"datatype":"FP64","data":` + arrayRow + `}]}`)},
		{group: "wrong content type", input: "`text/plain`", ctype: "text/plain", body: str(inst(good))},
		{group: "wrong content type", input: "`application/x-www-form-urlencoded`", ctype: "application/x-www-form-urlencoded", body: str("instances=1")},
		{group: "wrong content type", input: "`multipart/form-data`", ctype: "multipart/form-data; boundary=x", body: str("--x--")},
		{group: "wrong content type", input: "`;;;` (unparsable)", ctype: ";;;", body: str(inst(good))},
		{group: "wrong content type", input: "no Content-Type (accepted as JSON)", ctype: "-", body: str(inst(good))},
		{group: "wrong content type", input: "`application/json` but gzip bytes", body: func() io.Reader { return bytes.NewReader(predlog.Compress(nil, []byte(inst(good)))) }},
		{group: "invalid UTF-8", input: "byte 0xff in a feature name", body: str(inst(strings.Replace(good, "mean radius", "mean \xffradius", 1)))},
		{group: "invalid UTF-8", input: "byte 0xff in a string value", body: str(inst(withField("\"\xff\"")))},
		{group: "invalid UTF-8", input: "lone surrogate `\\ud800` in a key", body: str(inst(strings.Replace(good, "mean radius", `mean \ud800radius`, 1)))},
		{group: "invalid UTF-8", input: "byte 0xff outside any string", body: str("{\"instances\":\xff}")},
		{group: "methods and paths", input: "GET /predict", method: "GET"},
		{group: "methods and paths", input: "DELETE /predict", method: "DELETE"},
		{group: "methods and paths", input: "POST /predict/../../etc/passwd", path: "/predict/../../etc/passwd", body: str(inst(good))},
		{group: "methods and paths", input: "POST /v2/models/..%2F..%2Fetc%2Fpasswd/infer", path: "/v2/models/..%2F..%2Fetc%2Fpasswd/infer", body: str(inst(good))},
		{group: "methods and paths", input: "POST /v2/models/breast-cancer/versions/2/infer (another version)", path: "/v2/models/breast-cancer/versions/2/infer", body: str(oip(`{"name":"x","shape":[1,30],"datatype":"FP64","data":` + arrayRow + `}`))},
		{group: "methods and paths", input: "a 100 KB path", path: "/" + strings.Repeat("a", 100<<10), body: str(inst(good))},
		{group: "OIP tensors", input: "shape `[1000000000000, 30]` with 30 values", path: infer, body: str(oip(`{"name":"x","shape":[1000000000000,30],"datatype":"FP64","data":` + arrayRow + `}`))},
		{group: "OIP tensors", input: "shape `[-1, 30]`", path: infer, body: str(oip(`{"name":"x","shape":[-1,30],"datatype":"FP64","data":` + arrayRow + `}`))},
		{group: "OIP tensors", input: "9 dimensions", path: infer, body: str(oip(`{"name":"x","shape":[1,1,1,1,1,1,1,1,30],"datatype":"FP64","data":` + arrayRow + `}`))},
		{group: "OIP tensors", input: "datatype `FP128`", path: infer, body: str(oip(`{"name":"x","shape":[1,30],"datatype":"FP128","data":` + arrayRow + `}`))},
		{group: "OIP tensors", input: "shape `[2, 30]`, 30 values", path: infer, body: str(oip(`{"name":"x","shape":[2,30],"datatype":"FP64","data":` + arrayRow + `}`))},
		{group: "OIP tensors", input: "`BYTES` strings for numeric features", path: infer, body: str(oip(`{"name":"x","shape":[1,30],"datatype":"BYTES","data":[` + strings.Repeat(`"a",`, 29) + `"a"]}`))},
		{group: "OIP tensors", input: "more tensors than features (31)", path: infer, body: str(oip(strings.Repeat(`{"name":"x","shape":[1],"datatype":"FP64","data":[1]},`, 30) + `{"name":"x","shape":[1],"datatype":"FP64","data":[1]}`))},
		{group: "OIP tensors", input: "UINT8 value 300", path: infer, body: str(oip(`{"name":"x","shape":[1,30],"datatype":"UINT8","data":[300` + strings.Repeat(",1", 29) + `]}`))},
		{group: "OIP tensors", input: "an element `0.A` that starts like a number (found by `FuzzPredict`)", path: infer, body: str(oip(`{"name":"x","shape":[1,30],"datatype":"FP64","data":[0.A` + strings.Repeat(",1", 29) + `]}`))},
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, c := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			answer, err := sendCase(srv.base, c)
			if err != nil {
				t.Errorf("%s: %s: %v", c.group, c.input, err)
				return
			}
			table.addAt(i, "predict", c.group, c.input, answer)
		}()
	}
	// Slow clients, side by side with the rest.
	wg.Add(2)
	go func() {
		defer wg.Done()
		answer, err := slowClient(srv.base, false)
		if err != nil {
			t.Errorf("slow headers: %v", err)
			return
		}
		table.addAt(len(cases), "predict", "slow client", "headers sent one byte a second (slowloris)", answer)
	}()
	go func() {
		defer wg.Done()
		answer, err := slowClient(srv.base, true)
		if err != nil {
			t.Errorf("slow body: %v", err)
			return
		}
		table.addAt(len(cases)+1, "predict", "slow client", "body sent one byte a second", answer)
	}()
	wg.Wait()
	if resp, err := http.Get(srv.base + "/v2/health/live"); err != nil || resp.StatusCode != 200 {
		t.Errorf("the server is not alive after the hostile inputs: %v", err)
	}
	srv.stop()
	if strings.Contains(srv.stderr.String(), "panic") {
		t.Errorf("the server logged a panic:\n%s", srv.stderr.Tail(4000))
	}
}

// sendCase sends one request and describes the answer. It writes the
// request on a raw connection while reading the answer, as a server may
// answer (413, say) and close before a large body is all sent. A 5xx or
// no answer within a minute is an error.
func sendCase(base string, c predictCase) (string, error) {
	method := c.method
	if method == "" {
		method = "POST"
	}
	path := c.path
	if path == "" {
		path = "/predict"
	}
	var body io.Reader
	if c.body != nil {
		body = c.body()
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		return "", err
	}
	switch {
	case c.length > 0:
		req.ContentLength = c.length
	case c.length < 0:
		req.ContentLength = 0 // with a body: chunked
		req.Body = io.NopCloser(body)
	}
	switch c.ctype {
	case "":
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
	case "-":
	default:
		req.Header.Set("Content-Type", c.ctype)
	}
	req.Close = true
	conn, err := net.Dial("tcp", req.URL.Host)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute)) // a hang fails
	go req.Write(conn)                            // fails once the server closes; the answer is read anyway
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return "", fmt.Errorf("no answer: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 500 {
		return "", fmt.Errorf("answered %d: %s", resp.StatusCode, data)
	}
	var e struct{ Code string }
	if resp.StatusCode == 200 {
		return "200", nil
	}
	if json.Unmarshal(data, &e) == nil && e.Code != "" {
		return fmt.Sprintf("%d `%s`", resp.StatusCode, e.Code), nil
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		return fmt.Sprintf("%d redirect to the cleaned path `%s` (Go's ServeMux)", resp.StatusCode, loc), nil
	}
	return fmt.Sprintf("%d (Go's server: %s)", resp.StatusCode, strings.TrimSpace(firstLine(string(data)))), nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// slowClient sends a request one byte a second (its headers, or its body)
// until the server cuts it off, and says when and how.
func slowClient(base string, body bool) (string, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	start := time.Now()
	head := "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	trickle := "X-Slow: " + strings.Repeat("a", 200) + "\r\n"
	if body {
		head += "Content-Length: 100000\r\n\r\n"
		trickle = `{"instances":[` + strings.Repeat(" ", 100000)
	}
	if _, err := conn.Write([]byte(head)); err != nil {
		return "", err
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			if _, err := conn.Write([]byte{trickle[i%len(trickle)]}); err != nil {
				return
			}
		}
	}()
	limit := 10 * time.Second
	name := "header timeout"
	if body {
		limit, name = 60*time.Second, "body timeout"
	}
	conn.SetReadDeadline(time.Now().Add(2*limit + 30*time.Second)) // a hang fails
	status, err := bufio.NewReader(conn).ReadString('\n')
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "", fmt.Errorf("still connected after %v: the server did not cut the slow client off", took.Round(time.Second))
	}
	if strings.Contains(status, " 5") {
		return "", fmt.Errorf("answered %q", status)
	}
	when := fmt.Sprintf("after %v", took.Round(time.Second))
	if took > limit-2*time.Second && took < limit+10*time.Second {
		when = fmt.Sprintf("at the %s (%v)", name, limit)
	}
	if status != "" && !strings.Contains(status, " 408 ") {
		return "", fmt.Errorf("answered %q to a request cut short", status)
	}
	if status != "" {
		return fmt.Sprintf("cut off %s: `%s`", when, strings.TrimSpace(status)), nil
	}
	return fmt.Sprintf("connection closed %s", when), nil
}

// ---- batch ----

func hostileBatch(t *testing.T, table *hostileTable) {
	data := t.TempDir()
	cfg, err := local.Config(example.Bundle, data)
	if err != nil {
		t.Fatal(err)
	}
	app := newApp(t, cfg, io.Discard)
	defer app.Close(context.Background())
	header, rows := exampleRows(t)
	good := rows[0].text
	csvOf := func(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }
	jsonRow := func(edit func(map[string]any)) string {
		r := map[string]any{}
		for k, v := range rows[0].features {
			r[k] = v
		}
		edit(r)
		b, _ := json.Marshal(r)
		return string(b)
	}
	gz := func(b []byte) []byte { return predlog.Compress(nil, b) }
	fields := strings.Split(good, ",")
	withField := func(v string) string {
		f := append([]string(nil), fields...)
		f[0] = v
		return strings.Join(f, ",")
	}
	// A gzip bomb: 64 MiB of newlines (blank lines) in 64 KB. Batch
	// streams in constant memory, so a bomb costs time, not memory; the
	// function's timeout bounds it.
	bomb := func() []byte {
		member := predlog.Compress(nil, bytes.Repeat([]byte("\n"), 1<<20))
		return bytes.Repeat(member, 64)
	}
	cases := []struct {
		group, input, key string
		content           []byte // nil: no object is written
	}{
		{"baseline", "a valid CSV row", "input/ok.csv", csvOf(header, good)},
		{"ragged CSV", "a row with 29 fields (30 expected) and a row with 31", "input/ragged.csv", csvOf(header, good, strings.Join(fields[:29], ","), good+",1", good)},
		{"ragged CSV", "an empty file", "input/empty.csv", []byte{}},
		{"ragged CSV", "only the header", "input/header.csv", csvOf(header)},
		{"ragged CSV", "a header without the model's features", "input/noheader.csv", csvOf("a,b,c", "1,2,3")},
		{"ragged CSV", "the header twice in one line (duplicate columns)", "input/dup.csv", csvOf(header+","+header, good+","+good)},
		{"ragged CSV", "a quote never closed", "input/quote.csv", csvOf(header, `"`+good)},
		{"ragged CSV", "a 100 MB record (a quote never closed)", "input/bigquote.csv", append(append(csvOf(header), '"'), bytes.Repeat([]byte("x"), 100<<20)...)},
		{"ragged CSV", "NUL bytes in a field", "input/nul.csv", csvOf(header, withField("1\x002"))},
		{"ragged CSV", "the input already has a `prediction` column", "input/predcol.csv", csvOf(header+",prediction", good+",x")},
		{"wrong types", "text in a numeric field", "input/text.csv", csvOf(header, withField("big"))},
		{"huge numbers", "`1e400` in a field", "input/huge.csv", csvOf(header, withField("1e400"))},
		{"NaN/Inf", "`NaN` and `Inf` fields", "input/nan.csv", csvOf(header, withField("NaN"), withField("Inf"), withField("-Infinity"))},
		{"invalid UTF-8", "byte 0xff in a header name", "input/utf8h.csv", csvOf(strings.Replace(header, "mean radius", "mean \xffradius", 1), good)},
		{"invalid UTF-8", "byte 0xff in a field", "input/utf8.csv", csvOf(header, withField("1\xff"))},
		{"JSON Lines", "a line that is not an object, and one that is not JSON", "input/lines.jsonl", []byte(jsonRow(func(map[string]any) {}) + "\n[1,2]\nnot json\n" + jsonRow(func(map[string]any) {}) + "\n")},
		{"JSON Lines", "a 10 MB line (over the 8 MiB line bound)", "input/long.jsonl", []byte(`{"mean radius":"` + strings.Repeat("x", 10<<20) + "\"}\n" + jsonRow(func(map[string]any) {}) + "\n")},
		{"JSON Lines", "10,000 nested arrays as a feature", "input/deep.jsonl", []byte(`{"mean radius":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "}\n")},
		{"JSON Lines", "unknown fields (passed through) and a wrong type", "input/unknown.jsonl", []byte(jsonRow(func(r map[string]any) { r["customer"] = "x" }) + "\n" + jsonRow(func(r map[string]any) { r["mean radius"] = true }) + "\n")},
		{"JSON Lines", "invalid UTF-8 in a string", "input/utf8.jsonl", []byte(strings.Replace(jsonRow(func(r map[string]any) { r["note"] = "x" }), `"x"`, "\"\xff\"", 1) + "\n")},
		{"gzip", "`.csv.gz` that is not gzip", "input/notgz.csv.gz", csvOf(header, good)},
		{"gzip", "gzip cut short", "input/cut.csv.gz", gz(csvOf(header, good, good))[:40]},
		{"gzip", "a gzip bomb: 64 MiB of blank lines in 64 KB", "input/bomb.csv.gz", append(gz(csvOf(header, good)), bomb()...)},
		{"format", "an unknown extension (`.parquet`)", "input/x.parquet", []byte("PAR1")},
		{"path traversal", "`input/../predictions/x.csv`", "input/../predictions/x.csv", nil},
		{"path traversal", "`input/a/../../etc/passwd.csv`", "input/a/../../etc/passwd.csv", nil},
		{"path traversal", "`../input/x.csv`", "../input/x.csv", nil},
		{"path traversal", "`/input/x.csv`", "/input/x.csv", nil},
		{"path traversal", "`input//x.csv`", "input//x.csv", nil},
		{"path traversal", "`input/./x.csv`", "input/./x.csv", nil},
		{"path traversal", "`input/a\\..\\..\\x.csv` (backslashes)", `input/a\..\..\x.csv`, nil},
		{"path traversal", "a NUL byte in the key", "input/x\x00.csv", nil},
		{"path traversal", "`output/x.csv` (not an input)", "output/x.csv", nil},
	}
	ctx := context.Background()
	for _, c := range cases {
		if c.content != nil {
			if err := app.BatchBucket.WriteAll(ctx, c.key, c.content, nil); err != nil {
				t.Fatalf("%s: %v", c.key, err)
			}
		}
		done := make(chan struct{})
		var res batch.Result
		var err error
		var panicked any
		go func() {
			defer close(done)
			defer func() { panicked = recover() }()
			res, err = app.Batch.Score(ctx, c.key)
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Minute):
			t.Fatalf("%s: %s: no answer within 3 minutes", c.group, c.input)
		}
		if panicked != nil {
			t.Errorf("%s: %s: panic: %v", c.group, c.input, panicked)
			continue
		}
		table.add("batch", c.group, c.input, batchAnswer(t, app, res, err))
	}
	// Nothing was written outside the data folder's prefixes.
	entries, _ := os.ReadDir(data)
	for _, e := range entries {
		switch e.Name() {
		case "input", "output", "errors", "predictions", "monitoring":
		default:
			t.Errorf("batch wrote %s into the data folder", e.Name())
		}
	}
}

func batchAnswer(t *testing.T, app *functions.App, res batch.Result, err error) string {
	if err != nil {
		kind := "error (retried)"
		switch {
		case errors.Is(err, batch.ErrNotInput):
			kind = "refused, permanent (`ErrNotInput`)"
		case errors.Is(err, batch.ErrBadInput):
			kind = "refused, permanent (`ErrBadInput`)"
		}
		msg := err.Error()
		if i := strings.Index(msg, ": "); i > 0 && strings.HasPrefix(msg, "batch ") {
			msg = msg[i+2:]
		}
		return fmt.Sprintf("%s: %s", kind, clipText(strings.ToValidUTF8(msg, "�"), 140))
	}
	a := fmt.Sprintf("%d of %d rows scored", res.Scored, res.Rows)
	if res.Errors != "" {
		raw, rerr := app.BatchBucket.ReadAll(context.Background(), res.Errors)
		if rerr != nil {
			t.Error(rerr)
		}
		var codes []string
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			var e struct {
				Line int
				Code string
			}
			json.Unmarshal([]byte(line), &e)
			codes = append(codes, fmt.Sprintf("line %d `%s`", e.Line, e.Code))
		}
		a += fmt.Sprintf("; %d to the errors object (%s)", res.Failed, strings.Join(codes, ", "))
	}
	return a
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// ---- events ----

func hostileEvents(t *testing.T, table *hostileTable) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	cfg, err := local.Config(example.Bundle, data)
	if err != nil {
		t.Fatal(err)
	}
	app := newApp(t, cfg, io.Discard)
	defer app.Close(context.Background())
	ctx := context.Background()
	// A file the traversals aim at, outside the batch prefixes.
	secret := filepath.Join(root, "secret.csv")
	os.WriteFile(secret, []byte("mean radius\n1\n"), 0o600)
	os.MkdirAll(filepath.Join(data, "predictions"), 0o755)
	os.WriteFile(filepath.Join(data, "predictions", "x.csv"), []byte("mean radius\n1\n"), 0o600)

	keys := []struct{ input, key string }{
		{"`input/../predictions/x.csv`", "input/../predictions/x.csv"},
		{"`input/../../secret.csv` (leaves the bucket's folder)", "input/../../secret.csv"},
		{"`input/%2e%2e/%2e%2e/secret.csv`", "input/%2e%2e/%2e%2e/secret.csv"},
		{"`predictions/x.csv` (not an input)", "predictions/x.csv"},
	}
	logs := io.Discard
	awsHandler := aws.NewHandler(app, "", slog.New(slog.NewTextHandler(logs, nil)))
	gcpFns := gcp.New(gcp.Options{Config: &cfg, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	defer gcpFns.Close(ctx)
	azCfg := cfg
	azSrv := httptest.NewServer(azure.NewHandler(app, azCfg))
	defer azSrv.Close()

	for _, k := range keys {
		// AWS: an S3 notification (keys arrive form-encoded), directly.
		s3ev := fmt.Sprintf(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"batch"},"object":{"key":%q,"size":14}}}]}`, s3FormKey(k.key))
		_, err := awsHandler.Batch(ctx, json.RawMessage(s3ev))
		table.add("events", "path traversal", "AWS S3 notification for "+k.input, eventAnswer(err))
		// Google Cloud: a storage.object.v1.finalized CloudEvent.
		ce := cloudevents.NewEvent()
		ce.SetID("1")
		ce.SetSource("//storage.googleapis.com/projects/_/buckets/batch")
		ce.SetType(gcp.EventFinalized)
		ce.SetData(cloudevents.ApplicationJSON, map[string]string{"bucket": "batch", "name": k.key, "size": "14"})
		err = gcpFns.Batch(ctx, ce)
		table.add("events", "path traversal", "GCP finalized CloudEvent for "+k.input, eventAnswer(err))
		// Azure: a BlobCreated event as the Functions host hands it over.
		ev := map[string]any{"eventType": azure.BlobCreated, "subject": "/blobServices/default/containers/batch/blobs/" + k.key, "data": map[string]any{"api": "PutBlob"}}
		table.add("events", "path traversal", "Azure BlobCreated for "+k.input, azureAnswer(t, azSrv.URL, ev))
	}
	// Malformed payloads.
	_, err = awsHandler.Batch(ctx, json.RawMessage(`{"Records":[{"eventSource":"aws:s3","s3":{"object":{"key":5}}}]}`))
	table.add("events", "malformed", "AWS: an S3 notification whose key is a number", eventAnswer(err))
	_, err = awsHandler.Batch(ctx, json.RawMessage(`[1,2,3]`))
	table.add("events", "malformed", "AWS: a JSON array instead of an event", eventAnswer(err))
	sqs := `{"Records":[{"eventSource":"aws:sqs","messageId":"m1","body":"not json"}]}`
	out, err := awsHandler.Batch(ctx, json.RawMessage(sqs))
	table.add("events", "malformed", "AWS: an SQS message whose body is not JSON", sqsAnswer(out, err))
	ce := cloudevents.NewEvent()
	ce.SetID("2")
	ce.SetSource("x")
	ce.SetType(gcp.EventFinalized)
	ce.SetData("application/json", []byte(`{"name": [1]}`))
	table.add("events", "malformed", "GCP: event data that is not an object resource", eventAnswer(gcpFns.Batch(ctx, ce)))
	table.add("events", "malformed", "Azure: a subject naming no blob", azureAnswer(t, azSrv.URL, map[string]any{"eventType": azure.BlobCreated, "subject": "/x"}))

	// Nothing under output/ or errors/, and nothing new outside data/.
	for _, p := range []string{"output", "errors"} {
		if _, err := os.Stat(filepath.Join(data, p)); err == nil {
			t.Errorf("an event with a hostile key made batch write %s/", p)
		}
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 2 {
		t.Errorf("files beside the data folder: %v", entries)
	}
}

// s3FormKey encodes a key as S3 notifications do.
func s3FormKey(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(key), "%2F", "/"), "%20", "+")
}

func eventAnswer(err error) string {
	if err == nil {
		return "acknowledged, nothing read or written (logged)"
	}
	return "error, redelivered: " + clipText(err.Error(), 120)
}

func sqsAnswer(out any, err error) string {
	if err != nil {
		return eventAnswer(err)
	}
	b, _ := json.Marshal(out)
	return "message reported failed (back to the queue, then the dead-letter queue): " + string(b)
}

func azureAnswer(t *testing.T, base string, ev map[string]any) string {
	evJSON, _ := json.Marshal(ev)
	body, _ := json.Marshal(map[string]any{"Data": map[string]any{"event": json.RawMessage(evJSON)}, "Metadata": map[string]any{}})
	resp, err := http.Post(base+"/"+azure.FunctionBatch, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	var out azure.InvokeResponse
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 500 {
		return fmt.Sprintf("%d: invocation failed, retried then poison-queued: %s", resp.StatusCode, clipText(strings.Join(out.Logs, "; "), 120))
	}
	return fmt.Sprintf("%d: acknowledged: %s", resp.StatusCode, clipText(fmt.Sprint(out.ReturnValue), 120))
}

// ---- the prediction-log reader ----

func hostileLog(t *testing.T, table *hostileTable) {
	m, s := example.Model(t)
	info := m.Info()
	enc := predlog.NewEncoder("breast-cancer", "1", s, info)
	b := runtime.NewBatch(s, 1)
	w := b.Begin(0)
	for c := range s.Names() {
		w.Number(c, 1, "")
	}
	w.End()
	var lines predlog.Lines
	enc.Append(&lines, &predlog.Record{ID: predlog.NewID(), Time: time.Now(), Source: "http", X: b.Row(0), Out: []float64{0.25, 0.75}})
	record := string(lines.Bytes())
	gz := func(s string) []byte { return predlog.Compress(nil, []byte(s)) }
	edit := func(old, new string) []byte { return gz(strings.Replace(record, old, new, 1)) }
	newlines := predlog.Compress(nil, bytes.Repeat([]byte("\n"), 1<<20))
	cases := []struct {
		group, input string
		object       func() []byte
	}{
		{"baseline", "a valid record", func() []byte { return gz(record) }},
		{"format", "an empty object", func() []byte { return nil }},
		{"format", "not gzip", func() []byte { return []byte(record) }},
		{"format", "gzip cut short", func() []byte { return gz(record + record)[:30] }},
		{"format", "a line that is not JSON", func() []byte { return gz(record + "not json\n") }},
		{"format", "a record without `features`", func() []byte { return edit(`"features":`, `"feat":`) }},
		{"format", "a record for an unknown class", func() []byte { return edit(`"malignant":`, `"other":`) }},
		{"wrong types", "a feature that is a string", func() []byte { return edit(`"mean radius":1`, `"mean radius":"x"`) }},
		{"NaN/Inf", "`NaN` as a bare token", func() []byte { return edit(`"mean radius":1`, `"mean radius":NaN`) }},
		{"huge numbers", "`1e400` as a feature", func() []byte { return edit(`"mean radius":1`, `"mean radius":1e400`) }},
		{"invalid UTF-8", "byte 0xff in the id", func() []byte { return edit(`"id":"`, "\"id\":\"\xff") }},
		{"deep nesting", "10,000 nested arrays as a feature", func() []byte {
			return edit(`"mean radius":1`, `"mean radius":`+strings.Repeat("[", 10000)+strings.Repeat("]", 10000))
		}},
		{"huge line", "a 20 MB line (over the 16 MiB line bound)", func() []byte { return gz(strings.Repeat("x", 20<<20) + "\n") }},
		{"zip bomb", "600 MiB of blank lines in 600 KB, the 512 MiB bound lowered to 16 MiB for the test", func() []byte { return bytes.Repeat(newlines, 600) }},
	}
	dec := predlog.NewDecoder(s, info)
	dec.MaxBytes = 16 << 20 // the race detector makes scanning 512 MiB take minutes
	bad := 0
	for _, c := range cases {
		into := runtime.NewBatch(s, 4)
		start := time.Now()
		entries, err := dec.Read(bytes.NewReader(c.object()), into, nil)
		took := time.Since(start)
		answer := fmt.Sprintf("read, %d record(s)", len(entries))
		if err != nil {
			if !errors.Is(err, predlog.ErrCorrupt) {
				t.Errorf("%s: %v is not ErrCorrupt", c.input, err)
			}
			bad++
			answer = "corrupt, skipped whole: " + clipText(strings.TrimPrefix(strings.ToValidUTF8(err.Error(), "�"), predlog.ErrCorrupt.Error()+": "), 110)
		}
		if took > 30*time.Second {
			t.Errorf("%s: took %v", c.input, took)
		}
		table.add("log", c.group, c.input, answer)
	}
	if bad != len(cases)-1 {
		t.Errorf("%d of %d hostile log objects were refused", bad, len(cases)-1)
	}
}
