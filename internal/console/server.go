package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/signet-platform/signet/client"
)

//go:embed all:assets
var assets embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console"

// Session lifetimes: short, as an operator console's should be.
const (
	IdleTimeout     = 15 * time.Minute
	AbsoluteTimeout = 8 * time.Hour
	// LoginCodeTTL is how long a one-time login link stays valid.
	LoginCodeTTL = 10 * time.Minute
)

// maxSessions bounds the memory sign-ins can take; beyond it new sign-ins
// are refused until sessions expire or end.
const maxSessions = 1000

// contentSecurityPolicy allows the console's own stylesheet and images and
// nothing else: no script, no framing, forms only to itself.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Server is the web console. Configure it with a struct literal and serve
// Handler(); it is safe for concurrent use.
type Server struct {
	// Base says where the services are (ManagementURL, AuthorityHost,
	// CAFile) and prefills the sign-in form (TenantID, SubscriptionID). Its
	// credentials are ignored: each session brings its own.
	Base client.Config
	// DevAdmin, when set, enables one-time login links that sign in with
	// these credentials (signet dev). Nil in production.
	DevAdmin *client.Config
	Logger   *slog.Logger

	once     sync.Once
	sessions *sessionStore
	codes    *loginCodes
	pages    map[string]*pageTemplate
	static   http.Handler
	handler  http.Handler
	initErr  error
}

func (s *Server) init() {
	s.once.Do(func() {
		if s.Logger == nil {
			s.Logger = slog.New(slog.DiscardHandler)
		}
		s.sessions = newSessionStore(IdleTimeout, AbsoluteTimeout, maxSessions)
		s.codes = newLoginCodes(LoginCodeTTL)
		var err error
		if s.pages, err = parsePages(); err != nil {
			s.initErr = err
			return
		}
		sub, _ := fs.Sub(assets, "assets/static")
		s.static = http.StripPrefix(Prefix+"/static/", http.FileServerFS(sub))
		s.handler = s.routes()
	})
}

// Handler serves every path under /console.
func (s *Server) Handler() http.Handler {
	s.init()
	if s.initErr != nil {
		err := s.initErr
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.Logger.Error("console unavailable", "err", err)
			http.Error(w, "The console is unavailable.", http.StatusInternalServerError)
		})
	}
	return s.handler
}

// NewLoginURL mints a one-time login code and returns the link that
// redeems it ({ManagementURL}/console/login?code=…). Only for DevAdmin.
func (s *Server) NewLoginURL() (string, error) {
	s.init()
	if s.DevAdmin == nil {
		return "", errors.New("console: one-time login links are only for signet dev")
	}
	code, err := s.codes.issue()
	if err != nil {
		return "", err
	}
	return s.Base.ManagementURL + Prefix + "/login?code=" + url.QueryEscape(code), nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"/static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		s.static.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET "+Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET "+Prefix+"/login", s.loginPage)
	mux.HandleFunc("POST "+Prefix+"/login", s.login)
	mux.Handle("POST "+Prefix+"/logout", s.page(s.logout))

	mux.Handle("GET "+Prefix+"/{$}", s.page(s.overview))
	mux.Handle("GET "+Prefix+"/identities", s.page(s.identities))
	mux.Handle("POST "+Prefix+"/identities", s.page(s.createIdentity))
	mux.Handle("GET "+Prefix+"/identities/{principalID}", s.page(s.identity))
	mux.Handle("POST "+Prefix+"/identities/assign", s.page(s.assignIdentity))
	mux.Handle("POST "+Prefix+"/identities/unassign", s.page(s.unassignIdentity))
	mux.Handle("GET "+Prefix+"/resources", s.page(s.resources))
	mux.Handle("POST "+Prefix+"/resources", s.page(s.createVM))
	mux.Handle("GET "+Prefix+"/roles", s.page(s.roles))
	mux.Handle("POST "+Prefix+"/roles", s.page(s.createRoleAssignment))
	mux.Handle("POST "+Prefix+"/roles/delete", s.page(s.deleteRoleAssignment))
	mux.Handle("GET "+Prefix+"/signins", s.page(s.signInLog))
	mux.Handle("GET "+Prefix+"/activity", s.page(s.activityLog))
	mux.Handle("GET "+Prefix+"/access", s.page(s.accessLog))
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, nil, &pageError{status: http.StatusNotFound, msg: "There is no such page."})
	})

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, nil, &pageError{status: http.StatusForbidden, msg: "Cross-site requests are refused."})
	}))
	return securityHeaders(cop.Handler(mux))
}

// securityHeaders sets the headers every console response carries.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		// Pages hold tenant data; the static handler overrides this.
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// handlerFunc is a console page: it gets the caller's session and returns
// an error the page wrapper renders.
type handlerFunc func(w http.ResponseWriter, r *http.Request, sess *session) error

// maxFormBytes bounds a form post; the console's forms are tiny.
const maxFormBytes = 64 << 10

// page wraps a handler with the session check and, for POST, the CSRF
// token check. Without a session a GET goes to the sign-in page and
// anything else is refused with 401.
func (s *Server) page(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := s.sessionFrom(r)
		if sess == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
				return
			}
			s.renderError(w, r, nil, &pageError{status: http.StatusUnauthorized, msg: "Your session has ended. Sign in again."})
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				s.renderError(w, r, sess, &pageError{status: http.StatusBadRequest, msg: "The form could not be read.", cause: err})
				return
			}
			if !tokensEqual(r.PostForm.Get(csrfField), sess.csrf) {
				s.renderError(w, r, sess, &pageError{status: http.StatusForbidden, msg: "The form's security token is missing or stale. Reload the page and try again."})
				return
			}
		}
		if err := h(w, r, sess); err != nil {
			s.renderError(w, r, sess, err)
		}
	})
}

// pageError is an error with the status and operator-facing message a page
// answers, and a private cause that is only logged.
type pageError struct {
	status int
	msg    string
	cause  error
}

func (e *pageError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *pageError) Unwrap() error { return e.cause }

func badRequest(format string, args ...any) error {
	return &pageError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// classify turns an error into what the operator sees. The control plane's
// own answers (permission refused, not found, invalid input) are shown as
// they are: they concern the operator's own tenant and say what to fix.
func classify(err error) *pageError {
	var pe *pageError
	if errors.As(err, &pe) {
		return pe
	}
	var ce *client.Error
	if errors.As(err, &ce) {
		switch {
		case ce.StatusCode == http.StatusForbidden:
			return &pageError{status: http.StatusForbidden, cause: err,
				msg: "Your principal is not allowed to do this. Ask an owner for a role assignment. (" + ce.Error() + ")"}
		case ce.StatusCode == http.StatusUnauthorized:
			return &pageError{status: http.StatusUnauthorized, cause: err, msg: "The control plane did not accept your sign-in. Sign in again."}
		case ce.StatusCode >= 400 && ce.StatusCode < 500:
			return &pageError{status: ce.StatusCode, cause: err, msg: ce.Error()}
		}
		return &pageError{status: http.StatusBadGateway, cause: err, msg: "The control plane failed to answer (" + ce.Error() + ")."}
	}
	return &pageError{status: http.StatusInternalServerError, cause: err, msg: "Something went wrong; the server log has the details."}
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	pe := classify(err)
	if pe.status >= 500 {
		s.Logger.Error("console request failed", "method", r.Method, "path", r.URL.Path, "status", pe.status, "err", err)
	} else if pe.cause != nil {
		s.Logger.Info("console request refused", "method", r.Method, "path", r.URL.Path, "status", pe.status, "err", err)
	}
	s.render(w, r, pe.status, "error", sess, "Error", pe.msg)
}

// render executes a page into a buffer first, so a template failure never
// leaves half a page behind.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, sess *session, title string, data any) {
	var buf bytes.Buffer
	v := view{Title: title, Page: name, Data: data}
	if sess != nil {
		v.Who, v.CSRF, v.Signed = sess.who, sess.csrf, true
	}
	if err := s.pages[name].execute(&buf, v); err != nil {
		s.Logger.Error("rendering console page", "page", name, "err", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// redirect answers a successful POST with a 303 to the page that shows
// the change (post/redirect/get).
func redirect(w http.ResponseWriter, r *http.Request, path string) error {
	http.Redirect(w, r, path, http.StatusSeeOther)
	return nil
}
