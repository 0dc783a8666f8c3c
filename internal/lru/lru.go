// Package lru is a least-recently-used cache bounded by the bytes its
// values take, safe for concurrent use.
package lru

import (
	"container/list"
	"sync"
)

// Cache maps keys to values and drops the least recently used ones when
// their sizes add up to more than its bound.
type Cache[K comparable, V any] struct {
	mu    sync.Mutex
	max   int64
	used  int64
	size  func(V) int64
	order *list.List // front: most recently used
	items map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key  K
	val  V
	size int64
}

// New returns a cache holding values whose sizes (size) add up to at most
// maxBytes; a value larger than that is not kept at all.
func New[K comparable, V any](maxBytes int64, size func(V) int64) *Cache[K, V] {
	return &Cache[K, V]{max: maxBytes, size: size, order: list.New(), items: map[K]*list.Element{}}
}

// Get returns the value of key and marks it used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*entry[K, V]).val, true
	}
	var zero V
	return zero, false
}

// Add sets the value of key, then drops the least recently used values
// until the rest fit.
func (c *Cache[K, V]) Add(key K, val V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.remove(e)
	}
	n := c.size(val)
	if n > c.max {
		return
	}
	c.items[key] = c.order.PushFront(&entry[K, V]{key, val, n})
	c.used += n
	for c.used > c.max {
		c.remove(c.order.Back())
	}
}

func (c *Cache[K, V]) remove(e *list.Element) {
	en := e.Value.(*entry[K, V])
	c.order.Remove(e)
	delete(c.items, en.key)
	c.used -= en.size
}

// Len is the number of values held.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// Bytes is the size of the values held.
func (c *Cache[K, V]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}
