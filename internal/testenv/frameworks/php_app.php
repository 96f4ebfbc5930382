<?php
// A router for PHP's built-in server (php -S) for lbauthz's tests: PHP's
// native sessions (the save handler, save path and serialize handler come
// from the command line's -d options), a user "alice" (id 42, password
// "alice-password") in the groups "editors" and "staff", login and logout
// as a plain PHP app does them.
$path = parse_url($_SERVER["REQUEST_URI"], PHP_URL_PATH);
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
    session_start();
    session_regenerate_id(true);
    $_SESSION["user_id"] = 42;
    $_SESSION["groups"] = ["editors", "staff"];
    $_SESSION["name"] = "Alice";
    // PHP otherwise writes the session after the answer has gone out: the
    // next request (lbauthz's, in the tests) could come first.
    session_write_close();
    echo json_encode(["id" => 42]);
    break;
case "/logout":
    session_start();
    $_SESSION = [];
    session_destroy();
    echo "bye";
    break;
default:
    http_response_code(404);
}
