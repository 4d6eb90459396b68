package crawler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// A record carried forward (a 304, or a page a sitemap's lastmod says is
// unmodified) is most of its previous record: writing it by decoding that
// record into a Result and encoding it again cost more CPU than the 304
// itself. Instead, the previous record is split into its members as
// written (rawRecord), and the JSON output splices them into the new
// record (spliceRecord): the new record's own members (url, status,
// fetched_at, change, ...) come from its Result, the carried ones are
// copied as they are. A member is copied only when encoding its decoded
// value gives the same bytes (plainValue): otherwise that one member is
// decoded, cleaned and encoded as the whole record was, so that the output
// is byte for byte what decoding and encoding the record gives. Members
// that the current version does not know are dropped, as decoding drops
// them. A record whose members could decode otherwise than one by one (a
// name twice, or a name that is a known one but for case) is decoded
// whole, as before. Outputs other than JSON Lines decode the record
// (Result.materialize).

// recordField is one member of a record as [Result] encodes it.
type recordField struct {
	name      string
	index     []int        // of the field in resultJSON, through embedded structs
	typ       reflect.Type // of the field
	omitEmpty bool         // omitempty: left out when empty
	carried   bool         // taken from the previous record on a 304
	cleaned   bool         // cleaned by Result.cleaned (a page field)
}

// recordLayout is the members of a record in output order, and their
// numbers by name.
type recordLayout struct {
	fields []recordField
	byName map[string]int
	folded map[string]bool // lower-cased names, for the case-insensitive match of decoding
	zero   [][]byte        // the encoding of each member of the zero Result ("links":[]), nil when left out
}

// The members whose value a record carried forward takes from its 304
// when the 304 has one.
const (
	fieldContentType  = "content_type"
	fieldETag         = "etag"
	fieldLastModified = "last_modified"
	fieldHeaders      = "headers"
	fieldFetchedAt    = "fetched_at"
)

var layout = sync.OnceValue(newRecordLayout)

// newRecordLayout reads the members of a record off resultJSON, as
// encoding/json orders them: by field, an embedded struct's fields at
// its place.
func newRecordLayout() *recordLayout {
	l := &recordLayout{byName: make(map[string]int), folded: make(map[string]bool)}
	page := map[string]bool{"title": true, "description": true, "canonical": true, "h1": true, "h1_count": true, "lang": true,
		"links": true, "links_truncated": true, "links_dropped": true, "fields": true, "fields_truncated": true}
	cleaned := map[string]bool{fieldContentType: true, "title": true, "description": true, "h1": true, "lang": true, "fields": true}
	var walk func(t reflect.Type, index []int, inCarried bool)
	walk = func(t reflect.Type, index []int, inCarried bool) {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			if f.Anonymous {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				walk(ft, idx, inCarried || ft == reflect.TypeFor[PageData]() || ft == reflect.TypeFor[PageContent]())
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" || !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if name == "" {
				name = f.Name
			}
			l.byName[name] = len(l.fields)
			l.folded[strings.ToLower(name)] = true
			l.fields = append(l.fields, recordField{
				name: name, index: idx, typ: f.Type,
				omitEmpty: strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero"),
				carried:   inCarried || page[name] || name == fieldContentType,
				cleaned:   cleaned[name],
			})
		}
	}
	walk(reflect.TypeFor[resultJSON](), nil, false)
	zero, err := json.Marshal(Result{})
	if err != nil {
		panic(err)
	}
	rr, ok := splitRecord(l, zero)
	if !ok {
		panic("crawler: the zero record does not split")
	}
	l.zero = rr.vals
	return l
}

// rawRecord is a record as written, split into its members: vals[i] is
// the value of layout().fields[i], nil when the record has none.
type rawRecord struct {
	line []byte
	vals [][]byte
}

// decoders are the jsontext decoders of splitRecord.
var decoders = sync.Pool{New: func() any { return jsontext.NewDecoder(bytes.NewBuffer(nil)) }}

// errNotSplit is the error of a record that must be decoded whole.
var errNotSplit = errors.New("record does not split into its members")

// splitRecord splits the JSON object line into its members. It reports
// false when line is not an object, or holds a name twice, or a name
// that decoding matches to a member only by folding its case, or a name
// with an escape: such a record must be decoded whole.
func splitRecord(l *recordLayout, line []byte) (rawRecord, bool) {
	return splitRecordInto(l, line, make([][]byte, len(l.fields)))
}

// splitRecordInto is splitRecord into vals, len(l.fields) nil values.
func splitRecordInto(l *recordLayout, line []byte, vals [][]byte) (rawRecord, bool) {
	rr := rawRecord{line: line, vals: vals}
	dec := decoders.Get().(*jsontext.Decoder)
	defer decoders.Put(dec)
	dec.Reset(bytes.NewBuffer(line), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return rr, false
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadValue()
		if err != nil || bytes.IndexByte(name, '\\') >= 0 {
			return rr, false
		}
		key := name[1 : len(name)-1]
		i, known := l.byName[string(key)]
		if !known && l.folded[strings.ToLower(string(key))] {
			return rr, false
		}
		v, err := dec.ReadValue()
		if err != nil {
			return rr, false
		}
		if !known {
			continue // a member this version does not know: dropped, as decoding drops it
		}
		if rr.vals[i] != nil {
			return rr, false
		}
		end := int(dec.InputOffset())
		rr.vals[i] = line[end-len(v) : end : end]
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return rr, false
	}
	if len(bytes.TrimLeft(line[dec.InputOffset():], " \t\r\n")) > 0 {
		return rr, false // something after the object
	}
	return rr, true
}

// plainString reports whether the JSON string v is as encoding/json
// writes the string it decodes to, and that string as [CleanText] leaves
// it: printable ASCII or valid UTF-8 but C1 controls and U+2028/U+2029,
// escapes \" \\ \n \t only.
func plainString(v []byte) bool { return plainStringEnd(v) == len(v) }

// plainASCII marks the bytes a plain string holds as they are: printable
// ASCII but " and \.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainStringEnd returns the length of the plain JSON string (see
// [plainString]) at the start of b, -1 when b does not start with one.
func plainStringEnd(b []byte) int {
	if len(b) < 2 || b[0] != '"' {
		return -1
	}
	for i := 1; i < len(b); {
		c := b[i]
		switch {
		case plainASCII[c]:
			i++
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', 'n', 't':
			default:
				return -1
			}
			i += 2
		case c < utf8.RuneSelf:
			return -1 // a control character or DEL
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 || r >= 0x80 && r <= 0x9f || r == '\u2028' || r == '\u2029' {
				return -1
			}
			i += size
		}
	}
	return -1
}

// plainInt reports whether v is an integer as encoding/json writes one.
func plainInt(v []byte) bool {
	d := v
	neg := len(d) > 0 && d[0] == '-'
	if neg {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 18 || d[0] == '0' && (len(d) > 1 || neg) {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// plainValue returns the encoding of the member f with value v (a valid
// JSON value) as encoding the decoded value gives it: v itself when it
// is already that, nil when the member is left out (empty), and ok false
// when only decoding tells.
func plainValue(f *recordField, v []byte) (out []byte, ok bool) {
	if string(v) == "null" {
		return nil, f.omitEmpty // decoding leaves the field zero
	}
	switch f.typ.Kind() {
	case reflect.String:
		if !plainString(v) {
			return nil, false
		}
		if len(v) == 2 && f.omitEmpty {
			return nil, true
		}
		return v, true
	case reflect.Bool:
		switch string(v) {
		case "true":
			return v, true
		case "false":
			if f.omitEmpty {
				return nil, true
			}
			return v, true
		}
		return nil, false
	case reflect.Int, reflect.Int64:
		if !plainInt(v) {
			return nil, false
		}
		if string(v) == "0" && f.omitEmpty {
			return nil, true
		}
		return v, true
	case reflect.Slice:
		if f.typ.Elem().Kind() != reflect.String || v[0] != '[' {
			return nil, false
		}
		if string(v) == "[]" {
			if f.omitEmpty {
				return nil, true
			}
			return v, true
		}
		for rest := v[1:]; ; {
			end := plainStringEnd(rest)
			if end < 0 || end >= len(rest) {
				return nil, false
			}
			switch rest[end] {
			case ',':
				rest = rest[end+1:]
			case ']':
				return v, end+1 == len(rest)
			default:
				return nil, false
			}
		}
	}
	return nil, false
}

// normalValue returns the encoding of the member f with value v as
// decoding it into its field, cleaning it as Result.cleaned does, and
// encoding it gives: nil when it is left out.
func normalValue(f *recordField, v []byte) ([]byte, error) {
	p := reflect.New(f.typ)
	if err := json.Unmarshal(v, p.Interface()); err != nil {
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	x := p.Elem()
	if x.Kind() == reflect.Slice && x.IsNil() && !f.omitEmpty {
		return nil, nil // links and redirects: [] (Result.jsonForm)
	}
	if f.cleaned {
		switch val := x.Interface().(type) {
		case string:
			x.SetString(CleanText(val))
		case map[string][]string:
			x.Set(reflect.ValueOf(cleanFields(val)))
		}
	}
	if f.omitEmpty && isEmptyValue(x) {
		return nil, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x.Interface()); err != nil {
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// isEmptyValue is encoding/json's test for omitempty.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	case reflect.Struct:
		return v.IsZero() // omitzero (a Timestamp)
	}
	return false
}

// carriedRecord is the previous record of a record carried forward
// ([Result.carry]): its line, and the encoding of each member that is
// carried, as decoding, cleaning and encoding it gives (nil: none).
type carriedRecord struct {
	line []byte
	vals [][]byte
	// The members the new record's own value wins for: its content
	// type when it has one, its headers when it has them (the etag and
	// last_modified of a 304 win when not empty).
	ownContentType, ownHeaders bool
}

// prepareCarry returns the carried members of rr as they are to be
// written, and the previous fetched_at. Every member the version knows is
// checked to decode into its field, carried or not, as decoding the
// record whole checks them.
func prepareCarry(l *recordLayout, rr rawRecord) (vals [][]byte, fetchedAt Timestamp, err error) {
	vals = make([][]byte, len(rr.vals))
	for i, v := range rr.vals {
		if v == nil {
			continue
		}
		f := &l.fields[i]
		switch {
		case f.name == fieldFetchedAt:
			if string(v) != "null" {
				if err := fetchedAt.UnmarshalJSON(v); err != nil {
					return nil, fetchedAt, fmt.Errorf("%s: %w", f.name, err)
				}
			}
		case f.carried:
			out, ok := plainValue(f, v)
			if !ok {
				if out, err = normalValue(f, v); err != nil {
					return nil, fetchedAt, err
				}
			}
			vals[i] = out
		default:
			if _, ok := plainValue(f, v); !ok {
				if err := json.Unmarshal(v, reflect.New(f.typ).Interface()); err != nil {
					return nil, fetchedAt, fmt.Errorf("%s: %w", f.name, err)
				}
			}
		}
	}
	return vals, fetchedAt, nil
}

// forCarriedLinks calls yield with each link of c, in order, until it
// returns an error. The bytes are valid during the call only.
func forCarriedLinks(l *recordLayout, c *carriedRecord, yield func(link []byte) error) error {
	v := c.vals[l.byName["links"]]
	if v == nil || string(v) == "[]" {
		return nil
	}
	if bytes.IndexByte(v, '\\') < 0 {
		// Plain strings without escapes, as encoding/json writes them
		// (plainValue, normalValue): split them as they are.
		for rest := v[2 : len(v)-2]; ; {
			i := bytes.Index(rest, []byte(`","`))
			if i < 0 {
				return yield(rest)
			}
			if err := yield(rest[:i]); err != nil {
				return err
			}
			rest = rest[i+3:]
		}
	}
	var links []string
	if err := json.Unmarshal(v, &links); err != nil {
		return err
	}
	for _, link := range links {
		if err := yield([]byte(link)); err != nil {
			return err
		}
	}
	return nil
}

// ownVals are the members of the new records spliceRecord splits, a
// record at a time.
var ownVals = sync.Pool{New: func() any { return new([][]byte) }}

// spliceRecord appends to dst the record carried forward from c whose
// own members are encoded in own (the new record, without what it
// carries): own's members with c's carried ones spliced in, in output
// order.
func spliceRecord(l *recordLayout, dst, own []byte, c *carriedRecord) ([]byte, error) {
	vp := ownVals.Get().(*[][]byte)
	defer ownVals.Put(vp)
	if len(*vp) != len(l.fields) {
		*vp = make([][]byte, len(l.fields))
	}
	defer clear(*vp)
	mine, ok := splitRecordInto(l, own, *vp)
	if !ok {
		return nil, errNotSplit
	}
	out := append(slices.Grow(dst, len(own)+len(c.line)+64), '{')
	for i := range l.fields {
		f := &l.fields[i]
		var v []byte
		switch {
		case !f.carried:
			v = mine.vals[i]
		case f.name == fieldContentType && c.ownContentType,
			f.name == fieldHeaders && c.ownHeaders,
			(f.name == fieldETag || f.name == fieldLastModified) && mine.vals[i] != nil:
			v = mine.vals[i]
		case c.vals[i] != nil:
			v = c.vals[i]
		default:
			v = l.zero[i]
		}
		if v == nil {
			continue
		}
		if len(out) > len(dst)+1 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, f.name...)
		out = append(out, '"', ':')
		out = append(out, v...)
	}
	return append(out, '}'), nil
}
