// Package docexamples finds the fenced code examples of a Markdown document,
// so that tests and scripts run the documentation exactly as written and it
// cannot drift from the code.
package docexamples

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Block is one fenced code block.
type Block struct {
	// Lang is the fence's info string, e.g. "yaml"; empty for a bare fence.
	Lang string
	// Name is the file the block stands for, taken from a first line of the
	// form "# postgres.yaml" or "# postgres.yaml: a comment"; empty otherwise.
	Name string
	// Text is the block's content, ending in a newline.
	Text string
	// Line is the 1-based line of the opening fence.
	Line int
}

var nameLine = regexp.MustCompile(`^#\s*([A-Za-z0-9._-]+\.ya?ml)(:.*)?$`)

// Blocks returns every fenced (```) block of markdown, in order. A fence
// that is never closed is an error: the rest of the document would silently
// be read as code.
func Blocks(markdown []byte) ([]Block, error) {
	var blocks []Block
	var open *Block
	var text strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(markdown))
	sc.Buffer(make([]byte, 0, 64*1024), len(markdown)+1)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case open == nil && strings.HasPrefix(trimmed, "```"):
			open = &Block{Lang: strings.TrimSpace(strings.TrimPrefix(trimmed, "```")), Line: n}
			text.Reset()
		case open != nil && trimmed == "```":
			open.Text = text.String()
			if first, _, _ := strings.Cut(open.Text, "\n"); nameLine.MatchString(first) {
				open.Name = nameLine.FindStringSubmatch(first)[1]
			}
			blocks = append(blocks, *open)
			open = nil
		case open != nil:
			text.WriteString(line)
			text.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if open != nil {
		return nil, fmt.Errorf("line %d: code fence is never closed", open.Line)
	}
	return blocks, nil
}

// Named returns the block whose Name is name.
func Named(blocks []Block, name string) (Block, error) {
	for _, b := range blocks {
		if b.Name == name {
			return b, nil
		}
	}
	return Block{}, fmt.Errorf("no code block starts with the line %q", "# "+name)
}
