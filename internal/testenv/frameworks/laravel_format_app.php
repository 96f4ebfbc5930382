<?php
// A router for PHP's built-in server (php -S) that writes Laravel's session
// formats with PHP's own openssl_* and hash_hmac functions, following
// Laravel's documented formats: Laravel itself is not in Debian, so this is
// a stand-in for its session middleware, not Laravel. The session cookie
// is Illuminate\Encryption\Encrypter::encrypt (not serialized) of
// CookieValuePrefix::create(name, key) . id; the session is serialize() of
// the session array in a file named by the id (the file driver), or
// serialize() of that under the cache key (the Redis driver), or a row of
// the "sessions" table of Laravel's session migration whose payload is
// base64_encode() of it (the database driver). With SESSION_ENCRYPT, what
// the driver stores is Encrypter::encrypt (serialized) of serialize() of
// the session, as Illuminate\Session\EncryptedStore writes it.
// Configured by environment: APP_KEY ("base64:..."), CIPHER (aes-256-cbc or
// aes-256-gcm), DRIVER (file, redis or database), SESSION_PATH, REDIS_HOST,
// REDIS_PORT, DB_HOST, DB_PORT, DB_DATABASE, DB_USERNAME, DB_PASSWORD
// (MySQL or MariaDB through PDO), SESSION_ENCRYPT (true or false), LIFETIME
// (minutes).
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

function database(): ?PDO {
    if (getenv("DRIVER") !== "database") return null;
    $db = new PDO(sprintf("mysql:host=%s;port=%s;dbname=%s", getenv("DB_HOST"), getenv("DB_PORT"), getenv("DB_DATABASE")),
        getenv("DB_USERNAME"), getenv("DB_PASSWORD"), [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
    // Laravel's session migration.
    $db->exec("CREATE TABLE IF NOT EXISTS sessions (id VARCHAR(255) NOT NULL PRIMARY KEY, user_id BIGINT UNSIGNED NULL,
        ip_address VARCHAR(45) NULL, user_agent TEXT NULL, payload LONGTEXT NOT NULL, last_activity INT NOT NULL,
        INDEX sessions_user_id_index (user_id), INDEX sessions_last_activity_index (last_activity))");
    return $db;
}

// The session as Store::save hands it to the driver: serialize() of the
// session, encrypted (serialized again) by EncryptedStore with SESSION_ENCRYPT.
function prepare_for_storage(array $session, string $key, string $cipher): string {
    $data = serialize($session);
    return getenv("SESSION_ENCRYPT") === "true" ? encrypt_value(serialize($data), $key, $cipher) : $data;
}

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
    $data = prepare_for_storage($session, $key, $cipher);
    if ($r = store()) {
        $r->setex(REDIS_KEY . $id, $lifetime * 60, serialize($data));
    } elseif ($db = database()) {
        $db->prepare("INSERT INTO sessions (id, user_id, ip_address, user_agent, payload, last_activity) VALUES (?, ?, ?, ?, ?, ?)")
            ->execute([$id, 42, "127.0.0.1", "test", base64_encode($data), time()]);
    } else {
        file_put_contents(getenv("SESSION_PATH") . "/" . $id, $data);
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
        } elseif ($db = database()) {
            $db->prepare("DELETE FROM sessions WHERE id = ?")->execute([$id]);
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
