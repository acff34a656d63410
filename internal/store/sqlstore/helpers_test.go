package sqlstore_test

import (
	"os"
	"slices"
	"strconv"
	"strings"
)

var osStat = os.Stat

func itoa(n int) string { return strconv.Itoa(n) }

func equal(a, b []int) bool { return slices.Equal(a, b) }

// rebind turns ? placeholders into $n for the pgx driver.
func rebind(driver, q string) string {
	if driver != "pgx" {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
