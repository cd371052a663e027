package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/herald-chat/herald/wire"
)

const crashAdminKey = "hak_crash_test_admin_key_0001" // serve refuses keys under 24 characters

// server is a herald serve process.
type server struct {
	cmd *exec.Cmd
	url string
}

// buildHerald compiles the binary once per test.
func buildHerald(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "herald")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var listening = regexp.MustCompile(`herald listening"? addr=(\S+)`)

// startServer runs `herald serve` on a free loopback port and waits until
// it listens.
func startServer(t *testing.T, bin, data string) *server {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--write-rate", "0")
	cmd.Env = append(os.Environ(), "HERALD_ADMIN_KEY="+crashAdminKey)
	return &server{cmd: cmd, url: "http://" + startListening(t, cmd, nil)}
}

// startListening starts cmd (a herald serve) and returns the address of
// its "herald listening" log line; every line of its log goes to logLine
// if not nil. A server that does not listen within a minute fails the test.
func startListening(t *testing.T, cmd *exec.Cmd, logLine func(string)) string {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if logLine != nil {
				logLine(sc.Text())
			}
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return a
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("herald serve did not start within 60 s")
	}
	return ""
}

func (s *server) call(method, path, auth string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, fmt.Errorf("decode %s: %w", b, err)
		}
	}
	return res.StatusCode, nil
}

// TestKillDuringBurst sends from several goroutines, kills the server with
// SIGKILL mid-burst, restarts it on the same data directory and checks that
// every acknowledged message is there, exactly once, with gap-free
// sequence numbers; then retries the unacknowledged sends with their ids
// and checks that none is stored twice.
func TestKillDuringBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildHerald(t)
	data := t.TempDir()
	srv := startServer(t, bin, data)
	defer func() { srv.cmd.Process.Kill(); srv.cmd.Wait() }()

	var ident wire.CreateIdentityResponse
	if st, err := srv.call("POST", "/identities", crashAdminKey, wire.CreateIdentityRequest{CreateTokenWithScopes: []string{"chat"}}, &ident); st != 201 || err != nil {
		t.Fatalf("create identity: %d %v", st, err)
	}
	tok := ident.AccessToken.Token
	var th wire.CreateThreadResponse
	if st, err := srv.call("POST", "/chat/threads", tok, wire.CreateThreadRequest{Topic: "crash"}, &th); st != 201 || err != nil {
		t.Fatalf("create thread: %d %v", st, err)
	}
	path := "/chat/threads/" + th.ChatThread.ID + "/messages"

	const senders, perSender = 8, 400
	acked := sendUntilKilled(srv, path, tok, senders, perSender, 300) // client id → message id
	ackedAtKill := len(acked)

	srv = startServer(t, bin, data)
	var stored []wire.ChatMessage
	next := path + "?since=0&maxPageSize=200"
	for next != "" {
		var page wire.MessageList
		if st, err := srv.call("GET", next, tok, nil, &page); st != 200 || err != nil {
			t.Fatalf("list after restart: %d %v", st, err)
		}
		for _, m := range page.Value {
			if m.Type == "text" { // not the creation's participantAdded and topicUpdated (1 and 2)
				stored = append(stored, m)
			}
		}
		next = page.NextLink
	}
	byContent := map[string]string{}
	for i, m := range stored {
		if want := fmt.Sprint(i + 3); m.SequenceID != want {
			t.Fatalf("message %d has sequenceId %s, want %s (gap-free from 3)", i, m.SequenceID, want)
		}
		if _, dup := byContent[m.Content.Message]; dup {
			t.Fatalf("message %q stored twice", m.Content.Message)
		}
		byContent[m.Content.Message] = m.ID
	}
	lost := 0
	for id, msg := range acked {
		if byContent[id] != msg {
			lost++
		}
	}
	if lost != 0 {
		t.Fatalf("lost %d of %d acknowledged messages", lost, ackedAtKill)
	}

	// Retry every send with its id: nothing is stored twice.
	for s := range senders {
		for i := range perSender {
			id := fmt.Sprintf("s%d-%d", s, i)
			var out wire.SendMessageResponse
			if st, err := srv.call("POST", path, tok, wire.SendMessageRequest{Content: id, ClientMessageID: id}, &out); st != 201 || err != nil {
				t.Fatalf("retry %s: %d %v", id, st, err)
			}
			if prev, ok := byContent[id]; ok && prev != out.ID {
				t.Fatalf("retry of %s stored a second message", id)
			}
		}
	}
	var th2 wire.ChatThreadProperties
	srv.call("GET", "/chat/threads/"+th.ChatThread.ID, tok, nil, &th2)
	if want := fmt.Sprint(2 + senders*perSender); th2.SequenceID != want { // after the creation and its topic
		t.Errorf("after retries got last sequence %s, want %s (one per distinct send)", th2.SequenceID, want)
	}
	t.Logf("acknowledged before kill: %d; stored at restart: %d; lost: 0; duplicates: 0", ackedAtKill, len(stored))
	if strings.TrimSpace(th2.ID) == "" {
		t.Errorf("thread lookup after retries failed")
	}
}

// sendUntilKilled sends to path from senders goroutines, perSender
// messages each (content and clientMessageId "sS-I"), kills the server
// with SIGKILL once killAfter have been acknowledged, and returns what was
// acknowledged: client id → message id.
func sendUntilKilled(srv *server, path, tok string, senders, perSender int, killAfter int64) map[string]string {
	var mu sync.Mutex
	acked := map[string]string{}
	var n atomic.Int64
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range perSender {
				id := fmt.Sprintf("s%d-%d", s, i)
				var out wire.SendMessageResponse
				st, err := srv.call("POST", path, tok, wire.SendMessageRequest{Content: id, ClientMessageID: id}, &out)
				if err != nil {
					return // the server is gone
				}
				if st == 201 {
					mu.Lock()
					acked[id] = out.ID
					mu.Unlock()
					n.Add(1)
				}
			}
		})
	}
	for n.Load() < killAfter {
		time.Sleep(time.Millisecond)
	}
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()
	wg.Wait()
	return acked
}
