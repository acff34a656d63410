package cli

import "strings"

// takeMulti removes a multi-valued flag (like az's nargs flags:
// `--assign-identity [system] id1 id2`) from args: every following argument
// up to the next flag is a value; `--flag=v` gives one value; the flag may
// repeat. present reports whether it appeared at all, so a bare flag can
// mean "the default value".
func takeMulti(args []string, name string) (values []string, present bool, rest []string) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		flagName, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") || flagName != name {
			rest = append(rest, arg)
			continue
		}
		present = true
		if hasValue {
			values = append(values, value)
			continue
		}
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			values = append(values, args[i])
		}
	}
	return values, present, rest
}
