package media

import (
	"math"
	"testing"
)

// FuzzParseProbe feeds arbitrary ffprobe output to the parser: it returns
// an error or an Info with sane numbers, never a panic.
func FuzzParseProbe(f *testing.F) {
	f.Add([]byte(`{"streams":[{"index":0,"codec_type":"video","codec_name":"h264","width":1280,"height":720,"pix_fmt":"yuv420p","r_frame_rate":"30/1","avg_frame_rate":"30/1","nb_frames":"90","sample_aspect_ratio":"1:1","side_data_list":[{"rotation":-90}]}],"format":{"format_name":"mov,mp4","duration":"3.0","size":"1000","bit_rate":"2000"}}`))
	f.Add([]byte(`{"streams":[{"codec_type":"video","width":-5,"height":0,"r_frame_rate":"0/0","avg_frame_rate":"1/0","disposition":{"attached_pic":1}}],"format":{"duration":"NaN"}}`))
	f.Add([]byte(`{"streams":[{"codec_type":"audio","codec_name":"aac"}],"format":{"format_name":"mp3","duration":"1e308"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := parseProbe(data)
		if err != nil {
			return
		}
		for name, v := range map[string]float64{"duration": info.Duration, "fps": info.FPS, "avg_fps": info.AvgFPS, "sar": info.SAR} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("%s = %v", name, v)
			}
		}
		if info.Width < 0 || info.Height < 0 || info.DisplayW < 0 || info.DisplayH < 0 || info.FrameCount < 0 {
			t.Fatalf("negative size or count: %+v", info)
		}
		switch info.Rotation {
		case 0, 90, 180, 270:
		default:
			t.Fatalf("rotation %d", info.Rotation)
		}
	})
}
