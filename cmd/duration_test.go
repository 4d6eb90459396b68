package cmd

import (
	"testing"
	"time"
)

func TestSecondsDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"5":     5 * time.Second,
		"1.5":   1500 * time.Millisecond,
		" 0 ":   0,
		"250ms": 250 * time.Millisecond,
		"2m30s": 150 * time.Second,
		"-1":    -time.Second, // refused by Validate, which names the flag
	} {
		var d secondsDuration
		if err := d.Set(in); err != nil || time.Duration(d) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, in := range []string{"", "soon", "NaN", "1e300", "5 s"} {
		var d secondsDuration
		if err := d.Set(in); err == nil {
			t.Errorf("Set(%q) = %v, want an error", in, time.Duration(d))
		}
	}
	for d, want := range map[secondsDuration]string{0: "0", secondsDuration(30 * time.Second): "30s"} {
		if got := d.String(); got != want {
			t.Errorf("String(%v) = %q, want %q", time.Duration(d), got, want)
		}
	}
}
