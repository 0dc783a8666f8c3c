package lru

import (
	"fmt"
	"sync"
	"testing"
)

func TestCache(t *testing.T) {
	size := func(s string) int64 { return int64(len(s)) }
	tests := []struct {
		name string
		ops  []string // "+key=val" adds, "?key" gets (marks used)
		want string   // the keys held, most recent first
	}{
		{"within the bound", []string{"+a=xx", "+b=yy"}, "b a"},
		{"oldest goes", []string{"+a=xxx", "+b=yyy", "+c=zzz", "+d=www"}, "d c b"},
		{"a read keeps it", []string{"+a=xxx", "+b=yyy", "+c=zzz", "?a", "+d=www"}, "d a c"},
		{"replacing frees its size", []string{"+a=xxxxxx", "+a=x", "+b=yyyyyyyy"}, "b a"},
		{"too large is not kept", []string{"+a=x", "+b=0123456789ab"}, "a"},
		{"a large one evicts several", []string{"+a=xx", "+b=yy", "+c=zz", "+d=wwwwwwww"}, "d c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[string](10, size)
			for _, op := range tt.ops {
				switch op[0] {
				case '+':
					var k, v string
					fmt.Sscanf(op[1:], "%1s=%s", &k, &v)
					c.Add(k, v)
				case '?':
					if _, ok := c.Get(op[1:]); !ok {
						t.Fatalf("%s: not held", op)
					}
				}
			}
			var got string
			for e := c.order.Front(); e != nil; e = e.Next() {
				if got != "" {
					got += " "
				}
				got += e.Value.(*entry[string, string]).key
			}
			if got != tt.want {
				t.Errorf("held %q, want %q", got, tt.want)
			}
			var sum int64
			for e := c.order.Front(); e != nil; e = e.Next() {
				sum += e.Value.(*entry[string, string]).size
			}
			if c.Bytes() != sum || c.Bytes() > 10 || c.Len() != len(c.items) {
				t.Errorf("Bytes %d, sum of sizes %d, Len %d for %d items", c.Bytes(), sum, c.Len(), len(c.items))
			}
		})
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := New[int](1000, func(v []byte) int64 { return int64(len(v)) })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := (g*500 + i) % 97
				if _, ok := c.Get(k); !ok {
					c.Add(k, make([]byte, 10+k%20))
				}
			}
		})
	}
	wg.Wait()
	if c.Bytes() > 1000 || c.Len() == 0 {
		t.Errorf("after concurrent use: %d bytes in %d values, bound 1000", c.Bytes(), c.Len())
	}
}
