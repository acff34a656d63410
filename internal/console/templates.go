package console

import (
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// view is what every page template gets: the layout's fields and the
// page's own data.
type view struct {
	Title  string
	Page   string
	Signed bool
	Who    string
	CSRF   string
	Data   any
}

// pageTemplate is one page: the layout plus that page's "content".
type pageTemplate struct{ t *template.Template }

func (p *pageTemplate) execute(w io.Writer, v view) error {
	return p.t.ExecuteTemplate(w, "layout", v)
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	// lastSegment shows a resource id by its name.
	"lastSegment": func(id string) string { return path.Base(strings.TrimRight(id, "/")) },
	// groupOf is the resource group named in a resource id.
	"groupOf": groupOf,
	// typeOf is a resource id's Namespace/type.
	"typeOf": typeOf,
	"short":  shortType,
	"link":   func(p string) string { return Prefix + p },
}

// parsePages parses the layout with each page template on its own, so
// pages can each define "content".
func parsePages() (map[string]*pageTemplate, error) {
	// The layout and the partials (files named _*.html) go into every page.
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/templates/layout.html", "assets/templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("console: layout: %w", err)
	}
	files, err := fs.Glob(assets, "assets/templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*pageTemplate{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(assets, f)
		if err != nil {
			return nil, fmt.Errorf("console: page %s: %w", name, err)
		}
		pages[name] = &pageTemplate{t: t}
	}
	return pages, nil
}

// groupOf returns the resource group named in id, or "".
func groupOf(id string) string {
	segs := strings.Split(id, "/")
	for i := 0; i+1 < len(segs); i++ {
		if strings.EqualFold(segs[i], "resourceGroups") {
			return segs[i+1]
		}
	}
	return ""
}

// typeOf returns the Namespace/type of a resource id (the segments after
// the last "providers"), or "".
func typeOf(id string) string {
	segs := strings.Split(id, "/")
	for i := len(segs) - 1; i >= 0; i-- {
		if strings.EqualFold(segs[i], "providers") && i+2 < len(segs) {
			return segs[i+1] + "/" + segs[i+2]
		}
	}
	return ""
}

// shortType names a resource type the way the portal's lists do.
func shortType(t string) string {
	switch strings.ToLower(t) {
	case "microsoft.compute/virtualmachines":
		return "Virtual machine"
	case "microsoft.hybridcompute/machines":
		return "Machine (hybrid)"
	case "microsoft.web/sites":
		return "App"
	case "microsoft.keyvault/vaults":
		return "Key vault"
	case "microsoft.storage/storageaccounts":
		return "Storage account"
	case "microsoft.managedidentity/userassignedidentities":
		return "Managed identity"
	}
	return t
}
