package docexamples

import (
	"reflect"
	"strings"
	"testing"
)

func TestBlocks(t *testing.T) {
	for name, tc := range map[string]struct {
		markdown string
		want     []Block
		wantErr  string
	}{
		"named yaml, bare fence and indented fence": {
			markdown: "# Title\n\n```yaml\n# backup.yaml: the schedule\nkind: X\n```\ntext\n```\nmake demo\n```\n  ```sh\n  echo hi\n  ```\n",
			want: []Block{
				{Lang: "yaml", Name: "backup.yaml", Text: "# backup.yaml: the schedule\nkind: X\n", Line: 3},
				{Lang: "", Text: "make demo\n", Line: 8},
				{Lang: "sh", Text: "  echo hi\n", Line: 11},
			},
		},
		"a first-line comment that is not a file name leaves Name empty": {
			markdown: "```yaml\n# just a comment\nkind: X\n```\n",
			want:     []Block{{Lang: "yaml", Text: "# just a comment\nkind: X\n", Line: 1}},
		},
		"empty block": {
			markdown: "```\n```\n",
			want:     []Block{{Line: 1}},
		},
		"unclosed fence": {
			markdown: "text\n```yaml\nkind: X\n",
			wantErr:  "line 2: code fence is never closed",
		},
		"no blocks": {markdown: "just prose\n"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Blocks([]byte(tc.markdown))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestNamed(t *testing.T) {
	blocks := []Block{{Name: "a.yaml", Text: "a"}, {Name: "b.yaml", Text: "b"}}
	if b, err := Named(blocks, "b.yaml"); err != nil || b.Text != "b" {
		t.Fatalf("Named(b.yaml) = %+v, %v", b, err)
	}
	if _, err := Named(blocks, "c.yaml"); err == nil || !strings.Contains(err.Error(), `"# c.yaml"`) {
		t.Fatalf("Named(c.yaml) error %v, want one naming the expected first line", err)
	}
}
