// Package oauth2 is the OAuth 2.0 protocol vocabulary Signet's token service
// speaks: grant and assertion-type constants (RFC 6749 §4.4, RFC 7523 §2.2),
// the OAuth error as a value carrying a client-safe description and a private
// cause (RFC 6749 §5.2), and the one function that writes it in Microsoft
// Entra's error shape (error, error_description, error_codes, timestamp,
// trace_id, correlation_id) so MSAL and the Azure SDKs parse it unchanged.
//
// It must not import any other Signet package: it is a leaf shared by the
// token service and anything else that answers in OAuth terms.
package oauth2
