# A one-file Rails app (Debian's ruby-rails 6.1) for lbauthz's tests: Rails'
# default cookie store and its own session handling; alice (password
# "alice-password") signs in through a controller that writes what Devise's
# Warden serializer writes ("warden.user.user.key" => [[id], salt]): Devise
# itself is not in Debian. Configured by environment: PORT,
# SECRET_KEY_BASE_FILE, EXPIRE_AFTER (seconds), CBC=1 for Rails' older
# AES-256-CBC cookies, MARSHAL=1 for the Marshal cookie serializer,
# REDIS_ADDR (host:port) for redis-actionpack's Redis session store instead
# of the cookie store. With the argument "vectors", prints cookies made
# through the app's own middleware instead of serving.
require "json"
require "logger"
require "rails"
require "action_controller/railtie"

class App < Rails::Application
  config.load_defaults 6.1
  config.secret_key_base = File.read(ENV.fetch("SECRET_KEY_BASE_FILE")).strip
  config.eager_load = false
  config.logger = Logger.new(nil)
  config.hosts.clear
  config.action_dispatch.use_authenticated_cookie_encryption = ENV["CBC"] != "1"
  # What `rails new` writes in config/initializers/cookies_serializer.rb;
  # MARSHAL=1 keeps Rails 6.1's built-in default, :marshal.
  config.action_dispatch.cookies_serializer = ENV["MARSHAL"] == "1" ? :marshal : :json
  opts = { key: "_app_session" }
  opts[:expire_after] = ENV["EXPIRE_AFTER"].to_i if ENV["EXPIRE_AFTER"]
  if ENV["REDIS_ADDR"].to_s.empty?
    config.session_store :cookie_store, **opts
  else
    # redis-actionpack's store (Debian's ruby-redis-actionpack), the
    # namespace of a redis_server URL ".../0/session", and redis-store's
    # JSON serializer instead of its default, Marshal.
    require "redis-actionpack"
    host, port = ENV["REDIS_ADDR"].split(":")
    config.session_store :redis_store, **opts,
                         servers: [{ host: host, port: port.to_i, db: 0, namespace: "session", serializer: JSON }]
  end
  config.action_controller.allow_forgery_protection = false
  routes.append do
    post "/login" => "sessions#create"
    post "/logout" => "sessions#destroy"
    get "/health" => "sessions#health"
  end
end

class SessionsController < ActionController::Base
  def create
    return head(:unauthorized) unless params[:username] == "alice" && params[:password] == "alice-password"
    reset_session
    session["warden.user.user.key"] = [[42], "$2a$12$abcdefghijklmnopqrstuv"]
    session["groups"] = %w[editors staff]
    render json: { id: 42 }
  end

  def destroy
    reset_session
    render plain: "bye"
  end

  def health
    render plain: "ok"
  end
end

App.initialize!

if ARGV[0] == "vectors"
  res = Rack::MockRequest.new(App).post("/login", params: { username: "alice", password: "alice-password" })
  cookie = res.headers["Set-Cookie"].split("\n").find { |c| c.start_with?("_app_session=") }
  puts JSON.generate({ rails: Rails.version, cookie: cookie.split(";").first.split("=", 2).last })
else
  require "webrick"
  require "rack/handler/webrick"
  puts "rails #{Rails.version} ready"
  $stdout.flush
  Rack::Handler::WEBrick.run App, Host: "127.0.0.1", Port: ENV.fetch("PORT").to_i, AccessLog: [],
                                  Logger: WEBrick::Log.new(File::NULL)
end
