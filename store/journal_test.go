package store

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type event struct {
	depth int
	url   string
}

func replay(t *testing.T, path string) ([]event, ScanResult) {
	t.Helper()
	var evs []event
	res, err := ReplayJournal(t.Context(), path, func(d int, u string) { evs = append(evs, event{d, u}) })
	if err != nil {
		t.Fatalf("ReplayJournal: %v", err)
	}
	return evs, res
}

func TestJournalRoundTrip(t *testing.T) {
	ctx := t.Context()
	path := JournalPath(filepath.Join(t.TempDir(), "out.jsonl"))
	j, err := OpenJournal(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	want := []event{{0, "https://a/"}, {1, "https://a/b c"}, {2, "https://a/d?x=1"}}
	for _, e := range want {
		if err := j.Enqueue(ctx, e.depth, e.url); err != nil {
			t.Fatal(err)
		}
	}
	if got := readString(t, path); got != "" {
		t.Fatalf("journal written before Flush: %q", got)
	}
	if err := j.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := replay(t, path); !slices.Equal(got, want) {
		t.Fatalf("after Flush, replay %v, want %v", got, want)
	}
	if err := j.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "https://a/\nenqueue 0 https://evil/", "x\r"} {
		if err := j.Enqueue(ctx, 0, bad); !errors.Is(err, ErrBadURL) {
			t.Errorf("Enqueue(%q): %v, want ErrBadURL", bad, err)
		}
	}
}

func TestReplayJournalTorn(t *testing.T) {
	ctx := t.Context()
	path := writeFile(t, "enqueue 0 https://a/\nenqueue 1 https://d/\nenqueue 2 https://e")
	got, res := replay(t, path)
	want := []event{{0, "https://a/"}, {1, "https://d/"}}
	if !slices.Equal(got, want) {
		t.Fatalf("replay %v, want %v", got, want)
	}
	if res.Records != 2 {
		t.Fatalf("result %+v, want 2 records", res)
	}
	if res.Truncated != int64(len("enqueue 2 https://e")) {
		t.Fatalf("Truncated %d", res.Truncated)
	}
	// Appending after the replay starts on a new line.
	j, err := OpenJournal(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Enqueue(ctx, 2, "https://e/"); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ = replay(t, path)
	if want := append(want, event{2, "https://e/"}); !slices.Equal(got, want) {
		t.Fatalf("after append, replay %v, want %v", got, want)
	}
}

// TestReplayJournalRefusesCorrupt: a complete line that is not an event
// fails the replay with an error naming the file and the line; the
// journal is left as it was, torn last line included.
func TestReplayJournalRefusesCorrupt(t *testing.T) {
	for _, content := range []string{
		"enqueue 0 https://a/\nenqueue x https://b/\nenqueue 1 https://d/\nenqueue 2 https://e",
		"enqueue 0 https://a/\nfrobnicate 1 https://c/\n",
		"enqueue 0 https://a/\nhttps://b/",
	} {
		path := writeFile(t, content)
		_, err := ReplayJournal(t.Context(), path, func(int, string) {})
		var ce *CorruptRecordError
		if !errors.As(err, &ce) || ce.Line != 2 || !strings.Contains(err.Error(), path) {
			t.Errorf("ReplayJournal of %q: %v, want a corrupt record error naming line 2", content, err)
		}
		if got := readString(t, path); got != content {
			t.Errorf("the refused replay changed the journal to %q", got)
		}
	}
}

func TestOpenJournalCutsTornLine(t *testing.T) {
	ctx := t.Context()
	path := writeFile(t, "enqueue 0 https://a/\nenqueue 1 htt")
	j, err := OpenJournal(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Enqueue(ctx, 1, "https://b/"); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := readString(t, path), "enqueue 0 https://a/\nenqueue 1 https://b/\n"; got != want {
		t.Fatalf("journal %q, want %q", got, want)
	}
}

func TestReplayJournalMissing(t *testing.T) {
	got, res := replay(t, filepath.Join(t.TempDir(), "none.journal"))
	if len(got) != 0 || res.Records != 0 {
		t.Fatalf("replay of a missing journal: %v %+v", got, res)
	}
}

// TestJournalReferrerRoundTrip: EnqueueFrom's referrer comes back from
// ReplayJournalFrom, a URL with a space stays whole, a line without a
// referrer (an older journal) gives "", and ReplayJournal still reads
// the URL alone.
func TestJournalReferrerRoundTrip(t *testing.T) {
	ctx := t.Context()
	path := JournalPath(filepath.Join(t.TempDir(), "out.jsonl"))
	j, err := OpenJournal(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	type ev struct {
		depth         int
		url, referrer string
	}
	want := []ev{{0, "https://a/", ""}, {1, "https://a/b c", "https://a/"}, {2, "https://a/d", "https://a/b c"}, {1, "https://a/e", ""}}
	for _, e := range want {
		if err := j.EnqueueFrom(ctx, e.depth, e.url, e.referrer); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.EnqueueFrom(ctx, 1, "https://a/\tx", ""); !errors.Is(err, ErrBadURL) {
		t.Errorf("EnqueueFrom of a URL with a tab: %v, want ErrBadURL", err)
	}
	if err := j.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var got []ev
	if _, err := ReplayJournalFrom(ctx, path, func(d int, u, r string) { got = append(got, ev{d, u, r}) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("replay %v, want %v", got, want)
	}
	evs, _ := replay(t, path)
	if len(evs) != 4 || evs[2].url != "https://a/d" {
		t.Fatalf("ReplayJournal %v", evs)
	}
}
