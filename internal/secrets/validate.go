package secrets

// Key Vault's limits (Azure "Key Vault service limits" and naming rules).
const (
	maxSecretNameLen  = 127
	maxValueBytes     = 25 * 1024 // 25 KiB
	maxTags           = 15
	maxTagNameLen     = 512
	maxTagValueLen    = 256
	maxContentTypeLen = 255
	versionLen        = 32
	// maxPageSize is the most items a list page holds (Key Vault's maxresults
	// ceiling, and its default).
	maxPageSize = 25
)

// validSecretName: 1–127 letters, digits and dashes.
func validSecretName(s string) bool {
	if len(s) == 0 || len(s) > maxSecretNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// validVaultName: Azure's rule, 3–24 letters, digits and dashes, starting
// with a letter, ending with a letter or digit, no two dashes in a row.
func validVaultName(s string) bool {
	if len(s) < 3 || len(s) > 24 || !isLetter(s[0]) || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' {
			return false
		}
		if c == '-' && s[i-1] == '-' {
			return false
		}
	}
	return true
}

// validVersion: 32 lower-case hexadecimal characters.
func validVersion(s string) bool {
	if len(s) != versionLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool  { return isLetter(c) || '0' <= c && c <= '9' }

// checkTags enforces the count and size limits on tags.
func checkTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return badParameter("A secret may have at most %d tags; %d were given.", maxTags, len(tags))
	}
	for k, v := range tags {
		if k == "" || len(k) > maxTagNameLen {
			return badParameter("Tag names must be 1 to %d characters.", maxTagNameLen)
		}
		if len(v) > maxTagValueLen {
			return badParameter("Tag values must be at most %d characters.", maxTagValueLen)
		}
	}
	return nil
}
