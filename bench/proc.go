package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procStat is one reading of a process's CPU time and resident memory.
type procStat struct {
	at     time.Time
	ticks  uint64 // utime + stime, in clock ticks
	rssKiB int64
}

// readProc reads /proc/PID/stat and /proc/PID/status.
func readProc(pid int) (procStat, error) {
	s := procStat{at: time.Now()}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name is in parentheses and may contain spaces: the
	// fields we need are counted from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return s, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	s.ticks = utime + stime
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(bytes.NewReader(st))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			s.rssKiB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return s, nil
}

// findServerPID returns the process listening on the TCP port of rawURL,
// if its host is an address of this machine: it finds the listening
// socket's inode in /proc/net/tcp{,6} and the process holding it in
// /proc/*/fd. It returns 0 and the reason when there is none to watch.
func findServerPID(rawURL string) (int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, err
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port %q: %w", port, err)
	}
	if !isLocalHost(u.Hostname()) {
		return 0, fmt.Errorf("%s is not an address of this machine", u.Hostname())
	}
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(f[1], ":")
			if n, err := strconv.ParseUint(hexPort, 16, 16); ok && err == nil && n == p {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("nothing listens on port %d here", p)
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	self := os.Getpid()
	for _, fd := range fds {
		link, err := os.Readlink(fd)
		if err != nil || !inodes[link] {
			continue
		}
		pid, err := strconv.Atoi(strings.Split(fd, "/")[2])
		if err == nil && pid != self {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no visible process holds the socket listening on port %d", p)
}

// isLocalHost reports whether host names this machine: localhost, a
// loopback address or an address of one of its interfaces.
func isLocalHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// procWatch samples a process's CPU and RSS every interval: CPU is
// averaged over a window (mark to stop), RSS is tracked as its peak.
type procWatch struct {
	pid  int
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex // guards the fields below
	last    procStat
	first   procStat // at mark
	peakRSS int64    // since mark
	err     error
}

// watchProc starts sampling pid; pid 0 gives a watch that reports nothing.
func watchProc(pid int, every time.Duration) *procWatch {
	w := &procWatch{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	if pid == 0 {
		close(w.done)
		return w
	}
	w.sample()
	w.first = w.last
	go func() {
		defer close(w.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.sample()
			}
		}
	}()
	return w
}

func (w *procWatch) sample() {
	s, err := readProc(w.pid)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.err = err
		return
	}
	w.last = s
	w.peakRSS = max(w.peakRSS, s.rssKiB)
}

// mark starts the measured window now.
func (w *procWatch) mark() {
	if w.pid == 0 {
		return
	}
	w.sample()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.first, w.peakRSS = w.last, w.last.rssKiB
}

// now returns the latest sample and the CPU used since mark, in percent
// of one core.
func (w *procWatch) now() (procStat, float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last, cpuPercent(w.first, w.last)
}

// rss reads the resident memory now.
func (w *procWatch) rss() int64 {
	if w.pid == 0 {
		return 0
	}
	w.sample()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last.rssKiB
}

// finish stops sampling and summarizes the window.
func (w *procWatch) finish() *Proc {
	if w.pid == 0 {
		return nil
	}
	w.sample()
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	p := &Proc{PID: w.pid, CPUPercent: round1(cpuPercent(w.first, w.last)), RSSStartMiB: mib(w.first.rssKiB),
		RSSPeakMiB: mib(w.peakRSS), RSSEndMiB: mib(w.last.rssKiB), Seconds: round1(w.last.at.Sub(w.first.at).Seconds())}
	if w.err != nil {
		p.Error = w.err.Error()
	}
	return p
}

func cpuPercent(a, b procStat) float64 {
	el := b.at.Sub(a.at).Seconds()
	if el <= 0 || b.ticks < a.ticks {
		return 0
	}
	return float64(b.ticks-a.ticks) / clockTicks / el * 100
}

func mib(kib int64) float64 { return round1(float64(kib) / 1024) }
