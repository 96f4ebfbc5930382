# Writes store_vectors.json: sessions as Rails' server-side stores keep them,
# made with Ruby's own SecureRandom, Digest, JSON, Marshal and Base64 following
# the stores' code: Rack's session ids (a public id of 128 bits in hex, the
# private id "2::" + its SHA-256), activerecord-session_store's serializers
# (:marshal writes Base64.encode64(Marshal.dump(data)), :json
# JSON.generate(data), :hybrid reads both) and redis-store's (Marshal.dump,
# or JSON.dump with `serializer: JSON`). activerecord-session_store is not in
# Debian: these are fixtures of its format, not rows written by the gem.
# Run with: ruby make_store_vectors.rb > store_vectors.json
require "base64"
require "digest/sha2"
require "json"
require "securerandom"

User = Struct.new(:id)
public_id = SecureRandom.hex(16)
session = {
  "session_id" => public_id,
  "warden.user.user.key" => [[42], "$2a$12$abcdefghijklmnopqrstuv"],
  "groups" => %w[editors staff],
}
puts JSON.pretty_generate(
  "ruby" => RUBY_VERSION,
  "public_id" => public_id,
  "private_id" => "2::#{Digest::SHA256.hexdigest(public_id)}",
  "json" => JSON.generate(session),
  "marshal_base64" => Base64.encode64(Marshal.dump(session)),
  # Raw Marshal (redis-store's default, and :hybrid's old rows), in Base64
  # only to travel in JSON.
  "marshal_raw_base64" => Base64.strict_encode64(Marshal.dump(session)),
  # An object, which a Marshal reader would instantiate.
  "marshal_object_base64" => Base64.encode64(Marshal.dump({ "user" => User.new(42) })),
)
