package render

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/trawl-dev/trawl/structured"
	"golang.org/x/sys/unix"
)

// DirMarker starts the name of every user-data-dir trawl gives Chromium:
// "trawl-chrome-<pid>-<random>" in the temporary directory. Chromium
// passes --user-data-dir to each of its processes, so the marker finds
// them all on their command lines (pgrep -f), and the pid says whether
// the run that made the directory is still alive.
const DirMarker = "trawl-chrome-"

// ErrNoChrome is returned when no Chromium binary is found.
var ErrNoChrome = errors.New("chromium not found: install it (apt-get install chromium), or name it with --chrome PATH or TRAWL_CHROME")

// FindChrome returns the browser to run: path when not empty, else
// $TRAWL_CHROME, else the first of chromium, chromium-browser,
// google-chrome and google-chrome-stable on PATH.
func FindChrome(path string) (string, error) {
	if path == "" {
		path = os.Getenv("TRAWL_CHROME")
	}
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %v", ErrNoChrome, path, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChrome
}

// chromeFlags are the flags of every browser trawl starts: headless,
// without a sandbox (trawl often runs as root, where Chromium refuses
// one), with every background service that calls Google turned off, and
// ignoring certificate errors: its only peer is trawl's proxy, which
// shows its own certificates and verifies the real ones (see certs).
// The back/forward cache is off: trawl never goes back, and with it on,
// each navigation of a kept tab (see tab) swaps to a new renderer
// process and keeps the page before alive in the cache, so that keeping
// tabs would save nothing.
var chromeFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
	"--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
	"--block-new-web-contents", "--ignore-certificate-errors", "--disable-features=Translate,MediaRouter,OptimizationHints,BackForwardCache",
	"--disable-breakpad", "--metrics-recording-only", "--password-store=basic",
	"--remote-debugging-port=0", "--window-size=1280,800",
}

// process is one running browser: a process group trawl owns.
type process struct {
	pid     int
	dir     string           // user-data-dir, removed when the process is gone
	exited  structured.Event // set when the browser's main process has exited
	ws      string           // the DevTools websocket address
	crashed atomic.Bool      // it exited before trawl asked it to
	closing atomic.Bool
}

// launchTimeout bounds the start of a browser, until it gives its
// DevTools address.
const launchTimeout = 30 * time.Second

// startProcess starts the browser at chrome, its own requests going to
// the proxy at proxyAddr (the pages' go to the proxy of their browser
// context), as a task of tg, and returns once it gives its
// DevTools address.
//
// The task locks its goroutine to its OS thread before it starts the
// browser and keeps it locked, in Wait, for the browser's whole life:
// Linux sends the parent-death signal (SIGKILL) when the thread that
// forked the child exits, not the process, and the Go runtime may end an
// idle thread at any time. A locked thread is never reused or ended
// while its goroutine lives, so the browser dies exactly when trawl (or
// this task) does, kill -9 included.
func startProcess(ctx context.Context, tg *structured.TaskGroup, chrome, proxyAddr string, extra []string) (*process, error) {
	dir, err := os.MkdirTemp("", DirMarker+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("create browser profile dir: %w", err)
	}
	p := &process{dir: dir}
	rd, wr, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("create browser output pipe: %w", err)
	}
	args := append([]string{"--user-data-dir=" + dir, "--proxy-server=http://" + proxyAddr, "--proxy-bypass-list=<-loopback>"}, chromeFlags...)
	args = append(args, extra...)
	args = append(args, "about:blank")
	_, err = structured.Start(tg, func(ctx context.Context, started func(int)) error {
		runtime.LockOSThread() // never unlocked: see above
		cmd := exec.Command(chrome, args...)
		cmd.Stdout, cmd.Stderr = wr, wr
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		err := cmd.Start()
		wr.Close()
		if err != nil {
			rd.Close()
			os.RemoveAll(dir)
			return fmt.Errorf("start %s: %w", chrome, err)
		}
		p.pid = cmd.Process.Pid
		started(p.pid)
		stop := context.AfterFunc(ctx, p.kill) // the run ends: the browser too
		cmd.Wait()
		stop()
		if !p.closing.Load() {
			p.crashed.Store(true)
		}
		p.kill() // the helpers left in its group
		reapGroup(p.pid)
		p.exited.Set()
		rd.Close() // ends readDevTools, should a stray process still hold the pipe
		os.RemoveAll(dir)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ws := make(chan string, 1)
	tg.StartSoon(func(ctx context.Context) error {
		defer rd.Close()
		readDevTools(rd, ws)
		return nil
	})
	err = structured.FailAfter(ctx, launchTimeout, func(ctx context.Context) error {
		select {
		case p.ws = <-ws:
			if p.ws == "" {
				return fmt.Errorf("browser %s exited at start", chrome)
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if err != nil {
		p.close(ctx)
		return nil, fmt.Errorf("start browser %s: %w", chrome, err)
	}
	return p, nil
}

// readDevTools sends the DevTools websocket address the browser prints
// to ws ("" if its output ends first), then drains the output until the
// browser's group is gone.
func readDevTools(r io.Reader, ws chan<- string) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		if !sent {
			if _, addr, ok := strings.Cut(line, "DevTools listening on "); ok {
				ws <- strings.TrimSpace(addr)
				sent = true
			}
		}
	}
	if !sent {
		ws <- ""
	}
	io.Copy(io.Discard, r)
}

// kill kills the browser's whole process group. It may be called any
// number of times.
func (p *process) kill() {
	if p.pid > 0 {
		syscall.Kill(-p.pid, syscall.SIGKILL)
	}
}

// closeTimeout bounds the wait for a killed browser to be gone.
const closeTimeout = 5 * time.Second

// close kills the browser and waits, shielded and bounded, until its
// main process is reaped and its directory removed. Idempotent.
func (p *process) close(ctx context.Context) {
	p.closing.Store(true)
	p.kill()
	structured.Shielded(ctx, closeTimeout, p.exited.Wait)
}

// reapGroup reaps the processes of the group pgid that were left to
// trawl, the subreaper, when the browser's main process died: its
// zygote and renderers, killed with the group.
func reapGroup(pgid int) {
	deadline := time.Now().Add(closeTimeout)
	for time.Now().Before(deadline) {
		kids := orphansOf(pgid)
		if len(kids) == 0 {
			return
		}
		for _, pid := range kids {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil) // killed with the group: returns at once
		}
	}
}

// orphansOf lists trawl's children in the process group pgid.
func orphansOf(pgid int) []int {
	me := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, pg, ok := procParent(pid)
		if ok && ppid == me && pg == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// procParent reads the parent and the process group of pid from
// /proc/PID/stat.
func procParent(pid int) (ppid, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	return ppid, pgrp, err1 == nil && err2 == nil
}

// BecomeSubreaper makes trawl the reaper of the orphans of its
// descendants (PR_SET_CHILD_SUBREAPER): a browser helper whose parent
// dies is reparented to trawl, which reaps it, not to init.
func BecomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set child subreaper: %w", err)
	}
	return nil
}

// RemoveStaleDirs removes the user-data-dirs that runs killed before
// they could clean up left in the temporary directory (their pid no
// longer alive), killing any process still using one first. It returns
// how many it removed.
func RemoveStaleDirs() int {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), DirMarker+"*"))
	n := 0
	for _, dir := range dirs {
		rest := strings.TrimPrefix(filepath.Base(dir), DirMarker)
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue // not a run's, or this run's
		}
		if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
			continue // its run is alive
		}
		killUsing(dir)
		if os.RemoveAll(dir) == nil {
			n++
		}
	}
	return n
}

// killUsing kills the processes whose command line names dir.
func killUsing(dir string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmdline), dir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
