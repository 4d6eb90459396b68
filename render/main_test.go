package render

import (
	"os"
	"os/exec"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// needChrome skips the test when no Chromium is installed, or fails it
// under CI=true, and returns the browser's path.
func needChrome(t *testing.T) string {
	t.Helper()
	path, err := FindChrome("")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %v", err)
		}
		t.Skipf("%v", err)
	}
	if _, err := exec.LookPath(path); err != nil {
		t.Skip(err)
	}
	return path
}
