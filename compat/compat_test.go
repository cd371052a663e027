package compat_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// result is one line of testdata/sdk/acs.mjs's output.
type result struct {
	SDK       string `json:"sdk"`
	Operation string `json:"operation"`
	OK        bool   `json:"ok"`
	Detail    string `json:"detail"`
}

var listening = regexp.MustCompile(`herald listening"? addr=(\S+)`)

// TestOfficialSDKs runs every identity and chat operation of the official
// ACS JavaScript SDKs against a fresh `herald serve --tls-self-signed`.
func TestOfficialSDKs(t *testing.T) {
	if os.Getenv("HERALD_TEST_ACS_SDK") == "" {
		t.Skip("HERALD_TEST_ACS_SDK is unset: `make compat` installs the ACS SDKs (npm) and runs this")
	}
	if _, err := os.Stat("testdata/sdk/node_modules/@azure/communication-chat"); err != nil {
		t.Fatalf("the ACS SDKs are not installed in testdata/sdk (run `make compat`): %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the SDK suite needs Node 20 or newer")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "herald")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/herald").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	srv := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--tls-self-signed")
	srv.Env = append(os.Environ(), "HERALD_ADMIN_KEY=")
	stderr, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	up := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				up <- m[1]
			}
		}
	}()
	select {
	case <-up:
	case <-time.After(60 * time.Second):
		t.Fatal("herald serve did not start within 60 s")
	}
	cs, err := os.ReadFile(filepath.Join(data, "connection-string"))
	if err != nil {
		t.Fatalf("the connection string serve writes on first start: %v", err)
	}
	run := exec.Command(node, "acs.mjs")
	run.Dir = "testdata/sdk"
	adminKey, err := os.ReadFile(filepath.Join(data, "admin.key"))
	if err != nil {
		t.Fatalf("the admin key file serve writes on first start: %v", err)
	}
	run.Env = append(os.Environ(), "HERALD_CONNECTION_STRING="+strings.TrimSpace(string(cs)), "HERALD_ADMIN_KEY="+strings.TrimSpace(string(adminKey)),
		"NODE_EXTRA_CA_CERTS="+filepath.Join(data, "tls-self-signed.crt"))
	var out, errOut bytes.Buffer
	run.Stdout, run.Stderr = &out, &errOut
	runErr := run.Run()
	passed, failed := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r result
		if json.Unmarshal([]byte(line), &r) != nil {
			continue
		}
		if r.OK {
			passed++
			t.Logf("ok   %-8s %s %s", r.SDK, r.Operation, r.Detail)
		} else {
			failed++
			t.Errorf("FAIL %-8s %s: %s", r.SDK, r.Operation, r.Detail)
		}
	}
	if runErr != nil && failed == 0 {
		t.Errorf("the SDK suite failed before reporting: %v\n%s\n%s", runErr, out.String(), errOut.String())
	}
	if passed == 0 {
		t.Errorf("no operation reported; stderr:\n%s", errOut.String())
	}
	t.Logf("%d operations passed, %d failed", passed, failed)
}
