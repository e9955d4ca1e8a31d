package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDo(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		tries     int
		failFirst int   // calls that fail before one succeeds
		fail      error // what they fail with
		wantCalls int
		wantErr   error
	}{
		{"succeeds at once", 3, 0, boom, 1, nil},
		{"succeeds on the last try", 3, 2, boom, 3, nil},
		{"runs out of tries", 3, 5, boom, 3, boom},
		{"zero tries run once", 0, 5, boom, 1, boom},
		{"permanent stops at once", 3, 5, Permanent(boom), 1, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			v, err := Do(context.Background(), tc.tries, time.Millisecond, nil, "test", func() (int, error) {
				calls++
				if calls <= tc.failFirst {
					return 0, tc.fail
				}
				return 42, nil
			})
			if calls != tc.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tc.wantCalls)
			}
			if err != tc.wantErr { // unwrapped: the very error op returned
				t.Errorf("err = %#v, want %v", err, tc.wantErr)
			}
			if err == nil && v != 42 {
				t.Errorf("v = %d, want 42", v)
			}
		})
	}
}

func TestDoCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Do(ctx, 5, time.Hour, nil, "test", func() (struct{}, error) {
		calls++
		cancel()
		return struct{}{}, errors.New("refused")
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("err = %v after %d calls, want context.Canceled after 1", err, calls)
	}
}
