package vision

import (
	"runtime"

	"golang.org/x/sys/cpu"
)

// exactU8S8 reports whether ONNX Runtime multiplies uint8 activations by
// int8 weights exactly on this CPU, so quantised models can run as they
// are. On x86 it does so with the VNNI dot-product instructions (AVX-512
// VNNI or AVX-VNNI) and saturates without them (see unsignedWeights); its
// ARM kernels widen before multiplying. The u8u8 kernels that
// unsignedWeights selects are exact everywhere but slower where VNNI would
// have served (about 1.3x the embedder's time on an AVX2 CPU).
func exactU8S8() bool {
	switch runtime.GOARCH {
	case "amd64", "386":
		return cpu.X86.HasAVX512VNNI || cpu.X86.HasAVXVNNI
	case "arm64":
		return true
	}
	return false
}

// Int8Kernels names the ONNX Runtime kernels that quantised models run on
// here, for reports: results and speed depend on it.
func Int8Kernels() string {
	if exactU8S8() {
		return "u8s8"
	}
	return "u8u8 (int8 weights shifted: this CPU has no VNNI)"
}
