package azuretest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/modelfn/modelfn/testing/tools"
)

// Azurite's well-known development account.
const (
	Account    = "devstoreaccount1"
	AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// InstallHint names the make target that installs Azurite.
const InstallHint = "make tools-azurite"

// Azurite is a running Azurite blob service on loopback.
type Azurite struct {
	Endpoint         string // http://127.0.0.1:PORT/devstoreaccount1
	ConnectionString string

	cmd  *exec.Cmd
	done chan error
}

var listening = regexp.MustCompile(`listens on (http://127\.0\.0\.1:\d+)`)

// StartAzurite runs azurite-blob (bin) in memory on a free port, in dir.
func StartAzurite(ctx context.Context, bin, dir string) (*Azurite, error) {
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
		"--extentMemoryLimit", "512", "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--silent")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the tests
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("azurite: %w", err)
	}
	a := &Azurite{cmd: cmd, done: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var lines []string
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
			lines = append(lines, sc.Text())
		}
		io.Copy(io.Discard, out)
		a.done <- fmt.Errorf("azurite exited: %v (output: %q)", cmd.Wait(), lines)
	}()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	select {
	case base := <-found:
		a.Endpoint = base + "/" + Account
	case err := <-a.done:
		return nil, err
	case <-ctx.Done():
		cmd.Process.Kill()
		return nil, errors.New("azurite did not start listening within 2 minutes")
	}
	a.ConnectionString = fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;", Account, AccountKey, a.Endpoint)
	return a, nil
}

// CreateContainers creates containers (existing ones are fine).
func (a *Azurite) CreateContainers(ctx context.Context, names ...string) error {
	c, err := azblob.NewClientFromConnectionString(a.ConnectionString, nil)
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := c.CreateContainer(ctx, n, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
			return fmt.Errorf("azurite: create container %s: %w", n, err)
		}
	}
	return nil
}

// Close stops Azurite.
func (a *Azurite) Close() error {
	a.cmd.Process.Kill()
	<-a.done
	return nil
}

var shared struct {
	once sync.Once
	a    *Azurite
	dir  string
	err  error
}

// Shared is one Azurite for the whole test binary, started on first use;
// it also points gocloud.dev's azureblob at it through
// AZURE_STORAGE_CONNECTION_STRING, which azureblob reads once per process
// (so call Shared before opening any azblob:// bucket). Call StopShared
// from TestMain.
func Shared(t testing.TB) *Azurite {
	t.Helper()
	bin := tools.Need(t, "azurite-blob", InstallHint)
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "modelfn-azurite-")
		if shared.err != nil {
			return
		}
		shared.a, shared.err = StartAzurite(context.Background(), bin, shared.dir)
		if shared.err == nil {
			shared.err = os.Setenv("AZURE_STORAGE_CONNECTION_STRING", shared.a.ConnectionString)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.a
}

// StopShared stops the shared Azurite, if one was started.
func StopShared() {
	if shared.a != nil {
		shared.a.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}
