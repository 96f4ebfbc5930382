<?php
// A router for PHP's built-in server (php -S) that writes Laravel's session
// formats with PHP's own openssl_* and hash_hmac functions, following
// Laravel's documented formats: Laravel itself is not in Debian, so this is
// a stand-in for its session middleware, not Laravel. The session cookie
// is Illuminate\Encryption\Encrypter::encrypt (not serialized) of
// CookieValuePrefix::create(name, key) . id; the session is serialize() of
// the session array in a file named by the id (the file driver), or
// serialize() of that under the cache key (the Redis driver).
// Configured by environment: APP_KEY ("base64:..."), CIPHER (aes-256-cbc or
// aes-256-gcm), DRIVER (file or redis), SESSION_PATH, REDIS_HOST,
// REDIS_PORT, LIFETIME (minutes).
const USER_KEY = "login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d"; // "login_web_" . sha1(SessionGuard::class)
const COOKIE = "laravel_session";
const REDIS_KEY = "laravel_database_laravel_cache_:";

$key = base64_decode(substr(getenv("APP_KEY"), 7));
$cipher = getenv("CIPHER") ?: "aes-256-cbc";

function encrypt_value(string $plain, string $key, string $cipher): string {
    $iv = random_bytes(openssl_cipher_iv_length($cipher));
    $tag = "";
    $value = openssl_encrypt($plain, $cipher, $key, 0, $iv, $tag);
    $aead = str_contains($cipher, "gcm");
    $iv = base64_encode($iv);
    $mac = $aead ? "" : hash_hmac("sha256", $iv . $value, $key);
    $tag = $aead ? base64_encode($tag) : "";
    return base64_encode(json_encode(compact("iv", "value", "mac", "tag"), JSON_UNESCAPED_SLASHES));
}

function decrypt_value(string $payload, string $key, string $cipher): ?string {
    $p = json_decode(base64_decode($payload), true);
    if (!is_array($p)) return null;
    if (!str_contains($cipher, "gcm") && !hash_equals(hash_hmac("sha256", $p["iv"] . $p["value"], $key), $p["mac"])) return null;
    $plain = openssl_decrypt($p["value"], $cipher, $key, 0, base64_decode($p["iv"]), base64_decode($p["tag"] ?? ""));
    return $plain === false ? null : $plain;
}

function prefix(string $key): string { return hash_hmac("sha1", COOKIE . "v2", $key) . "|"; }

function store(): ?Redis {
    if (getenv("DRIVER") !== "redis") return null;
    $r = new Redis();
    $r->connect(getenv("REDIS_HOST"), (int) getenv("REDIS_PORT"));
    return $r;
}

$path = parse_url($_SERVER["REQUEST_URI"], PHP_URL_PATH);
$lifetime = (int) (getenv("LIFETIME") ?: 120);
switch ($path) {
case "/health":
    echo "ok";
    break;
case "/login":
    if (($_POST["username"] ?? "") !== "alice" || ($_POST["password"] ?? "") !== "alice-password") {
        http_response_code(401);
        echo "bad credentials";
        break;
    }
    $alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    $id = "";
    for ($i = 0; $i < 40; $i++) $id .= $alphabet[random_int(0, 61)];
    $session = ["_token" => bin2hex(random_bytes(20)), USER_KEY => 42, "groups" => ["editors", "staff"]];
    if ($r = store()) {
        $r->setex(REDIS_KEY . $id, $lifetime * 60, serialize(serialize($session)));
    } else {
        file_put_contents(getenv("SESSION_PATH") . "/" . $id, serialize($session));
    }
    setrawcookie(COOKIE, rawurlencode(encrypt_value(prefix($key) . $id, $key, $cipher)), ["path" => "/", "httponly" => true]);
    echo json_encode(["id" => 42]);
    break;
case "/logout":
    $plain = decrypt_value($_COOKIE[COOKIE] ?? "", $key, $cipher);
    if ($plain !== null && str_starts_with($plain, prefix($key))) {
        $id = substr($plain, 41);
        if ($r = store()) {
            $r->del(REDIS_KEY . $id);
        } elseif (ctype_alnum($id)) {
            @unlink(getenv("SESSION_PATH") . "/" . $id);
        }
    }
    setcookie(COOKIE, "", ["expires" => 1, "path" => "/"]);
    echo "bye";
    break;
default:
    http_response_code(404);
}
