package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// rawOr returns the object as the server sent it, or v encoded when there
// is no server copy.
func rawOr(raw json.RawMessage, v any) json.RawMessage {
	if len(raw) > 0 {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Only types of this program reach here; they always encode.
		panic(err)
	}
	return b
}

// printJSON writes v indented. Lists must be passed as slices (never nil
// for "none") so the output is always a JSON array.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// table writes aligned columns; empty cells print as "-" so every row has
// the same number of fields for awk and cut.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			c = "-"
		}
		// A tab or newline in a value would break the columns.
		cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// emit prints a result: JSON from raw objects, or a table built by tab.
func (a *app) emit(jsonValue any, tab func(w io.Writer) error) error {
	if a.output == "json" {
		return printJSON(a.stdout, jsonValue)
	}
	return tab(a.stdout)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// groupOf returns the resource group named in an ARM id.
func groupOf(id string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

// lastSegment returns the last path segment of an id (a GUID or a name).
func lastSegment(id string) string {
	return id[strings.LastIndex(id, "/")+1:]
}
