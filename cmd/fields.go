package cmd

import (
	"slices"
	"strings"

	"github.com/trawl-dev/trawl/crawler"
)

// isAddForm reports whether --fields was given as +name,+name: fields
// added to the default set rather than the exact set.
func isAddForm(fields []string) bool {
	return slices.ContainsFunc(fields, func(f string) bool { return strings.HasPrefix(f, "+") })
}

// expandFields resolves --fields once the format and the selectors are
// known. The exact form stays as it is. The +name form adds the named
// fields to the default set: for JSON Lines the full record (o.Fields
// nil) with the added opt-in fields computed, for CSV the default
// columns followed by the added ones not among them. Mixing the forms,
// and unknown names, are usage errors. It sets o.extras.
func (o *RunOptions) expandFields() error {
	if !isAddForm(o.Fields) {
		if err := crawler.CheckFields(o.Fields, o.selectors); err != nil {
			return usageError("--fields: %v", err)
		}
		o.extras = neededExtras(o.Fields)
		return nil
	}
	added := make([]string, 0, len(o.Fields))
	for _, f := range o.Fields {
		name, ok := strings.CutPrefix(f, "+")
		if !ok {
			return usageError("--fields %s: %q has no '+' but others do: give either the exact fields (a,b,c) or fields to add to the default ones (+a,+b)", strings.Join(o.Fields, ","), f)
		}
		if name == "" {
			return usageError("--fields %s: a '+' without a field name", strings.Join(o.Fields, ","))
		}
		added = append(added, name)
	}
	if err := crawler.CheckFields(added, o.selectors); err != nil {
		return usageError("--fields: %v", err)
	}
	o.extras = neededExtras(added)
	if o.Format != "csv" {
		o.Fields, o.addedFields = nil, added
		return nil
	}
	cols := crawler.CSVColumns(nil, o.selectors)
	for _, f := range added {
		if f == "error" {
			f = "error_kind" // among the default columns
		}
		if !slices.Contains(cols, f) {
			cols = append(cols, f)
		}
	}
	o.Fields, o.addedFields = cols, added
	return nil
}

// neededExtras is which expensive parts of a record a run computes for
// the output fields named: only those asked for, so that the default
// fields cost per page what they always did. The main-content fields
// (markdown, text, ...) are turned on by [RunOptions.contentOptions].
func neededExtras(fields []string) crawler.Extras {
	var e crawler.Extras
	for _, f := range fields {
		switch f {
		case "html":
			e.HTML = true
		case "headers":
			e.Headers = true
		case "jsonld", "jsonld_errors":
			e.JSONLD = true
		case "opengraph":
			e.OpenGraph = true
		case "meta":
			e.Meta = true
		case "images":
			e.Images = true
		case "robots_meta":
			e.RobotsMeta = true
		case "data_truncated":
			// set by whichever of the others is computed
		}
	}
	return e
}
