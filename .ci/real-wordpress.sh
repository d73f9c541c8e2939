#!/usr/bin/env bash
# The packages tests/real/test_wordpress.py runs: Debian's WordPress on Apache with mod_php,
# and MariaDB, installed by .ci/debian-install.sh (exit 75 when the Debian mirror cannot be
# reached). The tests start their own servers on 127.0.0.1.
set -euo pipefail
PACKAGES=(wordpress apache2 libapache2-mod-php php-mysql mariadb-server)
source "$(dirname "$0")/debian-install.sh"
debian_install real-wordpress "${PACKAGES[@]}"
test -r /usr/share/wordpress/wp-load.php
command -v mariadbd mariadb-install-db apache2 php >/dev/null
echo "real-wordpress: ${PACKAGES[*]} installed"
