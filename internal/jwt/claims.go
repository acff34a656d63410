package jwt

// Claims is the claim set of a Signet access token, shaped like Azure's
// (reference section 7). v1 tokens carry appid/appidacr, v2 tokens azp/azpacr.
type Claims struct {
	Audience  string `json:"aud"`
	Issuer    string `json:"iss"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	Expiry    int64  `json:"exp"`

	AppID    string `json:"appid,omitempty"`    // v1: client id
	AppIDACR string `json:"appidacr,omitempty"` // v1: "1" secret, "2" certificate
	AZP      string `json:"azp,omitempty"`      // v2: client id
	AZPACR   string `json:"azpacr,omitempty"`   // v2: "1" secret, "2" certificate

	IdentityProvider string   `json:"idp,omitempty"`
	ObjectID         string   `json:"oid"`
	Subject          string   `json:"sub"`
	TenantID         string   `json:"tid"`
	TokenID          string   `json:"uti"`
	Version          string   `json:"ver"`
	IDType           string   `json:"idtyp,omitempty"` // "app" for app-only tokens
	ManagedIdentity  string   `json:"xms_mirid,omitempty"`
	Roles            []string `json:"roles,omitempty"`
}

// ClientID returns the client id from whichever claim the token version uses.
func (c *Claims) ClientID() string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.AZP
}
