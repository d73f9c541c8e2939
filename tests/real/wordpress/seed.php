<?php
// Seeds the test site through WordPress's own API (tests/real/wordpress.py runs it).
//   php seed.php CONFIG install               wp_install: an empty site, pretty permalinks
//   php seed.php CONFIG seed < site.json      the users, posts and comments;
//                                             prints {"comment key": comment id, ...}
//   php seed.php CONFIG trash|untrash ID      moves one comment to the trash and back
// CONFIG names /etc/wordpress/config-CONFIG.php, the way Apache's SetEnv WORDPRESS_CONFIG does.

[, $seed_config, $seed_action] = $argv;
$_SERVER['WORDPRESS_CONFIG'] = $seed_config;
$_SERVER['HTTP_HOST'] = '127.0.0.1';
if ($seed_action === 'install') {
    define('WP_INSTALLING', true);
}
require '/usr/share/wordpress/wp-load.php';

function seed_fail(string $what): never
{
    fwrite(STDERR, "seed.php: $what\n");
    exit(1);
}

function seed_checked(mixed $result, string $what): mixed
{
    if (is_wp_error($result) || !$result) {
        seed_fail("$what: " . (is_wp_error($result) ? $result->get_error_message() : 'failed'));
    }
    return $result;
}

if ($seed_action === 'trash' || $seed_action === 'untrash') {
    $id = (int) $argv[3];
    seed_checked($seed_action === 'trash' ? wp_trash_comment($id) : wp_untrash_comment($id), "$seed_action $id");
    exit(0);
}

if ($seed_action === 'install') {
    require_once ABSPATH . 'wp-admin/includes/upgrade.php';
    seed_checked(wp_install('Riverside Library', 'admin', 'admin@example.org', true, '', wp_generate_password()), 'wp_install');
    $wp_rewrite->set_permalink_structure('/%year%/%monthnum%/%postname%/');  // the REST API at /wp-json/
    $wp_rewrite->flush_rules(false);
    foreach (get_posts(['post_type' => 'any', 'post_status' => 'any', 'numberposts' => -1]) as $sample) {
        wp_delete_post($sample->ID, true);  // "Hello world!", its comment, the sample page: the site holds only the seed
    }
    exit(0);
}

$site = json_decode(stream_get_contents(STDIN), true, flags: JSON_THROW_ON_ERROR);

$users = [];
foreach ($site['people'] as $key => $person) {
    if ($person['role'] !== null) {
        $users[$key] = seed_checked(wp_insert_user([
            'user_login' => $key,
            'user_pass' => wp_generate_password(),
            'user_email' => $person['email'],
            'display_name' => $person['name'],
            'role' => $person['role'],
        ]), "user $key");
    }
}

$ids = [];
foreach ($site['posts'] as $post) {
    $post_id = seed_checked(wp_insert_post([
        'post_title' => $post['title'],
        'post_content' => $post['content'],
        'post_status' => 'publish',
        'post_author' => $users[$post['author']],
        'post_date' => $post['date'],  // the site's time zone is UTC
        'post_date_gmt' => $post['date'],
        'tags_input' => $post['tags'],
        'comment_status' => 'open',
    ], true), "post {$post['title']}");
    foreach ($post['comments'] as $comment) {  // parents come before their replies
        $person = $site['people'][$comment['author']];
        $id = seed_checked(wp_insert_comment([
            'comment_post_ID' => $post_id,
            'comment_parent' => $comment['parent'] === null ? 0 : $ids[$comment['parent']],
            'comment_author' => $person['name'],
            'comment_author_email' => $person['email'],
            'comment_content' => $comment['text'],
            'comment_date' => $comment['date'],
            'comment_date_gmt' => $comment['date'],
            'comment_approved' => $comment['status'] === 'trash' ? 1 : $comment['status'],
            'user_id' => $users[$comment['author']] ?? 0,
        ]), "comment {$comment['key']}");
        if ($comment['status'] === 'trash') {
            seed_checked(wp_trash_comment($id), "trash {$comment['key']}");
        }
        $ids[$comment['key']] = $id;
    }
}
echo json_encode($ids), "\n";
