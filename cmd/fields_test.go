package cmd

import (
	"reflect"
	"slices"
	"testing"

	"github.com/trawl-dev/trawl/crawler"
)

// TestNeededExtras: only the opt-in fields named cost anything; the
// default fields (nil) and the standard ones compute nothing more.
func TestNeededExtras(t *testing.T) {
	if e := neededExtras(nil); e != (crawler.Extras{}) {
		t.Errorf("default fields need %+v, want nothing", e)
	}
	if e := neededExtras(slices.Clone(crawler.DefaultCSVFields)); e != (crawler.Extras{}) {
		t.Errorf("the default CSV columns need %+v, want nothing", e)
	}
	want := crawler.Extras{JSONLD: true, Images: true}
	if e := neededExtras([]string{"url", "jsonld_errors", "images"}); e != want {
		t.Errorf("url,jsonld_errors,images need %+v, want %+v", e, want)
	}
	all := neededExtras(crawler.OptInFields)
	if all != (crawler.Extras{HTML: true, Headers: true, JSONLD: true, OpenGraph: true, Meta: true, Images: true, RobotsMeta: true}) {
		t.Errorf("every opt-in field needs %+v: one is not mapped", all)
	}
}

// TestExpandFields: +name adds to the defaults, for CSV as columns after
// the default ones and the --select columns, for JSON as the full record.
func TestExpandFields(t *testing.T) {
	sel, err := crawler.ParseSelector("price=.price")
	if err != nil {
		t.Fatal(err)
	}
	o := &RunOptions{Format: "csv", Fields: []string{"+jsonld", "+title", "+links"}, selectors: []crawler.Selector{sel}}
	if err := o.expandFields(); err != nil {
		t.Fatal(err)
	}
	want := append(append(slices.Clone(crawler.DefaultCSVFields), "price"), "jsonld", "links")
	if !reflect.DeepEqual(o.Fields, want) || !o.extras.JSONLD {
		t.Errorf("CSV +jsonld,+title,+links: fields %v, extras %+v; want %v", o.Fields, o.extras, want)
	}
	o = &RunOptions{Format: "jsonl", Fields: []string{"+opengraph"}}
	if err := o.expandFields(); err != nil {
		t.Fatal(err)
	}
	if o.Fields != nil || !reflect.DeepEqual(o.addedFields, []string{"opengraph"}) || !o.extras.OpenGraph {
		t.Errorf("JSON +opengraph: fields %v, added %v, extras %+v", o.Fields, o.addedFields, o.extras)
	}
}

// TestContentOptionsWithAddedFields: --fields +markdown turns the main
// content on in both formats, as --fields url,markdown does.
func TestContentOptionsWithAddedFields(t *testing.T) {
	for _, tt := range []struct {
		format string
		fields []string
		want   bool
	}{
		{"jsonl", []string{"+markdown"}, true},
		{"csv", []string{"+text"}, true},
		{"jsonl", []string{"url", "word_count"}, true},
		{"jsonl", []string{"+jsonld"}, false},
		{"jsonl", nil, false},
	} {
		o := &RunOptions{Format: tt.format, Fields: tt.fields}
		if err := o.expandFields(); err != nil {
			t.Fatal(err)
		}
		if got := o.contentOptions().Enabled; got != tt.want {
			t.Errorf("--format %s --fields %v: content enabled %v, want %v", tt.format, tt.fields, got, tt.want)
		}
	}
}
