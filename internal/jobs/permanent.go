package jobs

import "errors"

// ErrPermanent matches (with errors.Is) every error marked by Permanent.
var ErrPermanent = errors.New("jobs: permanent failure")

// permanentError marks a step error that no retry can fix. Its text is the
// wrapped error's, so the stored step error reads the same either way.
type permanentError struct{ err error }

func (e *permanentError) Error() string        { return e.err.Error() }
func (e *permanentError) Unwrap() error        { return e.err }
func (e *permanentError) Is(target error) bool { return target == ErrPermanent }

// Permanent marks err as one that will not go away (bad input, a file that
// is not a video): the runner fails the step and its workflow at once
// instead of retrying it. The mark survives wrapping with %w; errors.Is(err,
// ErrPermanent) and IsPermanent detect it. Permanent(nil) is nil.
// An operator's Runner.Retry still runs the step again.
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or any error it wraps, was marked by
// Permanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }
