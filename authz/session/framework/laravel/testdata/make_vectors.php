<?php
// Writes vectors.json: Laravel session cookies and payloads made with PHP's
// own openssl_* and hash_hmac functions following Laravel's documented
// formats (Illuminate\Encryption\Encrypter::encrypt with $serialize = false,
// Illuminate\Cookie\CookieValuePrefix::create, the session store's
// serialize(), and the encrypted store's Encrypter::encrypt with
// $serialize = true). Laravel itself is not in Debian: these are fixtures of its
// format, not values written by Laravel. Run with: php make_vectors.php
function laravel_encrypt(string $plain, string $key, string $cipher): string {
    $iv = random_bytes(openssl_cipher_iv_length($cipher));
    $tag = "";
    $value = openssl_encrypt($plain, $cipher, $key, 0, $iv, $tag);
    $iv = base64_encode($iv);
    $tag = base64_encode($tag ?? "");
    $aead = str_contains($cipher, "gcm");
    $mac = $aead ? "" : hash_hmac("sha256", $iv . $value, $key);
    if (!$aead) { $tag = ""; }
    return base64_encode(json_encode(compact("iv", "value", "mac", "tag"), JSON_UNESCAPED_SLASHES));
}
function cookie_prefix(string $name, string $key): string { return hash_hmac("sha1", $name . "v2", $key) . "|"; }

$key = random_bytes(32);
$old = random_bytes(32);
$id = "Xq3FZb8Lk2PmN7rT1vW4yA6cD9eG0hJ5sU2iO8pQ";
$session = ["_token" => "csrf", "login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d" => 42, "groups" => ["editors", "staff"]];
$out = [
    "php" => PHP_VERSION,
    "app_key" => "base64:" . base64_encode($key),
    "old_app_key" => "base64:" . base64_encode($old),
    "session_id" => $id,
    "cbc_cookie" => laravel_encrypt(cookie_prefix("laravel_session", $key) . $id, $key, "aes-256-cbc"),
    "gcm_cookie" => laravel_encrypt(cookie_prefix("laravel_session", $key) . $id, $key, "aes-256-gcm"),
    "old_key_cookie" => laravel_encrypt(cookie_prefix("laravel_session", $old) . $id, $old, "aes-256-cbc"),
    "other_cookie_name" => laravel_encrypt(cookie_prefix("XSRF-TOKEN", $key) . $id, $key, "aes-256-cbc"),
    "file_payload" => serialize($session),
    "database_payload" => base64_encode(serialize($session)),
    "cache_payload" => serialize(serialize($session)),
    // SESSION_ENCRYPT=true: EncryptedStore::prepareForStorage is
    // Encrypter::encrypt with $serialize = true of the serialized session.
    "encrypted_file_payload" => laravel_encrypt(serialize(serialize($session)), $key, "aes-256-cbc"),
    "encrypted_database_payload" => base64_encode(laravel_encrypt(serialize(serialize($session)), $key, "aes-256-gcm")),
    "encrypted_cache_payload" => serialize(laravel_encrypt(serialize(serialize($session)), $key, "aes-256-cbc")),
    "encrypted_old_key_payload" => laravel_encrypt(serialize(serialize($session)), $old, "aes-256-cbc"),
];
echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
