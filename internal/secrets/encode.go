package secrets

import (
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/signet-platform/signet/internal/store"
)

// GET secret is the data plane's hot path, so its SecretBundle is written
// by hand rather than through encoding/json's reflection, into a pooled
// buffer. It must be byte for byte what json.Marshal makes of
// req.bundle(sec, v, &value); TestSecretBundleEncoding and
// FuzzSecretBundleEncoding hold the two together.

// jsonAppender is a response body that encodes itself.
type jsonAppender interface {
	appendJSON(dst []byte) []byte
}

// wiper is a response body holding plaintext to be zeroed once written.
type wiper interface {
	wipe()
}

// secretBundle is GET's answer: a version with its value, the opened
// plaintext, which is written straight into the response and then wiped.
type secretBundle struct {
	req   *request
	sec   store.Secret
	v     store.SecretVersion
	value []byte
}

func (b *secretBundle) wipe() { clear(b.value) }

// appendJSON is json.Marshal(b.req.bundle(b.sec, b.v, &value)), field by
// field in bundleJSON's order, with its omitempty rules.
func (b *secretBundle) appendJSON(dst []byte) []byte {
	req, v := b.req, &b.v
	dst = append(dst, `{"value":`...)
	dst = appendJSONString(dst, b.value)
	// The parts of the id are escaped one by one: the separators between
	// them are ASCII, so no UTF-8 sequence spans two parts, and escaping
	// the parts is escaping the whole.
	dst = append(dst, `,"id":"`...)
	dst = appendEscaped(dst, req.base)
	dst = append(dst, "/secrets/"...)
	dst = appendEscaped(dst, b.sec.Name)
	dst = append(dst, '/')
	dst = appendEscaped(dst, v.Version)
	dst = append(dst, '"')
	if v.ContentType != "" {
		dst = append(dst, `,"contentType":`...)
		dst = appendJSONString(dst, v.ContentType)
	}
	if len(v.Tags) > 0 {
		dst = append(dst, `,"tags":{`...)
		keys := make([]string, 0, len(v.Tags))
		for k := range v.Tags {
			keys = append(keys, k)
		}
		slices.Sort(keys) // encoding/json sorts map keys
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendJSONString(dst, v.Tags[k])
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `,"attributes":{"enabled":`...)
	dst = strconv.AppendBool(dst, v.Enabled)
	dst = appendUnixField(dst, `,"nbf":`, v.NotBefore)
	dst = appendUnixField(dst, `,"exp":`, v.Expires)
	dst = appendUnixField(dst, `,"created":`, v.CreatedAt)
	dst = appendUnixField(dst, `,"updated":`, v.UpdatedAt)
	dst = append(dst, `,"recoveryLevel":`...)
	dst = appendJSONString(dst, recoveryLevel(req.vault))
	dst = append(dst, `,"recoverableDays":`...)
	dst = strconv.AppendInt(dst, int64(req.vault.RetentionDays), 10)
	dst = append(dst, '}')
	if !b.sec.DeletedAt.IsZero() {
		dst = append(dst, `,"recoveryId":"`...)
		dst = appendEscaped(dst, req.base)
		dst = append(dst, "/deletedsecrets/"...)
		dst = appendEscaped(dst, b.sec.Name)
		dst = append(dst, '"')
		dst = appendIntField(dst, `,"deletedDate":`, b.sec.DeletedAt.Unix())
		dst = appendIntField(dst, `,"scheduledPurgeDate":`, b.sec.ScheduledPurgeAt.Unix())
	}
	return append(dst, '}')
}

// appendUnixField is an *int64 field from unixPtr: absent for a zero time.
func appendUnixField(dst []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return dst
	}
	dst = append(dst, name...)
	return strconv.AppendInt(dst, t.Unix(), 10)
}

// appendIntField is an int64 field with omitempty: absent when zero.
func appendIntField(dst []byte, name string, n int64) []byte {
	if n == 0 {
		return dst
	}
	dst = append(dst, name...)
	return strconv.AppendInt(dst, n, 10)
}

// appendJSONString appends s as a JSON string the way encoding/json does
// (its appendString with HTML escaping, which json.Marshal uses).
func appendJSONString[S []byte | string](dst []byte, s S) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendEscaped is the inside of appendJSONString: encoding/json's escapes
// for control characters, quote, backslash and <, >, & (HTML-safe), U+2028
// and U+2029, and \ufffd for each byte of invalid UTF-8.
func appendEscaped[S []byte | string](dst []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		// As encoding/json does: a copy of at most utf8.UTFMax bytes, so
		// that the conversion stays on the stack for either type.
		r, size := utf8.DecodeRuneInString(string(s[i : i+min(len(s)-i, utf8.UTFMax)]))
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// jsonBufs are the buffers bodies are encoded into. A buffer that grew
// past maxPooledJSON (a list page, a backup) is left to the collector.
var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledJSON = 64 << 10
