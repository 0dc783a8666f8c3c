package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// Machine describes the computer a report was measured on.
type Machine struct {
	CPU         string `json:"cpu"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes"`
	OS          string `json:"os"`
	Kernel      string `json:"kernel,omitempty"`
	Arch        string `json:"arch"`
}

// Model is a model file used by the run.
type Model struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// DetectMachine reads the CPU model, core count, memory and OS of this
// machine. Fields it cannot read stay empty.
func DetectMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Arch: runtime.GOARCH, OS: runtime.GOOS}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		m.CPU = cpuModel(f)
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		m.MemoryBytes = memTotal(f)
		f.Close()
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		if name := osRelease(string(b)); name != "" {
			m.OS = name
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func cpuModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func memTotal(r io.Reader) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

func osRelease(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// ToolVersions returns the versions of Go and of ffmpeg (when on PATH).
func ToolVersions(ctx context.Context) map[string]string {
	v := map[string]string{"go": runtime.Version()}
	if out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-version").Output(); err == nil {
		line, _, _ := bytes.Cut(out, []byte("\n"))
		f := strings.Fields(string(line))
		if len(f) >= 3 && f[0] == "ffmpeg" && f[1] == "version" {
			v["ffmpeg"] = f[2]
		}
	}
	return v
}

// HashModels lists the *.onnx files of dir (and their external data
// files) with size and SHA-256.
func HashModels(dir string) ([]Model, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("bench: list models: %w", err)
	}
	var out []Model
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".onnx") || strings.HasSuffix(name, ".onnx.data")) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("bench: hash model %s: %w", name, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("bench: hash model %s: %w", name, err)
		}
		out = append(out, Model{Name: name, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
