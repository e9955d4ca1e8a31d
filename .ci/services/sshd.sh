# OpenSSH sshd on 127.0.0.1 for the SFTP integration tests and the SFTP
# bench; sourced by .ci/run (which defines apt_install and at_exit).
#
# Everything lives in a temporary folder: sshd_config, three host keys
# (ed25519, ecdsa, rsa: the tests check that a client connects whichever
# of them known_hosts records), client keys (plain, passphrase-protected
# OpenSSH format, passphrase-protected PEM), known_hosts and the served
# folder. sshd needs root to switch to the user who logs in; that user is a
# dedicated local account created here and deleted at exit, never root, so
# no test ever logs in with more rights than a customer's SFTP account.
# UsePAM lets keyboard-interactive work as it does on customers' servers.

apt_install openssh-server openssh-client

sshd_dir=$(mktemp -d /tmp/usersync-sshd.XXXXXX)
chmod 755 "$sshd_dir"
# A user of its own per run, so that two runs on one machine (developers
# testing by hand) never delete the account the other logs in with.
sshd_user=usersync-sftp-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d " \n")
sshd_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
sshd_passphrase=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')

id "$sshd_user" >/dev/null 2>&1 || useradd --no-create-home --home-dir "$sshd_dir/home" --shell /bin/sh "$sshd_user"
echo "$sshd_user:$sshd_password" | chpasswd
at_exit "userdel $sshd_user >/dev/null 2>&1"
mkdir -p "$sshd_dir/home/in"
chown -R "$sshd_user:" "$sshd_dir/home"
chmod 755 "$sshd_dir/home"

for t in ed25519 ecdsa rsa; do ssh-keygen -q -t "$t" -N '' -f "$sshd_dir/host_$t"; done
ssh-keygen -q -t ed25519 -N '' -C usersync-test -f "$sshd_dir/id_ed25519"
ssh-keygen -q -t ed25519 -N "$sshd_passphrase" -C usersync-test-enc -f "$sshd_dir/id_ed25519_enc"
ssh-keygen -q -t ecdsa -m PEM -N "$sshd_passphrase" -C usersync-test-pem -f "$sshd_dir/id_ecdsa_pem"
cat "$sshd_dir"/id_*.pub > "$sshd_dir/authorized_keys"
chmod 644 "$sshd_dir/authorized_keys"
# sshd_start writes known_hosts and sshd_config for a free loopback port
# and starts sshd there; it fails if another program took the port first.
sshd_start() {
  sshd_port=
  for _ in $(seq 50); do # a free port: nothing answers there
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then sshd_port=$p; break; fi
  done
  [ -n "$sshd_port" ] || { echo "sshd.sh: no free port" >&2; return 1; }
  for t in ed25519 ecdsa rsa; do
    printf '[127.0.0.1]:%s %s\n' "$sshd_port" "$(cut -d' ' -f1,2 "$sshd_dir/host_$t.pub")"
  done > "$sshd_dir/known_hosts"

  cat > "$sshd_dir/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $sshd_port
HostKey $sshd_dir/host_ed25519
HostKey $sshd_dir/host_ecdsa
HostKey $sshd_dir/host_rsa
PidFile $sshd_dir/sshd.pid
AuthorizedKeysFile $sshd_dir/authorized_keys
StrictModes no
UsePAM yes
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers $sshd_user
AllowTcpForwarding no
X11Forwarding no
Subsystem sftp internal-sftp
ForceCommand internal-sftp
# Tests and benches connect many at once: sshd's default (10:30:100)
# would drop some of them before they log in.
MaxStartups 200
MaxSessions 100
CONF

  /usr/sbin/sshd -t -f "$sshd_dir/sshd_config"
  /usr/sbin/sshd -f "$sshd_dir/sshd_config" -E "$sshd_dir/sshd.log"
}

mkdir -p /run/sshd
# The port may be taken between the check and the start: try another.
sshd_started=
for _ in 1 2 3 4 5; do sshd_start && { sshd_started=1; break; }; done
[ -n "$sshd_started" ] || { echo "sshd.sh: sshd did not start" >&2; return 1; }
# At exit, a server that died early says so, with its log, before the
# folder goes.
at_exit "kill \$(cat $sshd_dir/sshd.pid) 2>/dev/null || { echo 'sshd.sh: sshd had stopped before the end; its log:'; tail -50 $sshd_dir/sshd.log; }; rm -rf $sshd_dir"
for _ in $(seq 50); do
  ssh-keyscan -p "$sshd_port" 127.0.0.1 >/dev/null 2>&1 && break
  sleep 0.1
done

export USERSYNC_TEST_SSHD_ADDR="127.0.0.1:$sshd_port"
export USERSYNC_TEST_SSHD_USER="$sshd_user"
export USERSYNC_TEST_SSHD_PASSWORD="$sshd_password"
export USERSYNC_TEST_SSHD_KNOWN_HOSTS="$sshd_dir/known_hosts"
export USERSYNC_TEST_SSHD_KEY="$sshd_dir/id_ed25519"
export USERSYNC_TEST_SSHD_KEY_ENC="$sshd_dir/id_ed25519_enc"
export USERSYNC_TEST_SSHD_KEY_PEM="$sshd_dir/id_ecdsa_pem"
export USERSYNC_TEST_SSHD_KEY_PASSPHRASE="$sshd_passphrase"
# The folder the user sees as "in" (relative to its home), and where the
# tests put files directly, as a customer's upload would.
export USERSYNC_TEST_SSHD_FOLDER=in
export USERSYNC_TEST_SSHD_LOCAL_DIR="$sshd_dir/home/in"
