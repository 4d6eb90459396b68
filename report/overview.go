package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// statusClasses are the labels of the status chart, in order.
var statusClasses = []string{"2xx", "3xx", "4xx", "5xx", "no answer"}

// statusClass returns r's bar in the status chart.
func statusClass(r *record) string {
	if r.Status < 100 || r.Status > 599 {
		return "no answer"
	}
	return strconv.Itoa(r.Status/100) + "xx"
}

// depthLabel returns the bar of depth d: 0 to 9, then "10+".
func depthLabel(d int) string {
	if d >= 10 {
		return "10+"
	}
	return strconv.Itoa(d)
}

// timeBuckets are the upper bounds of the response-time bars, in ms.
var timeBuckets = [...]int64{100, 300, 1000, 3000}

func timeBucket(ms int64) int {
	for i, b := range timeBuckets {
		if ms < b {
			return i
		}
	}
	return len(timeBuckets)
}

func timeLabel(i int) string {
	ms := func(v int64) string {
		if v >= 1000 {
			return fmt.Sprintf("%ds", v/1000)
		}
		return fmt.Sprintf("%dms", v)
	}
	switch i {
	case 0:
		return "< " + ms(timeBuckets[0])
	case len(timeBuckets):
		return "≥ " + ms(timeBuckets[i-1])
	}
	return ms(timeBuckets[i-1]) + "–" + ms(timeBuckets[i])
}

// overview returns the chart data.
func (b *Builder) overview() Overview {
	var o Overview
	for _, c := range statusClasses {
		o.StatusClasses = append(o.StatusClasses, Bucket{c, b.status[c]})
	}
	o.ErrorKinds = []Bucket{}
	for k, n := range b.kinds {
		o.ErrorKinds = append(o.ErrorKinds, Bucket{k, n})
	}
	slices.SortFunc(o.ErrorKinds, func(x, y Bucket) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), strings.Compare(x.Label, y.Label))
	})
	for d := 0; d <= min(b.cov.MaxDepth, 10); d++ {
		o.Depths = append(o.Depths, Bucket{depthLabel(d), b.depths[depthLabel(d)]})
	}
	for i, n := range b.times {
		o.ResponseTimes = append(o.ResponseTimes, Bucket{timeLabel(i), n})
	}
	return o
}
