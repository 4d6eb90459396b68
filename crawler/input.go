package crawler

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// closeTimeout bounds closing a file in a shielded scope.
const closeTimeout = 5 * time.Second

// An Input is one place URLs come from: a URL given as an argument, a file
// of URLs (one a line), or standard input ("-").
type Input struct {
	// Name is the URL, the file's path, or "-" for standard input.
	Name string
	// IsURL is true when Name is itself the URL to fetch.
	IsURL bool
}

// IsURLArgument reports whether the command-line argument a is a URL
// rather than a file of URLs: it contains "://" or starts with "http:" or
// "https:" in any case, as "http:/example.com/" does, which browsers (and
// [ParseURL]) read as http://example.com/.
func IsURLArgument(a string) bool {
	if strings.Contains(a, "://") {
		return true
	}
	scheme, _, ok := strings.Cut(a, ":")
	return ok && (strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https"))
}

// ParseInputs sorts command-line arguments into inputs: "-" is standard
// input, a URL (see [IsURLArgument]) is fetched, anything else must be a
// readable regular file. A file that cannot be opened is an error naming it,
// returned before anything is fetched. Standard input may appear once.
func ParseInputs(args []string) ([]Input, error) {
	inputs := make([]Input, 0, len(args))
	stdin := false
	for _, a := range args {
		switch {
		case a == "-":
			if stdin {
				return nil, errors.New(`standard input "-" given more than once`)
			}
			stdin = true
			inputs = append(inputs, Input{Name: a})
		case IsURLArgument(a):
			inputs = append(inputs, Input{Name: a, IsURL: true})
		default:
			fi, err := os.Stat(a)
			if err != nil && isBareHostArgument(a) {
				inputs = append(inputs, Input{Name: a, IsURL: true})
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("input %q is neither a URL (scheme://..., or a host such as example.com/path) nor a readable file: %w", a, err)
			}
			if fi.IsDir() {
				return nil, fmt.Errorf("input %q is a directory, not a file of URLs", a)
			}
			inputs = append(inputs, Input{Name: a})
		}
	}
	return inputs, nil
}

// An InputLine is one entry read from an input.
type InputLine struct {
	Source string // the input's Name
	Line   int    // 1-based line number in Source; 0 for a URL argument
	Text   string // the line, trimmed of surrounding white space
	Err    error  // a read error (e.g. a line too long) instead of Text
}

// ReadInputs streams the entries of inputs, in order, to yield: blank lines
// and lines starting with "#" are skipped, and nothing is held in memory
// beyond one line. A line is cleaned as spreadsheets and editors leave
// it: a UTF-8 byte order mark at the start of the input, quotes around
// the line (a column pasted from CSV) and a trailing " # comment" are
// dropped. stdin is read for "-". Reading goes through
// [structured.File], so blocking reads are offloaded and a cancelled ctx
// stops the reading. A yield error stops reading and is returned.
func ReadInputs(ctx context.Context, inputs []Input, stdin *structured.File, yield func(context.Context, InputLine) error) error {
	for _, in := range inputs {
		if in.IsURL {
			if err := yield(ctx, InputLine{Source: in.Name, Text: in.Name}); err != nil {
				return err
			}
			continue
		}
		if err := readInput(ctx, in.Name, stdin, yield); err != nil {
			return err
		}
	}
	return nil
}

func readInput(ctx context.Context, name string, stdin *structured.File, yield func(context.Context, InputLine) error) error {
	f := stdin
	if name != "-" {
		var err error
		f, err = structured.OpenFile(ctx, name, os.O_RDONLY, 0)
		if err != nil {
			return fmt.Errorf("open input: %w", err)
		}
		defer structured.Shielded(ctx, closeTimeout, f.Close)
	} else if f == nil {
		return errors.New("standard input is not available")
	}
	n := 0
	for line, err := range f.Lines(ctx) {
		n++
		if err != nil {
			var long *structured.LineTooLongError
			if !errors.As(err, &long) {
				return fmt.Errorf("read %s line %d: %w", name, n, err)
			}
			if yerr := yield(ctx, InputLine{Source: name, Line: n, Err: err}); yerr != nil {
				return yerr
			}
			continue
		}
		if n == 1 {
			line = strings.TrimPrefix(line, bom)
		}
		text := cleanInputLine(line)
		if text == "" {
			continue
		}
		if err := yield(ctx, InputLine{Source: name, Line: n, Text: text}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// CountInputs counts the entries that [ReadInputs] would yield, for a
// progress total. It reads files quickly in large blocks without keeping
// them; known is false when an input is standard input, whose entries can
// only be read once.
func CountInputs(ctx context.Context, inputs []Input) (n int, known bool, err error) {
	known = true
	for _, in := range inputs {
		switch {
		case in.IsURL:
			n++
		case in.Name == "-":
			known = false
		default:
			c, err := structured.RunSync(ctx, func(ctx context.Context) (int, error) { return countFile(ctx, in.Name) })
			if err != nil {
				return 0, false, err
			}
			n += c
		}
	}
	return n, known, nil
}

// countFile counts the lines of a file that are neither blank nor comments.
func countFile(ctx context.Context, name string) (int, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, fmt.Errorf("count input: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	n, first := 0, true
	for {
		line, err := r.ReadSlice('\n')
		if first {
			line, first = bytes.TrimPrefix(line, []byte(bom)), false
		}
		if len(bytes.TrimSpace(line)) > 0 && bytes.TrimSpace(line)[0] != '#' {
			n++
		}
		// A line longer than the buffer comes in pieces: count it once.
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("count input %s: %w", name, err)
		}
		if n%65536 == 0 && ctx.Err() != nil {
			return n, ctx.Err()
		}
	}
}

// bom is the UTF-8 byte order mark that some editors put first in a file.
const bom = "\ufeff"

// cleanInputLine trims line and drops what is not part of a URL: a
// comment, a trailing " # comment" (a '#' after white space: a fragment
// has none before it), and one pair of quotes around the rest. It returns
// "" for a line with nothing left.
func cleanInputLine(line string) string {
	text := strings.TrimSpace(line)
	if strings.HasPrefix(text, "#") {
		return ""
	}
	for k := 1; k < len(text); k++ {
		if text[k] == '#' && (text[k-1] == ' ' || text[k-1] == '\t') {
			text = strings.TrimSpace(text[:k])
			break
		}
	}
	for _, q := range []string{`"`, `'`} {
		if len(text) >= 2 && strings.HasPrefix(text, q) && strings.HasSuffix(text, q) {
			text = strings.TrimSpace(text[1 : len(text)-1])
			break
		}
	}
	return text
}

// HasEntries reports whether the file name holds at least one entry that
// [ReadInputs] would yield; it reads no further than the first one.
func HasEntries(ctx context.Context, name string) (bool, error) {
	f, err := structured.OpenFile(ctx, name, os.O_RDONLY, 0)
	if err != nil {
		return false, fmt.Errorf("open input: %w", err)
	}
	defer structured.Shielded(ctx, closeTimeout, f.Close)
	first := true
	for line, err := range f.Lines(ctx) {
		if err != nil {
			var long *structured.LineTooLongError
			return errors.As(err, &long), nil
		}
		if first {
			line, first = strings.TrimPrefix(line, bom), false
		}
		if cleanInputLine(line) != "" {
			return true, nil
		}
	}
	return false, ctx.Err()
}
