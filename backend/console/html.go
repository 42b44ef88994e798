package console

import (
	"html"
	"strings"
)

// stripHTML turns an HTML body into plain text for the console: tags
// removed, block-level tags as line breaks, script, style and head
// content dropped, entities decoded, white space collapsed. It is a
// preview, not a renderer.
func stripHTML(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '<' {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s) - i
			}
			// In HTML a line break in the source is a space.
			b.WriteString(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s[i : i+j]))
			i += j
			continue
		}
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		end := strings.IndexByte(s[i:], '>')
		if end < 0 {
			break
		}
		closing, name := tagName(s[i+1 : i+end])
		i += end + 1
		switch name {
		case "script", "style", "head", "title":
			if !closing {
				k := strings.Index(strings.ToLower(s[i:]), "</"+name)
				if k < 0 {
					i = len(s)
				} else {
					i += k
				}
			}
		case "br", "p", "div", "li", "tr", "table", "ul", "ol", "blockquote", "hr",
			"h1", "h2", "h3", "h4", "h5", "h6", "pre", "section", "article", "header", "footer":
			b.WriteByte('\n')
		case "td", "th":
			b.WriteByte(' ')
		}
	}
	return collapse(html.UnescapeString(b.String()))
}

// tagName returns the lower-case name of the tag whose text (between < and
// >) is t, and whether it is a closing tag.
func tagName(t string) (closing bool, name string) {
	t = strings.TrimSpace(t)
	if strings.HasPrefix(t, "/") {
		closing, t = true, t[1:]
	}
	if i := strings.IndexAny(t, " \t\r\n/"); i >= 0 {
		t = t[:i]
	}
	return closing, strings.ToLower(t)
}

// collapse joins runs of blanks inside lines into one space, trims the
// lines and keeps at most one empty line in a row.
func collapse(s string) string {
	var out []string
	blank := true // drop leading empty lines
	for _, l := range strings.Split(s, "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, l)
		blank = false
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}
