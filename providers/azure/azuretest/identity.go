package azuretest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Identity is the managed-identity endpoint App Service and Azure
// Functions give a function app (IDENTITY_ENDPOINT, IDENTITY_HEADER, API
// 2019-08-01). A handler process started with Env gets its tokens here
// through azidentity's real ManagedIdentityCredential, as it does in
// Azure.
type Identity struct {
	Server *httptest.Server
	header string

	mu     sync.Mutex
	issued map[string]string // token → resource
}

// NewIdentity starts the endpoint; it stops when the test ends.
func NewIdentity(t testing.TB) *Identity {
	id := &Identity{header: randomHex(16), issued: map[string]string{}}
	id.Server = httptest.NewServer(http.HandlerFunc(id.serve))
	t.Cleanup(id.Server.Close)
	return id
}

// Env is what the platform sets in a function app with a system-assigned
// identity, plus the setting that pins DefaultAzureCredential to it.
func (id *Identity) Env() []string {
	return []string{
		"IDENTITY_ENDPOINT=" + id.Server.URL + "/msi/token",
		"IDENTITY_HEADER=" + id.header,
		"AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential",
	}
}

// Issued reports whether token came from this endpoint for a resource
// containing audience (e.g. "monitor.azure.com").
func (id *Identity) Issued(token, audience string) bool {
	id.mu.Lock()
	defer id.mu.Unlock()
	res, ok := id.issued[token]
	return ok && strings.Contains(res, audience)
}

// Requests counts the tokens issued.
func (id *Identity) Requests() int {
	id.mu.Lock()
	defer id.mu.Unlock()
	return len(id.issued)
}

func (id *Identity) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case r.URL.Path != "/msi/token" || r.Method != http.MethodGet:
		http.NotFound(w, r)
		return
	case r.Header.Get("X-IDENTITY-HEADER") != id.header:
		http.Error(w, `{"error":"invalid X-IDENTITY-HEADER"}`, http.StatusUnauthorized)
		return
	case q.Get("api-version") != "2019-08-01" || q.Get("resource") == "":
		http.Error(w, `{"error":"want api-version=2019-08-01 and a resource"}`, http.StatusBadRequest)
		return
	}
	token := randomHex(24)
	id.mu.Lock()
	id.issued[token] = q.Get("resource")
	id.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"access_token": token,
		"expires_on":   strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
		"resource":     q.Get("resource"),
		"token_type":   "Bearer",
		"client_id":    "00000000-0000-0000-0000-000000000000",
	})
}

// Credential is a fixed-token azcore.TokenCredential for in-process
// clients: no identity platform involved.
type Credential struct{ Token string }

// GetToken implements azcore.TokenCredential.
func (c Credential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(o.Scopes) == 0 {
		return azcore.AccessToken{}, fmt.Errorf("no scope requested")
	}
	return azcore.AccessToken{Token: c.Token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
