package console

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/signet-platform/signet/client"
)

// loginView is the sign-in page.
type loginView struct {
	CSRF string
	// Code is a one-time login code to redeem (from the link); the page
	// only offers a button, so a link previewer cannot spend it.
	Code           string
	DevLogin       bool
	TenantID       string
	SubscriptionID string
	ClientID       string
	Message        string
}

// loginPage shows the sign-in form. It changes nothing but the pre-login
// CSRF cookie.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if s.sessionFrom(r) != nil {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return
	}
	s.showLogin(w, r, http.StatusOK, loginView{Code: r.URL.Query().Get("code")})
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	token, err := randomToken()
	if err != nil {
		s.renderError(w, r, nil, err)
		return
	}
	http.SetCookie(w, hostCookie(loginCookie, token, int(LoginCodeTTL/time.Second)))
	v.CSRF = token
	v.DevLogin = s.DevAdmin != nil
	if v.TenantID == "" {
		v.TenantID = s.Base.TenantID
	}
	if v.SubscriptionID == "" {
		v.SubscriptionID = s.Base.SubscriptionID
	}
	if !v.DevLogin {
		v.Code = ""
	}
	s.render(w, r, status, "login", nil, "Sign in", v)
}

// login redeems a one-time code or checks a service principal's client id
// and secret by getting a token with them, then starts a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, nil, &pageError{status: http.StatusBadRequest, msg: "The form could not be read.", cause: err})
		return
	}
	// Login CSRF: without it a foreign page could sign the operator's
	// browser in as the attacker's principal.
	c, err := r.Cookie(loginCookie)
	if err != nil || !tokensEqual(r.PostForm.Get(csrfField), c.Value) {
		s.showLogin(w, r, http.StatusForbidden, loginView{Message: "The sign-in form expired. Try again."})
		return
	}
	form := loginView{
		TenantID:       strings.TrimSpace(r.PostForm.Get("tenant")),
		SubscriptionID: strings.TrimSpace(r.PostForm.Get("subscription")),
		ClientID:       strings.TrimSpace(r.PostForm.Get("clientId")),
	}
	var cfg client.Config
	if code := r.PostForm.Get("code"); code != "" {
		if s.DevAdmin == nil || !s.codes.redeem(code) {
			s.showLogin(w, r, http.StatusUnauthorized, loginView{Message: "This login link is used up or expired. Sign in with a service principal, or restart signet dev for a new link."})
			return
		}
		cfg = *s.DevAdmin
	} else {
		if form.TenantID == "" || form.ClientID == "" || r.PostForm.Get("secret") == "" {
			form.Message = "Tenant, client id and secret are all needed."
			s.showLogin(w, r, http.StatusBadRequest, form)
			return
		}
		cfg = s.Base
		cfg.TenantID, cfg.ClientID, cfg.ClientSecret = form.TenantID, form.ClientID, r.PostForm.Get("secret")
		if form.SubscriptionID != "" {
			cfg.SubscriptionID = form.SubscriptionID
		}
	}
	cl, err := s.verify(r.Context(), cfg)
	if err != nil {
		var ce *client.Error
		var pe *pageError
		switch {
		case errors.As(err, &ce) && ce.StatusCode < 500:
			s.Logger.Info("console sign-in refused", "clientId", cfg.ClientID, "code", ce.Code)
			form.Message = "The token service refused these credentials."
			s.showLogin(w, r, http.StatusUnauthorized, form)
			return
		case errors.As(err, &pe) && pe.status == http.StatusBadRequest:
			form.Message = pe.msg
			s.showLogin(w, r, http.StatusBadRequest, form)
			return
		}
		s.renderError(w, r, nil, err)
		return
	}
	sess, err := s.sessions.create(cl, cfg.ClientID)
	if errors.Is(err, errTooManySessions) {
		s.renderError(w, r, nil, &pageError{status: http.StatusServiceUnavailable, msg: "Too many open sessions; try again later.", cause: err})
		return
	} else if err != nil {
		s.renderError(w, r, nil, err)
		return
	}
	// A sign-in replaces whatever session this browser had.
	if old := s.sessionFrom(r); old != nil {
		s.sessions.delete(old.id)
	}
	s.Logger.Info("console sign-in", "clientId", cfg.ClientID)
	http.SetCookie(w, hostCookie(loginCookie, "", -1))
	http.SetCookie(w, hostCookie(sessionCookie, sess.id, int(AbsoluteTimeout/time.Second)))
	http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
}

// verify builds a client for cfg and proves its credentials by getting a
// control-plane token from the STS.
func (s *Server) verify(ctx context.Context, cfg client.Config) (*client.Client, error) {
	cl, err := client.New(cfg)
	if err != nil {
		return nil, &pageError{status: http.StatusBadRequest, msg: "The sign-in details are not usable.", cause: err}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := cl.Token(ctx, client.ManagementResource); err != nil {
		return nil, err
	}
	return cl, nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *session) error {
	s.sessions.delete(sess.id)
	http.SetCookie(w, hostCookie(sessionCookie, "", -1))
	return redirect(w, r, Prefix+"/login")
}
