package testenv

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The real web frameworks the session presets are tested against, each a
// small app in internal/testenv/frameworks signing in the user "alice"
// (password FrameworkPassword) through the framework's own login code.

// FrameworkPassword is alice's password in every framework app.
const FrameworkPassword = "alice-password"

// DebianPython is Debian's Python, which has Debian's python3-django,
// python3-flask and python3-flask-login (another python3 on the PATH may
// not).
const DebianPython = "/usr/bin/python3"

// FrameworkApp is a running framework app.
type FrameworkApp struct {
	URL    string // http://127.0.0.1:PORT
	Cookie string // the name of its session cookie
	*Process
}

// DjangoOptions configures StartDjango.
type DjangoOptions struct {
	// Engine is the session backend: "db", "cached_db" or "signed_cookies".
	Engine string
	// PostgresURL (with the password) holds the app's tables; SQLite in a
	// temporary folder when empty.
	PostgresURL string
	// MariaDB, when set, holds the app's tables instead (Django's mysql
	// backend, Debian's python3-mysqldb).
	MariaDB       *MariaDB
	SecretKeyFile string
	// CookieAge is SESSION_COOKIE_AGE (Django's two weeks when zero).
	CookieAge time.Duration
}

// StartDjango starts the Django app (frameworks/django_app.py): migrate,
// the user alice in the groups editors and staff, then the WSGI server.
func StartDjango(t testing.TB, opts DjangoOptions) *FrameworkApp {
	t.Helper()
	SkipShort(t, "the Django app") // before the checks of its interpreter, which take seconds
	needPython(t, "django", "python3-django")
	if opts.PostgresURL != "" {
		needPython(t, "psycopg2", "python3-psycopg2")
	}
	mysqlURL := ""
	if opts.MariaDB != nil {
		needPython(t, "MySQLdb", "python3-mysqldb")
		mysqlURL = fmt.Sprintf("mysql://%s:%s@%s/%s", MariaDBUser, MariaDBPassword, opts.MariaDB.Addr, MariaDBDatabase)
	}
	env := []string{"SESSION_ENGINE=" + opts.Engine, "PG_URL=" + opts.PostgresURL, "MYSQL_URL=" + mysqlURL,
		"SECRET_KEY_FILE=" + opts.SecretKeyFile, "DATA_DIR=" + t.TempDir()}
	if opts.CookieAge > 0 {
		env = append(env, "SESSION_COOKIE_AGE="+strconv.Itoa(int(opts.CookieAge.Seconds())))
	}
	return startFrameworkApp(t, "django", "sessionid", env, DebianPython, "django_app.py")
}

// FlaskOptions configures StartFlask.
type FlaskOptions struct {
	SecretKeyFile string
	// Lifetime is PERMANENT_SESSION_LIFETIME (Flask's 31 days when zero).
	Lifetime time.Duration
}

// StartFlask starts the Flask app (frameworks/flask_app.py) with
// Flask-Login.
func StartFlask(t testing.TB, opts FlaskOptions) *FrameworkApp {
	t.Helper()
	SkipShort(t, "the Flask app") // before the checks of its interpreter, which take seconds
	needPython(t, "flask", "python3-flask")
	needPython(t, "flask_login", "python3-flask-login")
	env := []string{"SECRET_KEY_FILE=" + opts.SecretKeyFile}
	if opts.Lifetime > 0 {
		env = append(env, "SESSION_LIFETIME="+strconv.Itoa(int(opts.Lifetime.Seconds())))
	}
	return startFrameworkApp(t, "flask", "session", env, DebianPython, "flask_app.py")
}

// PHPOptions configures StartPHP.
type PHPOptions struct {
	// SaveHandler is session.save_handler: "files" or "redis" (phpredis).
	SaveHandler string
	// SavePath is session.save_path: a folder, or tcp://HOST:PORT.
	SavePath string
	// SerializeHandler is session.serialize_handler: "php" or
	// "php_serialize".
	SerializeHandler string
	// MaxLifetime is session.gc_maxlifetime (1440s when zero).
	MaxLifetime time.Duration
}

// StartPHP starts PHP's built-in server with frameworks/php_app.php as its
// router and PHP's native sessions.
func StartPHP(t testing.TB, opts PHPOptions) *FrameworkApp {
	t.Helper()
	SkipShort(t, "the PHP app") // before the checks of its interpreter, which take seconds
	bin, ok := LookPath("php")
	if !ok {
		Missing(t, "php (apt-get install php-cli)")
	}
	if opts.SaveHandler == "redis" {
		if out, err := exec.Command(bin, "-m").Output(); err != nil || !strings.Contains(string(out), "\nredis\n") {
			Missing(t, "PHP's redis extension (apt-get install php-redis)")
		}
	}
	life := 1440
	if opts.MaxLifetime > 0 {
		life = int(opts.MaxLifetime.Seconds())
	}
	args := []string{"-d", "session.save_handler=" + opts.SaveHandler, "-d", "session.save_path=" + opts.SavePath,
		"-d", "session.serialize_handler=" + opts.SerializeHandler, "-d", "session.gc_maxlifetime=" + strconv.Itoa(life),
		"-d", "session.use_strict_mode=1", "-d", "display_errors=stderr"}
	return startFrameworkApp(t, "php", "PHPSESSID", nil, bin, append(args, "-S", "ADDR", "php_app.php")...)
}

func needPython(t testing.TB, module, pkg string) {
	t.Helper()
	if _, err := os.Stat(DebianPython); err != nil {
		Missing(t, "Debian's python3 (%s)", DebianPython)
	}
	if err := exec.Command(DebianPython, "-c", "import "+module).Run(); err != nil {
		Missing(t, "Python module %s (apt-get install %s)", module, pkg)
	}
}

// startFrameworkApp runs bin with args in frameworks/, PORT in its
// environment and "ADDR" in args replaced by its address, and waits for
// /health.
func startFrameworkApp(t testing.TB, name, cookie string, env []string, bin string, args ...string) *FrameworkApp {
	t.Helper()
	addr := FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	for i, a := range args {
		if a == "ADDR" {
			args[i] = addr
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = filepath.Join(RepoRoot(), "internal", "testenv", "frameworks")
	cmd.Env = append(append(os.Environ(), "PORT="+port, "PYTHONDONTWRITEBYTECODE=1"), env...)
	p := Start(t, name, cmd)
	a := &FrameworkApp{URL: "http://" + addr, Cookie: cookie, Process: p}
	WaitHTTP(t, p, a.URL+"/health", 60*time.Second)
	return a
}

var noRedirects = &http.Client{
	Timeout:       20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Login signs alice in through the app's own login code and returns the
// value of the session cookie it set, as the browser sends it back, and
// alice's user id as the app says it.
func (a *FrameworkApp) Login(t testing.TB) (cookie, userID string) {
	t.Helper()
	resp, err := noRedirects.PostForm(a.URL+"/login", url.Values{"username": {"alice"}, "password": {FrameworkPassword}})
	if err != nil {
		t.Fatalf("%s login: %v", a.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s login answered %d", a.Name, resp.StatusCode)
	}
	var body struct{ ID json.Number }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.ID == "" {
		t.Fatalf("%s login: no user id in the answer: %v", a.Name, err)
	}
	v := a.cookieOf(resp)
	if v == "" {
		t.Fatalf("%s login set no %s cookie", a.Name, a.Cookie)
	}
	return v, body.ID.String()
}

// Logout logs the session out through the app's own logout code and
// returns the session cookie the app set in its place ("" when none).
func (a *FrameworkApp) Logout(t testing.TB, cookie string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.URL+"/logout", nil)
	req.Header.Set("Cookie", a.Cookie+"="+cookie)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s logout: %v", a.Name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s logout answered %d", a.Name, resp.StatusCode)
	}
	return a.cookieOf(resp)
}

// Post posts an empty form to path (an app's own admin action) and fails
// the test unless it answers 200.
func (a *FrameworkApp) Post(t testing.TB, path string) {
	t.Helper()
	resp, err := noRedirects.PostForm(a.URL+path, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", a.Name, path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s answered %d", a.Name, path, resp.StatusCode)
	}
}

func (a *FrameworkApp) cookieOf(resp *http.Response) string {
	for _, c := range resp.Cookies() {
		if c.Name == a.Cookie && c.MaxAge >= 0 {
			return c.Value
		}
	}
	return ""
}

// LaravelFormatOptions configures StartLaravelFormat.
type LaravelFormatOptions struct {
	// AppKey is APP_KEY ("base64:..."), Cipher "aes-256-cbc" (Laravel's
	// default) or "aes-256-gcm".
	AppKey, Cipher string
	// Driver is "file" (SessionPath), "redis" (RedisAddr) or "database"
	// (MariaDB, through PHP's pdo_mysql).
	Driver, SessionPath, RedisAddr string
	MariaDB                        *MariaDB
	// Encrypt is SESSION_ENCRYPT.
	Encrypt bool
}

// StartLaravelFormat starts PHP's built-in server with
// frameworks/laravel_format_app.php: Laravel's session cookie and session
// payloads written with PHP's own openssl_* functions following Laravel's
// documented formats. Laravel itself is not in Debian; this is a stand-in
// for its session middleware, not Laravel.
func StartLaravelFormat(t testing.TB, opts LaravelFormatOptions) *FrameworkApp {
	t.Helper()
	SkipShort(t, "the Laravel-format PHP app") // before the checks of its interpreter, which take seconds
	bin, ok := LookPath("php")
	if !ok {
		Missing(t, "php (apt-get install php-cli)")
	}
	host, port, _ := net.SplitHostPort(opts.RedisAddr)
	env := []string{"APP_KEY=" + opts.AppKey, "CIPHER=" + opts.Cipher, "DRIVER=" + opts.Driver,
		"SESSION_PATH=" + opts.SessionPath, "REDIS_HOST=" + host, "REDIS_PORT=" + port,
		"SESSION_ENCRYPT=" + strconv.FormatBool(opts.Encrypt)}
	if opts.MariaDB != nil {
		if out, err := exec.Command(bin, "-m").Output(); err != nil || !strings.Contains(string(out), "\npdo_mysql\n") {
			Missing(t, "PHP's pdo_mysql extension (apt-get install php-mysql)")
		}
		dbHost, dbPort, _ := net.SplitHostPort(opts.MariaDB.Addr)
		env = append(env, "DB_HOST="+dbHost, "DB_PORT="+dbPort, "DB_DATABASE="+MariaDBDatabase,
			"DB_USERNAME="+MariaDBUser, "DB_PASSWORD="+MariaDBPassword)
	}
	return startFrameworkApp(t, "laravel-format php", "laravel_session", env, bin, "-S", "ADDR", "laravel_format_app.php")
}

// RailsOptions configures StartRails.
type RailsOptions struct {
	SecretKeyBaseFile string
	// ExpireAfter is the session store's expire_after (none when zero).
	ExpireAfter time.Duration
	// RedisAddr, when set, is the Redis server of redis-actionpack's
	// session store (Debian's ruby-redis-actionpack), used instead of the
	// cookie store.
	RedisAddr string
}

// StartRails starts the one-file Rails app (frameworks/rails_app.rb,
// Debian's ruby-rails 6.1) on WEBrick, with Rails' default cookie store or
// redis-actionpack's Redis store.
func StartRails(t testing.TB, opts RailsOptions) *FrameworkApp {
	t.Helper()
	SkipShort(t, "the Rails app") // before the checks of its interpreter, which take seconds
	bin, ok := LookPath("ruby")
	if !ok {
		Missing(t, "ruby (apt-get install ruby-rails)")
	}
	if err := exec.Command(bin, "-e", `require "rails"; require "webrick"`).Run(); err != nil {
		Missing(t, "Rails 6.1 and WEBrick (apt-get install ruby-rails)")
	}
	if opts.RedisAddr != "" {
		if err := exec.Command(bin, "-e", `require "rails"; require "action_controller/railtie"; require "redis-actionpack"`).Run(); err != nil {
			Missing(t, "redis-actionpack (apt-get install ruby-redis-actionpack)")
		}
	}
	env := []string{"SECRET_KEY_BASE_FILE=" + opts.SecretKeyBaseFile, "REDIS_ADDR=" + opts.RedisAddr}
	if opts.ExpireAfter > 0 {
		env = append(env, "EXPIRE_AFTER="+strconv.Itoa(int(opts.ExpireAfter.Seconds())))
	}
	return startFrameworkApp(t, "rails", "_app_session", env, bin, "rails_app.rb")
}
