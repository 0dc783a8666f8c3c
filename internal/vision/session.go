package vision

import (
	"context"
	"fmt"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// session is one ONNX Runtime session. At most SessionOptions.Runs runs
// execute at once (ONNX Runtime allows concurrent runs of one session).
type session struct {
	mu      sync.RWMutex // guards s against close; runs hold it shared
	slots   chan struct{}
	s       *ort.DynamicAdvancedSession
	name    string
	inputs  []string
	outputs []string
}

// SessionOptions tune one ONNX Runtime session.
type SessionOptions struct {
	// Threads is the number of intra-op threads (0: ONNX Runtime default,
	// which is one per core).
	Threads int
	// Spin lets idle worker threads busy-wait between runs: faster on a
	// dedicated machine, wasteful on a shared one. Off by default.
	Spin bool
	// Runs is how many runs may execute at once (default 1). A small
	// convolutional model does not keep two intra-op threads busy: two
	// concurrent runs of one thread each do more work per second than one
	// run of two threads.
	Runs int
}

func newSession(path, name string, inputs, outputs []string, o SessionOptions) (*session, error) {
	return newEditedSession(path, name, inputs, outputs, o, nil)
}

// newEditedSession is newSession with the model's bytes passed through
// edit (when not nil) before ONNX Runtime reads them.
func newEditedSession(path, name string, inputs, outputs []string, o SessionOptions, edit func([]byte) ([]byte, error)) (*session, error) {
	if !ort.IsInitialized() {
		return nil, fmt.Errorf("vision: open %s: ONNX Runtime not initialised (call InitRuntime): %w", name, ErrRuntimeMissing)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("vision: open %s: session options: %w", name, err)
	}
	defer opts.Destroy()
	if o.Threads > 0 {
		if err := opts.SetIntraOpNumThreads(o.Threads); err != nil {
			return nil, fmt.Errorf("vision: open %s: set threads: %w", name, err)
		}
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("vision: open %s: set inter-op threads: %w", name, err)
	}
	if !o.Spin {
		if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return nil, fmt.Errorf("vision: open %s: disable spinning: %w", name, err)
		}
	}
	data, err := unsignedModel(path)
	if err != nil {
		return nil, fmt.Errorf("vision: open %s: %w", name, err)
	}
	if edit != nil {
		if data == nil {
			if data, err = os.ReadFile(path); err != nil {
				return nil, fmt.Errorf("vision: open %s: %w", name, err)
			}
		}
		if data, err = edit(data); err != nil {
			return nil, fmt.Errorf("vision: open %s (%s): %w", name, path, err)
		}
	}
	var s *ort.DynamicAdvancedSession
	if data != nil {
		s, err = ort.NewDynamicAdvancedSessionWithONNXData(data, inputs, outputs, opts)
	} else {
		s, err = ort.NewDynamicAdvancedSession(path, inputs, outputs, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("vision: open %s (%s): %w", name, path, err)
	}
	return &session{s: s, name: name, inputs: inputs, outputs: outputs, slots: make(chan struct{}, max(1, o.Runs))}, nil
}

// maxRewrite bounds the model files read for unsignedWeights: quantised
// models are small, and a large float model need not be read twice.
const maxRewrite = 256 << 20

// unsignedModel returns the model at path with unsigned weights (see
// unsignedWeights), or nil when it has no int8 weights to rewrite or this
// CPU runs them exactly as they are.
func unsignedModel(path string) ([]byte, error) {
	if exactU8S8() {
		return nil, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxRewrite {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out, n, err := unsignedWeights(b)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if n == 0 {
		return nil, nil
	}
	return out, nil
}

// run executes the model; outputs are allocated by ONNX Runtime and must be
// destroyed by the caller. A cancelled ctx terminates a run in progress.
func (s *session) run(ctx context.Context, in []ort.Value) ([]ort.Value, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.slots }()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.s == nil {
		return nil, fmt.Errorf("vision: run %s: session closed", s.name)
	}
	ro, err := ort.NewRunOptions()
	if err != nil {
		return nil, fmt.Errorf("vision: run %s: run options: %w", s.name, err)
	}
	defer ro.Destroy()
	stop := context.AfterFunc(ctx, func() { ro.Terminate() })
	defer stop()
	out := make([]ort.Value, len(s.outputs))
	if err := s.s.RunWithOptions(in, out, ro); err != nil {
		destroyAll(out)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("vision: run %s: %w", s.name, ctx.Err())
		}
		return nil, fmt.Errorf("vision: run %s: %w", s.name, err)
	}
	return out, nil
}

// runImages runs the model on n preprocessed images in buf, laid out as in
// says (NCHW, or NHWC). op names the caller in errors; outputs must be
// destroyed by the caller.
func (s *session) runImages(ctx context.Context, in InputSpec, buf []float32, n int, op string) ([]ort.Value, error) {
	shape := ort.NewShape(int64(n), 3, int64(in.Height), int64(in.Width))
	if in.Layout == "nhwc" {
		shape = ort.NewShape(int64(n), int64(in.Height), int64(in.Width), 3)
	}
	t, err := ort.NewTensor(shape, buf)
	if err != nil {
		return nil, fmt.Errorf("vision: %s: input tensor: %w", op, err)
	}
	defer t.Destroy()
	outs, err := s.run(ctx, []ort.Value{t})
	if err != nil {
		return nil, fmt.Errorf("vision: %s: %w", op, err)
	}
	return outs, nil
}

func (s *session) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	return err
}

func destroyAll(vs []ort.Value) {
	for _, v := range vs {
		if v != nil {
			v.Destroy()
		}
	}
}

// floatOutput returns the data and shape of a float32 output.
func floatOutput(v ort.Value, name string) ([]float32, []int64, error) {
	t, ok := v.(*ort.Tensor[float32])
	if !ok || t == nil {
		return nil, nil, fmt.Errorf("output %q is not a float32 tensor", name)
	}
	return t.GetData(), t.GetShape(), nil
}

// batchPlan splits n items into runs: fixed is the graph's batch size (0:
// dynamic, capped at maxDyn per run).
func batchPlan(n, fixed, maxDyn int) []int {
	step := fixed
	if step <= 0 {
		step = maxDyn
	}
	var sizes []int
	for n > 0 {
		k := min(n, step)
		sizes = append(sizes, k)
		n -= k
	}
	return sizes
}
