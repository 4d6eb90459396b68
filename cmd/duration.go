package cmd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// secondsDuration is a duration flag that also takes a bare number of
// seconds: "--timeout 5" is five seconds, as curl, wget and httpx read
// it, and "--timeout 1.5" one and a half; "5s", "2m30s" and every other
// Go duration work as before.
type secondsDuration time.Duration

func (d *secondsDuration) String() string {
	if *d == 0 {
		return "0" // pflag leaves "(default 0)" out of the help
	}
	return time.Duration(*d).String()
}

func (d *secondsDuration) Set(s string) error {
	t := strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		if math.IsNaN(f) || math.Abs(f) > float64(math.MaxInt64)/float64(time.Second) {
			return fmt.Errorf("%q: not a number of seconds trawl can wait", s)
		}
		*d = secondsDuration(f * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(t)
	if err != nil {
		return fmt.Errorf("%q: want a duration such as 30s, 2m or 1h30m, or a number of seconds", s)
	}
	*d = secondsDuration(v)
	return nil
}

func (d *secondsDuration) Type() string { return "duration" }

// durationVar defines a duration flag that takes bare numbers as seconds
// (see [secondsDuration]).
func durationVar(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var((*secondsDuration)(p), name, usage)
}
