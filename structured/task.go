package structured

import (
	"context"
	"sync/atomic"
)

// A Task is the identity of one task of a task group. It is comparable and
// lives as long as anyone holds it; [CapacityLimiter] uses it as the default
// borrower of a token.
type Task struct {
	id atomic.Uint64 // assigned on first use of ID, off the spawning path
}

// ID returns a number unique to the task within the process.
func (t *Task) ID() uint64 {
	if id := t.id.Load(); id != 0 {
		return id
	}
	t.id.CompareAndSwap(0, lastTaskID.Add(1))
	return t.id.Load()
}

var lastTaskID atomic.Uint64

type taskKey struct{}

// CurrentTask returns the task whose context ctx is, or derives from, or nil
// when ctx belongs to no task of a task group.
func CurrentTask(ctx context.Context) *Task {
	t, _ := ctx.Value(taskKey{}).(*Task)
	return t
}

// taskContext carries a task's identity. It embeds the group's context so
// that contexts derived from it still take the standard library's fast path
// for cancellation (no goroutine per child).
type taskContext struct {
	context.Context
	task  Task
	group *TaskGroup
	fn    func(ctx context.Context) error
}

func (c *taskContext) Value(key any) any {
	if key == (taskKey{}) {
		return &c.task
	}
	return c.Context.Value(key)
}
