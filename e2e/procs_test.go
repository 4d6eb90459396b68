//go:build unix

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// liveProcs returns the processes, read from /proc, that match says yes
// to, given the pid and the fields of /proc/PID/stat after the command
// name (state, ppid, pgrp...). Zombies are left out: a zombie has closed
// its files and released its locks, and here nobody may reap it.
func liveProcs(match func(pid string, stat []string) bool) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" || !match(e.Name(), f) {
			continue
		}
		out = append(out, pid)
	}
	return out
}
