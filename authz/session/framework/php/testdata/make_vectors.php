<?php
// Writes vectors.json: session data encoded by the installed PHP (Debian's
// php-cli) with both serialize handlers. Run with: php make_vectors.php
class Evil { public $cmd = "id"; }
$vars = ["user_id" => 42, "name" => "Zoë", "groups" => ["eng", "design"], "admin" => false,
         "score" => 1.5, "none" => null, "prefs" => ["theme" => "dark", 3 => "x"]];
$out = ["php" => PHP_VERSION];
ini_set("session.use_cookies", "0");
ini_set("session.save_path", sys_get_temp_dir());
foreach (["php", "php_serialize"] as $h) {
    ini_set("session.serialize_handler", $h);
    session_start();
    $_SESSION = $vars;
    $out[$h] = session_encode();
    $_SESSION["obj"] = new Evil();
    $out[$h . "_object"] = session_encode();
    session_destroy();
}
$r = [1]; $r[] = &$r[0];
$out["reference"] = serialize($r);
echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE), "\n";
