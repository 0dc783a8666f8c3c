// Package cliptok is the byte-level BPE tokenizer of CLIP text encoders,
// read from the usual vocab.json (token -> id) and merges.txt (one merge
// "a b" per line, ranked by line order, optional "#version" header).
//
// Text is cleaned (HTML entities, whitespace) and lower-cased, split with
// CLIP's pattern, each piece byte-encoded to printable runes, and merged
// greedily by rank with "</w>" marking the end of a word. Sequences are
// framed by <|startoftext|> and <|endoftext|>.
package cliptok

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

const (
	// StartToken and EndToken frame every encoded text.
	StartToken = "<|startoftext|>"
	EndToken   = "<|endoftext|>"
)

var pattern = regexp.MustCompile(`(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`)

var spaces = regexp.MustCompile(`\s+`)

// Tokenizer encodes text to token ids. It is safe for concurrent use.
type Tokenizer struct {
	vocab    map[string]int
	ranks    map[[2]string]int
	byteRune [256]rune
	start    int
	end      int
	cache    sync.Map // word -> []string
}

// Load reads vocab.json and merges.txt.
func Load(vocabPath, mergesPath string) (*Tokenizer, error) {
	vf, err := os.Open(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("cliptok: open vocab: %w", err)
	}
	defer vf.Close()
	mf, err := os.Open(mergesPath)
	if err != nil {
		return nil, fmt.Errorf("cliptok: open merges: %w", err)
	}
	defer mf.Close()
	return New(vf, mf)
}

// New reads a vocabulary (JSON object token -> id) and a merges list.
func New(vocab, merges io.Reader) (*Tokenizer, error) {
	t := &Tokenizer{ranks: map[[2]string]int{}}
	if err := json.NewDecoder(vocab).Decode(&t.vocab); err != nil {
		return nil, fmt.Errorf("cliptok: parse vocab: %w", err)
	}
	sc := bufio.NewScanner(merges)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	rank := 0
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimRight(sc.Text(), "\r")
		if s == "" || line == 1 && strings.HasPrefix(s, "#version") {
			continue
		}
		a, b, ok := strings.Cut(s, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("cliptok: merges line %d: want two space-separated symbols, got %q", line, s)
		}
		if _, dup := t.ranks[[2]string{a, b}]; !dup {
			t.ranks[[2]string{a, b}] = rank
			rank++
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cliptok: read merges: %w", err)
	}
	var ok1, ok2 bool
	t.start, ok1 = t.vocab[StartToken]
	t.end, ok2 = t.vocab[EndToken]
	if !ok1 || !ok2 {
		return nil, errors.New("cliptok: vocab lacks <|startoftext|> or <|endoftext|>")
	}
	t.byteRune = bytesToRunes()
	return t, nil
}

// bytesToRunes is GPT-2/CLIP's reversible byte -> printable rune map:
// printable Latin-1 bytes map to themselves, the rest to runes from 256 up.
func bytesToRunes() [256]rune {
	var m [256]rune
	n := 0
	for b := 0; b < 256; b++ {
		if b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}

// StartID is the id of <|startoftext|>.
func (t *Tokenizer) StartID() int { return t.start }

// EndID is the id of <|endoftext|>.
func (t *Tokenizer) EndID() int { return t.end }

func clean(s string) string {
	s = html.UnescapeString(html.UnescapeString(s))
	s = spaces.ReplaceAllString(s, " ")
	return strings.ToLower(strings.TrimSpace(s))
}

// Encode returns the token ids of text without the framing tokens. Pieces
// missing from the vocabulary (a broken vocab) are skipped.
func (t *Tokenizer) Encode(text string) []int {
	var ids []int
	for _, piece := range pattern.FindAllString(clean(text), -1) {
		if piece == StartToken || piece == EndToken {
			ids = append(ids, t.vocab[piece])
			continue
		}
		var sb strings.Builder
		for i := 0; i < len(piece); i++ {
			sb.WriteRune(t.byteRune[piece[i]])
		}
		for _, tok := range t.bpe(sb.String()) {
			if id, ok := t.vocab[tok]; ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// bpe merges the runes of one byte-encoded word by rank.
func (t *Tokenizer) bpe(word string) []string {
	if v, ok := t.cache.Load(word); ok {
		return v.([]string)
	}
	n := utf8.RuneCountInString(word)
	parts := make([]string, 0, n)
	for i, r := range []rune(word) {
		s := string(r)
		if i == n-1 {
			s += "</w>"
		}
		parts = append(parts, s)
	}
	for len(parts) > 1 {
		best, bi := -1, -1
		for i := 0; i+1 < len(parts); i++ {
			if r, ok := t.ranks[[2]string{parts[i], parts[i+1]}]; ok && (best < 0 || r < best) {
				best, bi = r, i
			}
		}
		if bi < 0 {
			break
		}
		a, b := parts[bi], parts[bi+1]
		merged := make([]string, 0, len(parts)-1)
		for i := 0; i < len(parts); i++ {
			if i+1 < len(parts) && parts[i] == a && parts[i+1] == b {
				merged = append(merged, a+b)
				i++
				continue
			}
			merged = append(merged, parts[i])
		}
		parts = merged
	}
	t.cache.Store(word, parts)
	return parts
}

// Frame encodes text as <|startoftext|> ids... <|endoftext|>, truncated so
// the end token always fits, and padded with pad to exactly ctxLen. mask
// has 1 on real tokens and 0 on padding.
func (t *Tokenizer) Frame(text string, ctxLen, pad int) (ids, mask []int64, err error) {
	if ctxLen < 2 {
		return nil, nil, fmt.Errorf("cliptok: context length %d is too small", ctxLen)
	}
	body := t.Encode(text)
	if len(body) > ctxLen-2 {
		body = body[:ctxLen-2]
	}
	ids = make([]int64, ctxLen)
	mask = make([]int64, ctxLen)
	ids[0], mask[0] = int64(t.start), 1
	for i, id := range body {
		ids[i+1], mask[i+1] = int64(id), 1
	}
	ids[len(body)+1], mask[len(body)+1] = int64(t.end), 1
	for i := len(body) + 2; i < ctxLen; i++ {
		ids[i] = int64(pad)
	}
	return ids, mask, nil
}
