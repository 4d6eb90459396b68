// Command psspeak runs a command and reports the peak of the summed
// proportional set size (PSS, from /proc/PID/smaps_rollup) of the
// command and all its descendants, sampled every -every. Summed RSS
// counts pages shared between Chromium's processes once per process;
// PSS splits each shared page between its sharers, so the sum is the
// tree's real footprint.
//
//	psspeak [-every 200ms] -- command args...
//
// It prints "peak_pss_mib N" and "cpu_s N" (user and system time of the
// command and the descendants it and they waited for) on standard error
// once the command ended, and exits with the command's exit code.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	every := flag.Duration("every", 200*time.Millisecond, "sampling interval")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: psspeak [-every D] -- command args...")
		os.Exit(2)
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "psspeak:", err)
		os.Exit(2)
	}
	pid := cmd.Process.Pid
	peak := 0
	var ws syscall.WaitStatus
	for {
		// Sample, then see whether the command ended: WNOHANG keeps
		// this one loop the only thread of control.
		peak = max(peak, treePSS(pid))
		if got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); got == pid || err != nil {
			break
		}
		time.Sleep(*every)
	}
	fmt.Fprintf(os.Stderr, "peak_pss_mib %.1f\n", float64(peak)/1024)
	// The CPU time of every descendant that was waited for: trawl
	// reaps the browser's processes (it is their subreaper), so the
	// whole tree's time is here.
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		fmt.Fprintf(os.Stderr, "cpu_s %.2f\n", cpu.Seconds())
	}
	switch {
	case ws.Signaled():
		os.Exit(128 + int(ws.Signal()))
	case ws.Exited():
		os.Exit(ws.ExitStatus())
	}
}

// treePSS is the summed PSS in KiB of root and its descendants.
func treePSS(root int) int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], pid)
		}
	}
	sum := 0
	stack := []int{root}
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		sum += pss(pid)
		stack = append(stack, children[pid]...)
	}
	return sum
}

func pss(pid int) int {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}
