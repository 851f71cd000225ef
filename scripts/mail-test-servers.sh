#!/usr/bin/env bash
# Starts the real mail servers the email tests talk to, and prints the
# environment that points the tests at them.
# Usage: eval "$(scripts/mail-test-servers.sh start DIR)"; scripts/mail-test-servers.sh stop DIR
#  - Dovecot (Debian's dovecot-imapd) on 127.0.0.1 at a free port, with its
#    own configuration in DIR: any user name signs in with the password
#    "test-password" and gets a fresh Maildir, so every test has its own
#    mailbox. IDLE is on (Dovecot's default).
#  - The SMTP sink the outbound tests start per test is aiosmtpd (PyPI, in
#    tools/py); its Python is exported as AYUDA_TEST_SMTP_SINK.
set -euo pipefail
cd "$(dirname "$0")/.."
action=$1
dir=$2

case "$action" in
  start)
    mkdir -p "$dir/mail" "$dir/run"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # Mail files belong to an unprivileged user (Dovecot refuses root).
    owner=nobody
    group=$(id -gn nobody)
    chown "$owner:$group" "$dir/mail"
    cat > "$dir/dovecot.conf" <<CONF
base_dir = $dir/run
log_path = $dir/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$dir/mail/%u
mail_uid = $owner
mail_gid = $group
first_valid_uid = 1
default_login_user = $owner
default_internal_user = $owner
default_internal_group = $group
passdb {
  driver = static
  args = password=test-password
}
userdb {
  driver = static
  args = uid=$owner gid=$group home=$dir/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
CONF
    /usr/sbin/dovecot -c "$dir/dovecot.conf"
    for _ in $(seq 50); do
      python3 - "$port" <<'PY' && break
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
except OSError:
    sys.exit(1)
PY
      sleep 0.1
    done
    echo "export AYUDA_TEST_IMAP=127.0.0.1:$port"
    echo "export AYUDA_TEST_SMTP_SINK=$PWD/tools/py/bin/python"
    ;;
  stop)
    if [ -f "$dir/dovecot.conf" ]; then
      /usr/sbin/doveadm -c "$dir/dovecot.conf" stop 2>/dev/null || pkill -f "dovecot -c $dir/dovecot.conf" || true
    fi
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
