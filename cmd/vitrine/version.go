package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vitrine-dev/vitrine/internal/vision"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func init() {
	register("version", "print the version of vitrine, Go and ONNX Runtime", func() command { return &versionCmd{} })
}

type versionCmd struct{}

func (c *versionCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("version", "version", "Prints the vitrine version, the Go version and, when the library\ncan be loaded, the ONNX Runtime version.")
	load := withConfig(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	fmt.Fprintf(stdout, "vitrine %s\ngo %s %s/%s\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if err := vision.InitRuntime(cfg.ORTLib); err != nil {
		fmt.Fprintf(stdout, "onnxruntime not loadable: %v\n", err)
		return nil
	}
	fmt.Fprintf(stdout, "onnxruntime %s (%s)\n", ort.GetVersion(), vision.RuntimeLibrary())
	return nil
}
